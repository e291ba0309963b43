/**
 * The reader's internal type representation: types as they exist while a component binary
 * is being interpreted, before conversion into the shared model (types.ts).
 *
 * Each object is one type identity, like a wasmparser type id. Importing or exporting a
 * type with an `(eq N)` bound creates a new identity whose `peel` points at N; that
 * chain is what the converter walks to find which interface "owns" a type (and so which
 * names are `use`d from another interface). Resources share an `underlying` object across
 * all their aliases: that is resource identity.
 */
import type { CoreExtern, PrimitiveType } from "./types.ts";

export type WVal = { prim: PrimitiveType } | WDefined;

export type WDef =
  | { k: "prim"; p: PrimitiveType }
  | { k: "record"; fields: Array<[string, WVal]> }
  | { k: "variant"; cases: Array<[string, WVal | undefined]> }
  | { k: "list"; el: WVal; len?: number }
  | { k: "tuple"; types: WVal[] }
  | { k: "flags"; names: string[] }
  | { k: "enum"; names: string[] }
  | { k: "option"; t: WVal }
  | { k: "result"; ok?: WVal; err?: WVal }
  | { k: "own"; r: WRes }
  | { k: "borrow"; r: WRes }
  | { k: "stream"; t?: WVal }
  | { k: "future"; t?: WVal };

export class WDefined {
  readonly w = "defined" as const;
  constructor(readonly def: WDef, readonly peel?: WDefined) {}
}

/** Identity of an underlying resource shared by all its aliases. */
export interface ResourceIdentity { readonly name: string }

export class WRes {
  readonly w = "resource" as const;
  constructor(readonly underlying: ResourceIdentity, readonly peel?: WRes) {}
}

export class WFunc {
  readonly w = "func" as const;
  constructor(
    readonly params: Array<[string, WVal]>,
    readonly result: WVal | undefined,
    readonly async: boolean,
    readonly peel?: WFunc,
  ) {}
}

export class WInstType {
  readonly w = "instance" as const;
  /**
   * `fresh` re-evaluates the declaration with new resources: an imported instance type gets
   * its own copy of the resources it defines (as wasmparser does), so two imports of the
   * same instance type do not share resources.
   */
  constructor(
    readonly exports: Map<string, WEnt>,
    readonly definedResources: WRes[],
    readonly fresh?: () => WInstType,
  ) {}
}

export class WCompType {
  readonly w = "component" as const;
  /**
   * `definedResources` are the resources the component type itself defines (its abstract
   * exported resources; for a defined component, the resources it defines): instantiating
   * the type replaces them with fresh ones (substitute.ts).
   */
  constructor(
    readonly imports: Map<string, WEnt>,
    readonly exports: Map<string, WEnt>,
    readonly definedResources: readonly WRes[] = [],
  ) {}
}

export class WModType {
  readonly w = "module" as const;
  constructor(
    readonly imports: Array<{ module: string; name: string; type: CoreExtern }>,
    readonly exports: Array<[string, CoreExtern]>,
  ) {}
}

export type WAny = WDefined | WRes | WFunc | WInstType | WCompType;

/** An imported or exported item. For types, `referenced` is what the bound named, `created` the new identity. */
export type WEnt =
  | { k: "type"; referenced: WAny; created: WAny }
  | { k: "func"; t: WFunc }
  | { k: "instance"; t: WInstType }
  | { k: "component"; t: WCompType }
  | { k: "module"; t: WModType }
  | { k: "value"; t: WVal };

/** A new identity for a type named through an `(eq N)` bound. */
export function unique(t: WAny): WAny {
  switch (t.w) {
    case "defined": return new WDefined(t.def, t);
    case "resource": return new WRes(t.underlying, t);
    case "func": return new WFunc(t.params, t.result, t.async, t);
    default: return t;
  }
}

export function peelOf(t: WAny): WAny | undefined {
  return t.w === "defined" || t.w === "resource" || t.w === "func" ? t.peel : undefined;
}
