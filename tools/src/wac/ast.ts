import type { Span } from "./diagnostics.ts";

/**
 * The syntax tree shared by WAC documents and WIT packages. WAC's type statements are
 * WIT's items, so one set of node types serves both; WAC-only statements (let, export,
 * import of a composition) live beside them.
 */

export interface Ident {
  readonly name: string;
  readonly span: Span;
}

export interface StringLit {
  readonly value: string;
  readonly span: Span;
}

/** `ns:name[@version]` (WAC allows more than one `:` segment). */
export interface PackageName {
  readonly name: string;
  readonly version?: string;
  readonly span: Span;
}

/** `ns:name/item[/nested][@version]` */
export interface PackagePath {
  readonly package: string;
  readonly segments: readonly string[];
  readonly version?: string;
  readonly span: Span;
}

export function packagePathString(p: PackagePath, withVersion = true): string {
  const v = withVersion && p.version !== undefined ? `@${p.version}` : "";
  return `${p.package}/${p.segments.join("/")}${v}`;
}

export type PrimitiveName =
  | "u8" | "s8" | "u16" | "s16" | "u32" | "s32" | "u64" | "s64" | "f32" | "f64"
  | "char" | "bool" | "string" | "error-context";

export type TypeNode =
  | { readonly kind: "primitive"; readonly name: PrimitiveName; readonly span: Span }
  | { readonly kind: "tuple"; readonly types: readonly TypeNode[]; readonly span: Span }
  | { readonly kind: "list"; readonly element: TypeNode; readonly length?: number; readonly span: Span }
  | { readonly kind: "option"; readonly type: TypeNode; readonly span: Span }
  | { readonly kind: "result"; readonly ok?: TypeNode; readonly err?: TypeNode; readonly span: Span }
  | { readonly kind: "borrow"; readonly type: TypeNode; readonly span: Span }
  | { readonly kind: "own"; readonly type: TypeNode; readonly span: Span }
  | { readonly kind: "future"; readonly type?: TypeNode; readonly span: Span }
  | { readonly kind: "stream"; readonly type?: TypeNode; readonly span: Span }
  | { readonly kind: "named"; readonly id: Ident; readonly span: Span };

export interface NamedType {
  readonly id: Ident;
  readonly type: TypeNode;
}

export type FuncResults =
  | { readonly kind: "none" }
  | { readonly kind: "scalar"; readonly type: TypeNode }
  | { readonly kind: "named"; readonly list: readonly NamedType[] };

export interface FuncType {
  readonly kind: "func";
  readonly params: readonly NamedType[];
  readonly results: FuncResults;
  readonly async: boolean;
  readonly span: Span;
}

/** Where a `func-type-ref` appears WAC allows a name of a function type alias. */
export type FuncTypeRef = FuncType | { readonly kind: "ident"; readonly id: Ident };

export interface Gate {
  readonly name: string;
  readonly span: Span;
}

export interface Docs {
  readonly docs?: string;
  readonly gates?: readonly Gate[];
}

export type ResourceItem =
  | ({ readonly kind: "constructor"; readonly params: readonly NamedType[]; readonly results: FuncResults; readonly span: Span } & Docs)
  | ({ readonly kind: "method"; readonly id: Ident; readonly isStatic: boolean; readonly func: FuncType } & Docs);

export type TypeDecl =
  | ({ readonly kind: "resource"; readonly id: Ident; readonly items: readonly ResourceItem[] } & Docs)
  | ({
      readonly kind: "variant";
      readonly id: Ident;
      readonly cases: readonly { readonly id: Ident; readonly type?: TypeNode }[];
    } & Docs)
  | ({ readonly kind: "record"; readonly id: Ident; readonly fields: readonly NamedType[] } & Docs)
  | ({ readonly kind: "flags"; readonly id: Ident; readonly flags: readonly Ident[] } & Docs)
  | ({ readonly kind: "enum"; readonly id: Ident; readonly cases: readonly Ident[] } & Docs)
  | ({ readonly kind: "alias"; readonly id: Ident; readonly target: FuncType | TypeNode } & Docs);

export interface UseItem {
  readonly id: Ident;
  readonly as?: Ident;
}

/** `use path.{a, b as c};` where path is a package path or a local interface name. */
export interface UseDecl extends Docs {
  readonly kind: "use";
  readonly path: UsePath;
  readonly items: readonly UseItem[];
  readonly span: Span;
}

export type UsePath =
  | { readonly kind: "ident"; readonly id: Ident }
  | { readonly kind: "package"; readonly path: PackagePath };

export type InterfaceItem =
  | UseDecl
  | { readonly kind: "type"; readonly decl: TypeDecl }
  | ({ readonly kind: "export"; readonly id: Ident; readonly func: FuncTypeRef } & Docs);

export interface InterfaceDecl extends Docs {
  readonly kind: "interface";
  readonly id: Ident;
  readonly items: readonly InterfaceItem[];
}

export interface InlineInterface {
  readonly kind: "inline-interface";
  readonly items: readonly InterfaceItem[];
  readonly span: Span;
}

/** The target of a world import/export. */
export type WorldItemPath =
  | {
      readonly kind: "named";
      readonly id: Ident;
      readonly type: FuncType | InlineInterface | { readonly kind: "ident"; readonly id: Ident };
    }
  | { readonly kind: "package"; readonly path: PackagePath }
  | { readonly kind: "ident"; readonly id: Ident };

export type WorldRef =
  | { readonly kind: "ident"; readonly id: Ident }
  | { readonly kind: "package"; readonly path: PackagePath };

export type WorldItem =
  | UseDecl
  | { readonly kind: "type"; readonly decl: TypeDecl }
  | ({ readonly kind: "import" | "export"; readonly path: WorldItemPath; readonly span: Span } & Docs)
  | ({
      readonly kind: "include";
      readonly world: WorldRef;
      readonly with: readonly { readonly from: Ident; readonly to: Ident }[];
      readonly span: Span;
    } & Docs);

export interface WorldDecl extends Docs {
  readonly kind: "world";
  readonly id: Ident;
  readonly items: readonly WorldItem[];
}

// ---------------------------------------------------------------- WAC statements

export type ImportType =
  | { readonly kind: "package"; readonly path: PackagePath }
  | FuncType
  | InlineInterface
  | { readonly kind: "ident"; readonly id: Ident };

export interface ImportStatement extends Docs {
  readonly kind: "import";
  readonly id: Ident;
  readonly as?: Ident | StringLit;
  readonly type: ImportType;
  readonly span: Span;
}

export type InstantiationArg =
  | { readonly kind: "inferred"; readonly id: Ident }
  | { readonly kind: "spread"; readonly id: Ident; readonly span: Span }
  | { readonly kind: "named"; readonly name: Ident | StringLit; readonly expr: Expr };

export type PrimaryExpr =
  | {
      readonly kind: "new";
      readonly package: PackageName;
      readonly args: readonly InstantiationArg[];
      /** the trailing `...` */
      readonly fill?: Span;
      readonly span: Span;
    }
  | { readonly kind: "nested"; readonly expr: Expr; readonly span: Span }
  | { readonly kind: "ident"; readonly id: Ident };

export type PostfixExpr =
  | { readonly kind: "access"; readonly id: Ident; readonly span: Span }
  | { readonly kind: "named-access"; readonly string: StringLit; readonly span: Span };

export interface Expr {
  readonly primary: PrimaryExpr;
  readonly postfix: readonly PostfixExpr[];
  readonly span: Span;
}

export interface LetStatement extends Docs {
  readonly kind: "let";
  readonly id: Ident;
  readonly expr: Expr;
  readonly span: Span;
}

export type ExportOptions =
  | { readonly kind: "none" }
  | { readonly kind: "spread"; readonly span: Span }
  | { readonly kind: "as"; readonly name: Ident | StringLit };

export interface ExportStatement extends Docs {
  readonly kind: "export";
  readonly expr: Expr;
  readonly options: ExportOptions;
  readonly span: Span;
}

export type TypeStatement = InterfaceDecl | WorldDecl | { readonly kind: "type"; readonly decl: TypeDecl };

export type Statement = ImportStatement | TypeStatement | LetStatement | ExportStatement;

export interface PackageDecl {
  readonly name: PackageName;
  readonly targets?: PackagePath;
  readonly span: Span;
}

export interface Document {
  readonly package: PackageDecl;
  readonly statements: readonly Statement[];
}

// ---------------------------------------------------------------- WIT files

/** Top-level `use ns:pkg/iface[@v] [as name];` of a WIT file. */
export interface TopLevelUse {
  readonly kind: "top-use";
  readonly path: PackagePath;
  readonly as?: Ident;
  readonly span: Span;
}

export type WitItem = InterfaceDecl | WorldDecl | TopLevelUse;

export interface WitFile {
  readonly package?: PackageName;
  readonly items: readonly WitItem[];
  /** `package a:b { ... }` blocks nested in the file. */
  readonly nested: readonly { readonly package: PackageName; readonly items: readonly WitItem[] }[];
}
