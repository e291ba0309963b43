/**
 * Component binary reader: walks every section of a component (and, on demand, of nested
 * components when they are instantiated), maintaining all index spaces, and yields the
 * types of its imports and exports (wtypes.ts). Nested components are interpreted per
 * instantiation with their arguments bound, so the instance an instantiation produces has
 * exactly the exported types the nested component gives it.
 *
 * Function bodies of core modules are never decoded: only the sections that define
 * component-level items are, which keeps reading a 100 MiB component cheap.
 */
import { ComponentBinaryError, Reader, isComponent } from "./binary.ts";
import { WasmOciError } from "../util/errors.ts";
import type { CoreExtern, CoreValType, PrimitiveType } from "./types.ts";
import {
  WCompType, WDefined, WFunc, WInstType, WModType, WRes, unique,
  type WAny, type WDef, type WEnt, type WVal,
} from "./wtypes.ts";
import { instantiateCompType } from "./substitute.ts";

const PRIMS: Record<number, PrimitiveType> = {
  0x7f: "bool", 0x7e: "s8", 0x7d: "u8", 0x7c: "s16", 0x7b: "u16", 0x7a: "s32", 0x79: "u32",
  0x78: "s64", 0x77: "u64", 0x76: "f32", 0x75: "f64", 0x74: "char", 0x73: "string",
};

/** Nesting limit for types and components (the reference validator's is 100). */
const MAX_DEPTH = 100;

/**
 * Work budget of one `readComponent` call, in bytes interpreted: nested components are
 * interpreted once per instantiation, so a crafted binary could otherwise make reading it
 * exponentially slow.
 */
let budget = 0;

type CoreTypeSlot = { k: "func"; params: CoreValType[]; results: CoreValType[] } | { k: "module"; t: WModType } | { k: "other" };

/** A component definition: either a nested component's bytes (with its enclosing scope) or a type. */
type ComponentSlot = { k: "def"; bytes: Uint8Array; start: number; end: number; parent: Scope } | { k: "type"; t: WCompType };
type ModuleSlot = { k: "def"; bytes: Uint8Array; start: number; end: number } | { k: "type"; t: WModType };

/** Index spaces of one component, component type or instance type being read. */
class Scope {
  readonly types: WAny[] = [];
  readonly coreTypes: CoreTypeSlot[] = [];
  readonly funcs: WFunc[] = [];
  readonly values: WVal[] = [];
  readonly instances: WInstType[] = [];
  readonly components: ComponentSlot[] = [];
  readonly modules: ModuleSlot[] = [];
  coreInstances = 0;
  coreFuncs = 0;
  coreTables = 0;
  coreMemories = 0;
  coreGlobals = 0;
  coreTags = 0;
  readonly imports = new Map<string, WEnt>();
  readonly exports = new Map<string, WEnt>();
  /** Resources this scope defines (exported `sub resource`s of a type, `resource` definitions). */
  readonly definedResources: WRes[] = [];
  readonly depth: number;
  constructor(readonly parent?: Scope, r?: Reader) {
    this.depth = parent === undefined ? 0 : parent.depth + 1;
    if (this.depth > MAX_DEPTH) (r ?? new Reader(new Uint8Array(0))).fail(`types and components are nested more than ${MAX_DEPTH} deep`);
  }

  outer(count: number, r: Reader, at: number): Scope {
    let s: Scope | undefined = this;
    for (let i = 0; i < count; i++) s = s?.parent;
    if (s === undefined) r.fail(`outer alias count ${count} exceeds the nesting depth`, at);
    return s;
  }
}

function at<T>(arr: readonly T[], i: number, what: string, r: Reader, pos: number): T {
  const v = arr[i];
  if (v === undefined) r.fail(`unknown ${what} ${i} (only ${arr.length} defined)`, pos);
  return v;
}

/**
 * Skeletons (component/skeleton.ts): the file's size, and the core module sections that stand
 * in for modules left in the file, by the offset of the section body in the skeleton.
 */
interface SkeletonInfo {
  readonly fileSize: number;
  readonly standInModules: ReadonlySet<number>;
}
const skeletons = new WeakMap<Uint8Array, SkeletonInfo>();

export function markSkeleton(bytes: Uint8Array, info: SkeletonInfo): void {
  skeletons.set(bytes, info);
}

/**
 * The component uses a core module as an item (exports it, passes it to an instantiation),
 * whose type is read from the module itself, but the skeleton holds a stand-in: the caller
 * reads the whole file instead.
 */
export class StandInModuleError extends WasmOciError {
  constructor(offset: number) {
    super("MODULE_NOT_LOADED", `the core module at skeleton offset 0x${offset.toString(16)} was not loaded but its type is needed`);
    this.name = "StandInModuleError";
  }
}

export interface ReadComponent {
  imports: Map<string, WEnt>;
  exports: Map<string, WEnt>;
}

/**
 * Reads a component binary and returns its imports and exports. Throws ComponentBinaryError
 * (code INVALID_COMPONENT) naming the offset and what was expected.
 */
export function readComponent(bytes: Uint8Array): ReadComponent {
  if (!isComponent(bytes)) {
    if (bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d) {
      throw new ComponentBinaryError(4, "expected a component (version 0x0d, layer 0x01), found a core module or another version");
    }
    throw new ComponentBinaryError(0, "expected the component preamble \\0asm 0d 00 01 00");
  }
  const scope = new Scope();
  // A skeleton gets the budget of its whole file, so both read the same components.
  budget = Math.max(64 * (skeletons.get(bytes)?.fileSize ?? bytes.length), 1 << 26);
  interpretComponent(bytes, 8, bytes.length, scope, undefined);
  return { imports: scope.imports, exports: scope.exports };
}

/** Interprets a component body. `args` binds imports (instantiation); otherwise imports are fresh. */
function interpretComponent(bytes: Uint8Array, start: number, end: number, scope: Scope, args: Map<string, WEnt> | undefined): void {
  const r = new Reader(bytes, start, end);
  budget -= end - start + 4096; // a fixed cost per interpretation bounds the number of them too
  if (budget < 0) r.fail("the component is too complex to read (nested components instantiated too many times)");
  while (!r.done) {
    const secAt = r.pos;
    const id = r.u8("a section id");
    const size = r.u32("a section size");
    const body = r.pos;
    if (body + size > end) r.fail(`section ${id} of size ${size} extends past the end of the component`, secAt);
    const s = new Reader(bytes, body, body + size);
    switch (id) {
      case 0: break; // custom
      case 1: scope.modules.push({ k: "def", bytes, start: body, end: body + size }); break;
      case 2: s.vec(() => coreInstance(s, scope), "core instances"); break;
      case 3: s.vec(() => scope.coreTypes.push(coreType(s)), "core types"); break;
      case 4: {
        if (size < 8 || !isComponent(bytes.subarray(body, body + 8))) r.fail("nested component section does not start with the component preamble", body);
        scope.components.push({ k: "def", bytes, start: body + 8, end: body + size, parent: scope });
        break;
      }
      case 5: s.vec(() => instance(s, scope), "instances"); break;
      case 6: s.vec(() => alias(s, scope), "aliases"); break;
      case 7: s.vec(() => scope.types.push(defType(s, scope)), "types"); break;
      case 8: s.vec(() => canon(s, scope), "canonical functions"); break;
      case 9: start9(s, scope); break;
      case 10: s.vec(() => importDecl(s, scope, args), "imports"); break;
      case 11: s.vec(() => exportItem(s, scope), "exports"); break;
      case 12: s.vec(() => valueDef(s, scope), "values"); break;
      default: r.fail(`unknown component section id ${id}`, secAt);
    }
    if (id !== 1 && id !== 4 && id !== 0 && s.pos !== s.end) s.fail(`section ${id} has ${s.end - s.pos} unexpected trailing bytes`);
    r.pos = body + size;
  }
}

function externName(r: Reader): string {
  const at0 = r.pos;
  const d = r.u8("an extern name discriminant");
  if (d !== 0x00 && d !== 0x01) r.fail(`expected extern name discriminant 0x00 or 0x01, found 0x${d.toString(16)}`, at0);
  return r.name("an extern name");
}

function valType(r: Reader, scope: Scope): WVal {
  const b = r.peek();
  if (PRIMS[b] !== undefined) {
    r.pos++;
    return { prim: PRIMS[b]! };
  }
  const pos = r.pos;
  const idx = r.u32("a type index");
  const t = at(scope.types, idx, "type", r, pos);
  if (t.w !== "defined") r.fail(`type ${idx} is not a value type`, pos);
  return t;
}

function optVal(r: Reader, scope: Scope): WVal | undefined {
  const pos = r.pos;
  const b = r.u8("an option flag");
  if (b === 0) return undefined;
  if (b !== 1) r.fail(`expected 0x00 or 0x01, found 0x${b.toString(16)}`, pos);
  return valType(r, scope);
}

function resourceAt(r: Reader, scope: Scope): WRes {
  const pos = r.pos;
  const idx = r.u32("a resource type index");
  const t = at(scope.types, idx, "type", r, pos);
  if (t.w !== "resource") r.fail(`type ${idx} is not a resource`, pos);
  return t;
}

function defType(r: Reader, scope: Scope): WAny {
  const pos = r.pos;
  const b = r.u8("a type form");
  if (PRIMS[b] !== undefined) return new WDefined({ k: "prim", p: PRIMS[b]! });
  const def = (d: WDef): WDefined => new WDefined(d);
  switch (b) {
    case 0x72: return def({ k: "record", fields: r.vec(() => [r.name("a field name"), valType(r, scope)] as [string, WVal], "record fields") });
    case 0x71: return def({
      k: "variant",
      cases: r.vec(() => {
        const n = r.name("a case name");
        const t = optVal(r, scope);
        const refines = r.u8("a refines flag");
        if (refines === 1) r.u32("a refined case");
        return [n, t] as [string, WVal | undefined];
      }, "variant cases"),
    });
    case 0x70: return def({ k: "list", el: valType(r, scope) });
    case 0x67: { const el = valType(r, scope); return def({ k: "list", el, len: r.u32("a list length") }); }
    case 0x6f: return def({ k: "tuple", types: r.vec(() => valType(r, scope), "tuple types") });
    case 0x6e: return def({ k: "flags", names: r.vec(() => r.name("a flag name"), "flags") });
    case 0x6d: return def({ k: "enum", names: r.vec(() => r.name("an enum case"), "enum cases") });
    case 0x6b: return def({ k: "option", t: valType(r, scope) });
    case 0x6a: {
      const ok = optVal(r, scope);
      const err = optVal(r, scope);
      const d: WDef = ok === undefined ? (err === undefined ? { k: "result" } : { k: "result", err }) : err === undefined ? { k: "result", ok } : { k: "result", ok, err };
      return def(d);
    }
    case 0x69: return def({ k: "own", r: resourceAt(r, scope) });
    case 0x68: return def({ k: "borrow", r: resourceAt(r, scope) });
    case 0x66: { const t = optVal(r, scope); return def(t === undefined ? { k: "stream" } : { k: "stream", t }); }
    case 0x65: { const t = optVal(r, scope); return def(t === undefined ? { k: "future" } : { k: "future", t }); }
    case 0x40: case 0x43: return funcType(r, scope, b === 0x43);
    case 0x41: return componentType(r, scope);
    case 0x42: return instanceType(r, scope);
    case 0x3f: case 0x3e: {
      const rep = r.u8("a resource representation");
      if (rep !== 0x7f) r.fail(`expected resource representation i32 (0x7f), found 0x${rep.toString(16)}`);
      if (r.u8("a destructor flag") === 1) r.u32("a destructor index");
      if (b === 0x3e && r.u8("a callback flag") === 1) r.u32("a callback index");
      const res = new WRes({ name: "" });
      scope.definedResources.push(res);
      return res;
    }
    default:
      return r.fail(`expected a component type definition, found 0x${b.toString(16)}`, pos);
  }
}

function funcType(r: Reader, scope: Scope, async: boolean): WFunc {
  const params = r.vec(() => [r.name("a parameter name"), valType(r, scope)] as [string, WVal], "parameters");
  const pos = r.pos;
  const form = r.u8("a result list form");
  let result: WVal | undefined;
  if (form === 0x00) result = valType(r, scope);
  else if (form === 0x01) {
    const n = r.u32("a named result count");
    if (n !== 0) r.fail("named function results are not supported by the component model any more", pos);
  } else r.fail(`expected a result list (0x00 or 0x01), found 0x${form.toString(16)}`, pos);
  return new WFunc(params, result, async);
}

function instanceType(r: Reader, scope: Scope): WInstType {
  const start = r.pos;
  const evaluate = (): WInstType => {
    const sub = new Reader(r.bytes, start, r.end);
    const inner = new Scope(scope, sub);
    sub.vec(() => instanceDecl(sub, inner, false), "instance type declarations");
    return new WInstType(inner.exports, inner.definedResources, evaluate);
  };
  const sub = new Reader(r.bytes, start, r.end);
  const inner = new Scope(scope, sub);
  sub.vec(() => instanceDecl(sub, inner, false), "instance type declarations");
  r.pos = sub.pos;
  return new WInstType(inner.exports, inner.definedResources, evaluate);
}

function componentType(r: Reader, scope: Scope): WCompType {
  const inner = new Scope(scope, r);
  r.vec(() => instanceDecl(r, inner, true), "component type declarations");
  return new WCompType(inner.imports, inner.exports, inner.definedResources);
}

function instanceDecl(r: Reader, scope: Scope, component: boolean): void {
  const pos = r.pos;
  const b = r.u8("a declaration kind");
  switch (b) {
    case 0x00: scope.coreTypes.push(coreType(r)); return;
    case 0x01: scope.types.push(defType(r, scope)); return;
    case 0x02: alias(r, scope); return;
    case 0x03: {
      if (!component) r.fail("import declarations are only allowed in component types", pos);
      const name = externName(r);
      const ent = externDesc(r, scope, "import");
      scope.imports.set(name, ent);
      push(scope, ent);
      return;
    }
    case 0x04: {
      const name = externName(r);
      const ent = externDesc(r, scope, "export");
      scope.exports.set(name, ent);
      push(scope, ent);
      return;
    }
    default: r.fail(`expected a ${component ? "component" : "instance"} type declaration, found 0x${b.toString(16)}`, pos);
  }
}

/** Adds an imported/exported item to its index space. */
function push(scope: Scope, ent: WEnt): void {
  switch (ent.k) {
    case "type": scope.types.push(ent.created); break;
    case "func": scope.funcs.push(ent.t); break;
    case "instance": scope.instances.push(ent.t); break;
    case "component": scope.components.push({ k: "type", t: ent.t }); break;
    case "module": scope.modules.push({ k: "type", t: ent.t }); break;
    case "value": scope.values.push(ent.t); break;
  }
}

function externDesc(r: Reader, scope: Scope, dir: "import" | "export"): WEnt {
  const pos = r.pos;
  const b = r.u8("an extern descriptor");
  switch (b) {
    case 0x00: {
      const core = r.u8("a core sort");
      if (core !== 0x11) r.fail(`expected core module sort 0x11, found 0x${core.toString(16)}`, pos + 1);
      const ip = r.pos;
      const t = at(scope.coreTypes, r.u32("a core type index"), "core type", r, ip);
      if (t.k !== "module") r.fail("core type is not a module type", ip);
      return { k: "module", t: t.t };
    }
    case 0x01: {
      const ip = r.pos;
      const idx = r.u32("a type index");
      const t = at(scope.types, idx, "type", r, ip);
      if (t.w !== "func") r.fail(`type ${idx} is not a function type`, ip);
      return { k: "func", t };
    }
    case 0x02: {
      // Binary.md: valuebound ::= 0x00 <valueidx> (eq) | 0x01 <valtype>. wasmparser reads a bare
      // valtype here instead; values are a gated feature, and we follow the spec text.
      const bp = r.pos;
      const vb = r.u8("a value bound");
      if (vb === 0x00) {
        const ip = r.pos;
        return { k: "value", t: at(scope.values, r.u32("a value index"), "value", r, ip) };
      }
      if (vb !== 0x01) r.fail(`expected a value bound (0x00 eq or 0x01 a value type), found 0x${vb.toString(16)}`, bp);
      return { k: "value", t: valType(r, scope) };
    }
    case 0x03: {
      const bound = r.u8("a type bound");
      if (bound === 0x00) {
        const ip = r.pos;
        const referenced = at(scope.types, r.u32("a type index"), "type", r, ip);
        return { k: "type", referenced, created: unique(referenced) };
      }
      if (bound === 0x01) {
        const res = new WRes({ name: "" });
        if (dir === "export") scope.definedResources.push(res);
        return { k: "type", referenced: res, created: res };
      }
      return r.fail(`expected a type bound (0x00 eq or 0x01 sub resource), found 0x${bound.toString(16)}`, pos + 1);
    }
    case 0x05: {
      const ip = r.pos;
      const idx = r.u32("a type index");
      const t = at(scope.types, idx, "type", r, ip);
      if (t.w !== "instance") r.fail(`type ${idx} is not an instance type`, ip);
      // Imports get their own copy of the resources the instance type defines.
      return { k: "instance", t: dir === "import" && t.definedResources.length > 0 && t.fresh ? t.fresh() : t };
    }
    case 0x04: {
      const ip = r.pos;
      const idx = r.u32("a type index");
      const t = at(scope.types, idx, "type", r, ip);
      if (t.w !== "component") r.fail(`type ${idx} is not a component type`, ip);
      return { k: "component", t };
    }
    default:
      return r.fail(`expected an extern descriptor, found 0x${b.toString(16)}`, pos);
  }
}

function importDecl(r: Reader, scope: Scope, args: Map<string, WEnt> | undefined): void {
  const name = externName(r);
  const ent = externDesc(r, scope, "import");
  const bound = args?.get(name);
  const actual = bound === undefined ? ent : bindArgument(ent, bound);
  scope.imports.set(name, actual);
  push(scope, actual);
}

/** What an import becomes inside an instantiated component: the argument's own item. */
function bindArgument(declared: WEnt, arg: WEnt): WEnt {
  if (declared.k === "type" && arg.k === "type") return { k: "type", referenced: arg.created, created: arg.created };
  return arg.k === declared.k ? arg : declared;
}

function sortEntity(r: Reader, scope: Scope, sort: number, core: number | undefined, idx: number, pos: number): WEnt | undefined {
  switch (sort) {
    case 0x00:
      if (core === 0x11) {
        const m = at(scope.modules, idx, "module", r, pos);
        if (m.k === "type") return { k: "module", t: m.t };
        if (skeletons.get(m.bytes)?.standInModules.has(m.start) === true) throw new StandInModuleError(m.start);
        return { k: "module", t: moduleTypeOf(m.bytes, m.start, m.end) };
      }
      return undefined;
    case 0x01: return { k: "func", t: at(scope.funcs, idx, "function", r, pos) };
    case 0x02: return { k: "value", t: at(scope.values, idx, "value", r, pos) };
    case 0x03: { const t = at(scope.types, idx, "type", r, pos); return { k: "type", referenced: t, created: t }; }
    case 0x04: return { k: "component", t: componentTypeOf(at(scope.components, idx, "component", r, pos)) };
    case 0x05: return { k: "instance", t: at(scope.instances, idx, "instance", r, pos) };
    default: return r.fail(`unknown sort 0x${sort.toString(16)}`, pos);
  }
}

function readSort(r: Reader): { sort: number; core?: number } {
  const pos = r.pos;
  const sort = r.u8("a sort");
  if (sort === 0x00) return { sort, core: r.u8("a core sort") };
  if (sort > 0x05) r.fail(`expected a sort, found 0x${sort.toString(16)}`, pos);
  return { sort };
}

function instance(r: Reader, scope: Scope): void {
  const pos = r.pos;
  const form = r.u8("an instance expression");
  if (form === 0x00) {
    const cp = r.pos;
    const comp = at(scope.components, r.u32("a component index"), "component", r, cp);
    const args = new Map<string, WEnt>();
    r.vec(() => {
      const name = r.name("an argument name");
      const { sort, core } = readSort(r);
      const ip = r.pos;
      const ent = sortEntity(r, scope, sort, core, r.u32("an index"), ip);
      if (ent !== undefined) args.set(name, ent);
    }, "instantiation arguments");
    scope.instances.push(instantiate(comp, args));
    return;
  }
  if (form === 0x01) {
    const exports = new Map<string, WEnt>();
    r.vec(() => {
      const name = externName(r);
      const { sort, core } = readSort(r);
      const ip = r.pos;
      const ent = sortEntity(r, scope, sort, core, r.u32("an index"), ip);
      if (ent !== undefined) exports.set(name, ent);
    }, "instance exports");
    scope.instances.push(new WInstType(exports, []));
    return;
  }
  r.fail(`expected an instance expression (0x00 or 0x01), found 0x${form.toString(16)}`, pos);
}

function instantiate(comp: ComponentSlot, args: Map<string, WEnt>): WInstType {
  if (comp.k === "type") return instantiateCompType(comp.t, args);
  const inner = new Scope(comp.parent, new Reader(comp.bytes, comp.start, comp.end));
  interpretComponent(comp.bytes, comp.start, comp.end, inner, args);
  return new WInstType(inner.exports, inner.definedResources);
}

function componentTypeOf(comp: ComponentSlot): WCompType {
  if (comp.k === "type") return comp.t;
  const inner = new Scope(comp.parent, new Reader(comp.bytes, comp.start, comp.end));
  interpretComponent(comp.bytes, comp.start, comp.end, inner, undefined);
  return new WCompType(inner.imports, inner.exports, inner.definedResources);
}

function coreInstance(r: Reader, scope: Scope): void {
  const pos = r.pos;
  const form = r.u8("a core instance expression");
  if (form === 0x00) {
    r.u32("a module index");
    r.vec(() => {
      r.name("an argument name");
      const k = r.u8("the instance sort");
      if (k !== 0x12) r.fail(`expected core instance sort 0x12, found 0x${k.toString(16)}`);
      r.u32("an instance index");
    }, "core instantiation arguments");
  } else if (form === 0x01) {
    r.vec(() => {
      r.name("an export name");
      r.u8("a core sort");
      r.u32("an index");
    }, "core instance exports");
  } else r.fail(`expected a core instance expression, found 0x${form.toString(16)}`, pos);
  scope.coreInstances++;
}

function bumpCore(scope: Scope, core: number, r: Reader, pos: number): void {
  switch (core) {
    case 0x00: scope.coreFuncs++; break;
    case 0x01: scope.coreTables++; break;
    case 0x02: scope.coreMemories++; break;
    case 0x03: scope.coreGlobals++; break;
    case 0x04: scope.coreTags++; break;
    case 0x12: scope.coreInstances++; break;
    default: r.fail(`unexpected core sort 0x${core.toString(16)} for a core export alias`, pos);
  }
}

function alias(r: Reader, scope: Scope): void {
  const pos = r.pos;
  const { sort, core } = readSort(r);
  const target = r.u8("an alias target");
  if (target === 0x00) {
    const ip = r.pos;
    const inst = at(scope.instances, r.u32("an instance index"), "instance", r, ip);
    const name = r.name("an export name");
    const ent = inst.exports.get(name);
    if (ent === undefined) r.fail(`instance ${ip} has no export named \`${name}\``, ip);
    if (sort === 0x00) {
      if (core === 0x11 && ent.k === "module") scope.modules.push({ k: "type", t: ent.t });
      return;
    }
    const expected = ({ 1: "func", 2: "value", 3: "type", 4: "component", 5: "instance" } as const)[sort as 1 | 2 | 3 | 4 | 5];
    if (ent.k !== expected) r.fail(`export \`${name}\` is a ${ent.k}, expected a ${expected}`, pos);
    push(scope, ent.k === "type" ? { k: "type", referenced: ent.created, created: ent.created } : ent);
    return;
  }
  if (target === 0x01) {
    r.u32("a core instance index");
    r.name("an export name");
    if (core === undefined) r.fail("core export aliases must have a core sort", pos);
    bumpCore(scope, core, r, pos);
    return;
  }
  if (target === 0x02) {
    const cp = r.pos;
    const count = r.u32("an outer count");
    const idx = r.u32("an outer index");
    const outer = scope.outer(count, r, cp);
    if (sort === 0x03) scope.types.push(at(outer.types, idx, "outer type", r, cp));
    else if (sort === 0x04) scope.components.push(at(outer.components, idx, "outer component", r, cp));
    else if (sort === 0x00 && core === 0x11) scope.modules.push(at(outer.modules, idx, "outer module", r, cp));
    else if (sort === 0x00 && core === 0x10) scope.coreTypes.push(at(outer.coreTypes, idx, "outer core type", r, cp));
    else r.fail("outer aliases may only refer to types, modules and components", pos);
    return;
  }
  r.fail(`expected an alias target (0x00, 0x01, 0x02), found 0x${target.toString(16)}`, pos);
}

function canonOpts(r: Reader): void {
  r.vec(() => {
    const pos = r.pos;
    const o = r.u8("a canonical option");
    if (o <= 0x02 || o === 0x06 || o === 0x09) return;
    if (o >= 0x03 && o <= 0x05) { r.u32("an option index"); return; }
    if (o === 0x07 || o === 0x08) { r.u32("an option index"); return; }
    r.fail(`unknown canonical option 0x${o.toString(16)}`, pos);
  }, "canonical options");
}

function canon(r: Reader, scope: Scope): void {
  const pos = r.pos;
  const op = r.u8("a canonical function opcode");
  switch (op) {
    case 0x00: {
      const s = r.u8("the func sort");
      if (s !== 0x00) r.fail(`expected 0x00 after canon lift, found 0x${s.toString(16)}`, pos + 1);
      r.u32("a core function index");
      canonOpts(r);
      const tp = r.pos;
      const idx = r.u32("a type index");
      const t = at(scope.types, idx, "type", r, tp);
      if (t.w !== "func") r.fail(`type ${idx} is not a function type`, tp);
      scope.funcs.push(t);
      return;
    }
    case 0x01: {
      const s = r.u8("the func sort");
      if (s !== 0x00) r.fail(`expected 0x00 after canon lower, found 0x${s.toString(16)}`, pos + 1);
      r.u32("a function index");
      canonOpts(r);
      scope.coreFuncs++;
      return;
    }
    default:
      skipBuiltin(r, op, pos);
      scope.coreFuncs++;
  }
}

/**
 * The canonical built-ins other than lift and lower (resources, async tasks, streams,
 * futures, error contexts, waitables, threads) each define one core function; only their
 * immediates need skipping.
 */
function skipBuiltin(r: Reader, op: number, pos: number): void {
  const u32 = (): void => { r.u32("an index"); };
  const flag = (): void => { r.u8("a flag"); };
  switch (op) {
    case 0x02: case 0x03: case 0x04: case 0x07: u32(); return; // resource.new/drop/rep, drop async
    case 0x05: case 0x0d: case 0x1e: case 0x1f: case 0x22: case 0x23: case 0x24: case 0x25:
    case 0x26: case 0x2a: case 0x42: case 0x08:
      return; // no immediates
    case 0x06: case 0x0c: case 0x28: case 0x29: case 0x2b: flag(); return;
    case 0x09: {
      const form = r.u8("a result list form");
      if (form === 0x00) skipValType(r);
      else if (form === 0x01) r.u8("an empty result list");
      else r.fail(`expected a result list, found 0x${form.toString(16)}`, pos);
      canonOpts(r);
      return;
    }
    case 0x0a: case 0x0b: {
      const t = r.u8("a context slot type");
      if (t !== 0x7f) r.fail(`expected context slot type i32 (0x7f), found 0x${t.toString(16)}`, pos);
      u32();
      return;
    }
    case 0x0e: case 0x13: case 0x14: case 0x15: case 0x1a: case 0x1b: case 0x40: u32(); return;
    case 0x0f: case 0x10: case 0x16: case 0x17: u32(); canonOpts(r); return;
    case 0x11: case 0x12: case 0x18: case 0x19: u32(); flag(); return;
    case 0x1c: case 0x1d: canonOpts(r); return;
    case 0x20: case 0x21: flag(); u32(); return;
    case 0x27: case 0x41: u32(); u32(); return;
    default:
      r.fail(`unknown canonical function opcode 0x${op.toString(16)}`, pos);
  }
}

function skipValType(r: Reader): void {
  if (PRIMS[r.peek()] !== undefined) r.pos++;
  else r.u32("a type index");
}

function start9(r: Reader, scope: Scope): void {
  r.u32("a function index");
  r.vec(() => r.u32("a value index"), "start arguments");
  const results = r.u32("a result count");
  for (let i = 0; i < results; i++) scope.values.push({ prim: "bool" });
}

/**
 * One entry of the value section (🪙, Binary.md: `value ::= t:<valtype> len:<u32> v:<val(t)>`).
 * Only the type matters for the value index space; the payload is skipped by its length
 * rather than decoded, so its encoding (still being specified) is not checked here.
 */
function valueDef(r: Reader, scope: Scope): void {
  const t = valType(r, scope);
  const lp = r.pos;
  const len = r.u32("a value length");
  if (len > r.end - r.pos) r.fail(`value of ${len} bytes extends past the end of the value section (${r.end - r.pos} left)`, lp);
  r.pos += len;
  scope.values.push(t);
}

function exportItem(r: Reader, scope: Scope): void {
  const name = externName(r);
  const { sort, core } = readSort(r);
  const ip = r.pos;
  const idx = r.u32("an index");
  let ent = sortEntity(r, scope, sort, core, idx, ip);
  const asc = r.u8("a type ascription flag");
  if (asc === 0x01) {
    const declared = externDesc(r, scope, "export");
    ent = declared.k === "type" && ent?.k === "type" ? { k: "type", referenced: ent.created, created: unique(ent.created) } : declared;
  } else if (asc !== 0x00) r.fail(`expected 0x00 or 0x01 for the export type ascription, found 0x${asc.toString(16)}`, r.pos - 1);
  if (ent === undefined) r.fail(`cannot export core sort 0x${(core ?? 0).toString(16)} from a component`, ip);
  scope.exports.set(name, ent);
  push(scope, ent);
}

// ---- core types -------------------------------------------------------------------------

function coreValType(r: Reader): CoreValType {
  const pos = r.pos;
  const b = r.u8("a core value type");
  switch (b) {
    case 0x7f: return "i32";
    case 0x7e: return "i64";
    case 0x7d: return "f32";
    case 0x7c: return "f64";
    case 0x7b: return "v128";
    case 0x70: return "funcref";
    case 0x6f: return "externref";
    case 0x63: case 0x64: {
      const ht = r.s33("a heap type");
      return { ref: `${b === 0x63 ? "null " : ""}${ht}` };
    }
    default:
      if (b >= 0x69 && b <= 0x74) return { ref: `abstract 0x${b.toString(16)}` };
      return r.fail(`expected a core value type, found 0x${b.toString(16)}`, pos);
  }
}

function limits(r: Reader): { min: bigint; max?: bigint; flags: number; pageSizeLog2?: number } {
  const flags = r.u8("limits flags");
  const is64 = (flags & 0x04) !== 0;
  const min = is64 ? r.u64("a minimum") : BigInt(r.u32("a minimum"));
  const max = (flags & 0x01) !== 0 ? (is64 ? r.u64("a maximum") : BigInt(r.u32("a maximum"))) : undefined;
  const pageSizeLog2 = (flags & 0x08) !== 0 ? r.u32("a page size") : undefined;
  const out: { min: bigint; max?: bigint; flags: number; pageSizeLog2?: number } = { min, flags };
  if (max !== undefined) out.max = max;
  if (pageSizeLog2 !== undefined) out.pageSizeLog2 = pageSizeLog2;
  return out;
}

function coreImportDesc(r: Reader, funcTypes: CoreTypeSlot[]): CoreExtern {
  const pos = r.pos;
  const b = r.u8("a core import descriptor");
  const funcAt = (): { params: CoreValType[]; results: CoreValType[] } => {
    const ip = r.pos;
    const t = at(funcTypes, r.u32("a type index"), "core type", r, ip);
    if (t.k !== "func") r.fail("core type is not a function type", ip);
    return { params: t.params, results: t.results };
  };
  switch (b) {
    case 0x00: return { kind: "func", ...funcAt() };
    case 0x01: {
      const element = coreValType(r);
      const l = limits(r);
      const t: CoreExtern = { kind: "table", element, min: l.min, table64: (l.flags & 0x04) !== 0, shared: (l.flags & 0x02) !== 0 };
      if (l.max !== undefined) t.max = l.max;
      return t;
    }
    case 0x02: {
      const l = limits(r);
      const m: CoreExtern = { kind: "memory", min: l.min, memory64: (l.flags & 0x04) !== 0, shared: (l.flags & 0x02) !== 0 };
      if (l.max !== undefined) m.max = l.max;
      if (l.pageSizeLog2 !== undefined) m.pageSizeLog2 = l.pageSizeLog2;
      return m;
    }
    case 0x03: {
      const type = coreValType(r);
      const m = r.u8("a mutability flag");
      return { kind: "global", type, mutable: (m & 1) !== 0, shared: (m & 2) !== 0 };
    }
    case 0x04: {
      r.u8("a tag attribute");
      return { kind: "tag", ...funcAt() };
    }
    default: return r.fail(`expected a core import descriptor, found 0x${b.toString(16)}`, pos);
  }
}

function coreType(r: Reader): CoreTypeSlot {
  const pos = r.pos;
  const b = r.u8("a core type form");
  if (b === 0x60) {
    const params = r.vec(() => coreValType(r), "parameters");
    const results = r.vec(() => coreValType(r), "results");
    return { k: "func", params, results };
  }
  if (b === 0x50 || (b === 0x00 && r.peek() === 0x50)) {
    if (b === 0x00) r.pos++;
    const types: CoreTypeSlot[] = [];
    const imports: WModType["imports"] = [];
    const exports: WModType["exports"] = [];
    r.vec(() => {
      const dp = r.pos;
      const d = r.u8("a module type declaration");
      if (d === 0x00) {
        const module = r.name("a module name");
        const name = r.name("an import name");
        imports.push({ module, name, type: coreImportDesc(r, types) });
      } else if (d === 0x01) types.push(coreType(r));
      else if (d === 0x02) {
        r.u8("a core sort");
        r.u8("an outer alias target");
        r.u32("an outer count");
        r.u32("an outer index");
        types.push({ k: "other" });
      } else if (d === 0x03) {
        const name = r.name("an export name");
        exports.push([name, coreImportDesc(r, types)]);
      } else r.fail(`expected a module type declaration, found 0x${d.toString(16)}`, dp);
    }, "module type declarations");
    return { k: "module", t: new WModType(imports, exports) };
  }
  return r.fail(`unsupported core type form 0x${b.toString(16)} (only function and module types are supported)`, pos);
}

/** The import/export types of a core module, read from its type, import and export sections. */
export function moduleTypeOf(bytes: Uint8Array, start: number, end: number): WModType {
  const r = new Reader(bytes, start + 8, end);
  const types: CoreTypeSlot[] = [];
  const funcs: Array<{ params: CoreValType[]; results: CoreValType[] }> = [];
  const tables: CoreExtern[] = [];
  const memories: CoreExtern[] = [];
  const globals: CoreExtern[] = [];
  const tags: CoreExtern[] = [];
  const imports: WModType["imports"] = [];
  const exports: WModType["exports"] = [];
  while (!r.done) {
    const id = r.u8("a section id");
    const size = r.u32("a section size");
    const s = new Reader(bytes, r.pos, r.pos + size);
    r.pos += size;
    if (id === 1) s.vec(() => types.push(coreType(s)), "types");
    else if (id === 2) s.vec(() => {
      const module = s.name();
      const name = s.name();
      const type = coreImportDesc(s, types);
      imports.push({ module, name, type });
      if (type.kind === "func") funcs.push(type);
      else if (type.kind === "table") tables.push(type);
      else if (type.kind === "memory") memories.push(type);
      else if (type.kind === "global") globals.push(type);
      else tags.push(type);
    }, "imports");
    else if (id === 3) s.vec(() => {
      const ip = s.pos;
      const t = at(types, s.u32("a type index"), "core type", s, ip);
      if (t.k === "func") funcs.push({ params: t.params, results: t.results });
    }, "functions");
    else if (id === 4) s.vec(() => { const t = coreImportDescFromBody(s, 0x01); tables.push(t); }, "tables");
    else if (id === 5) s.vec(() => { memories.push(coreImportDescFromBody(s, 0x02)); }, "memories");
    else if (id === 6) { s.vec(() => { globals.push(coreImportDescFromBody(s, 0x03)); skipConstExpr(s); }, "globals"); }
    else if (id === 13) s.vec(() => { s.u8(); const ip = s.pos; const t = at(types, s.u32(), "core type", s, ip); if (t.k === "func") tags.push({ kind: "tag", params: t.params, results: t.results }); }, "tags");
    else if (id === 7) s.vec(() => {
      const name = s.name("an export name");
      const kind = s.u8("an export kind");
      const ip = s.pos;
      const idx = s.u32("an index");
      const pick = (arr: CoreExtern[], what: string): CoreExtern => at(arr, idx, what, s, ip);
      if (kind === 0x00) exports.push([name, { kind: "func", ...at(funcs, idx, "function", s, ip) }]);
      else if (kind === 0x01) exports.push([name, pick(tables, "table")]);
      else if (kind === 0x02) exports.push([name, pick(memories, "memory")]);
      else if (kind === 0x03) exports.push([name, pick(globals, "global")]);
      else if (kind === 0x04) exports.push([name, pick(tags, "tag")]);
    }, "exports");
  }
  return new WModType(imports, exports);
}

function coreImportDescFromBody(r: Reader, kind: number): CoreExtern {
  // Table, memory and global definitions share the import descriptor's body encoding.
  const patched = new Uint8Array(1 + (r.end - r.pos));
  patched[0] = kind;
  patched.set(r.bytes.subarray(r.pos, r.end), 1);
  const sub = new Reader(patched);
  const t = coreImportDesc(sub, []);
  r.pos += sub.pos - 1;
  return t;
}

function skipConstExpr(r: Reader): void {
  // Constant expressions end with 0x0b; the immediates that can appear in them never contain
  // a bare 0x0b at an opcode position for the forms used in globals (const, global.get, ref.*).
  for (let guard = 0; guard < 1_000_000; guard++) {
    const op = r.u8("a constant expression");
    if (op === 0x0b) return;
    if (op === 0x41 || op === 0x23 || op === 0xd2) r.s33();
    else if (op === 0x42) { r.u64(); }
    else if (op === 0x43) r.bytesN(4);
    else if (op === 0x44) r.bytesN(8);
    else if (op === 0xd0) r.s33();
    else if (op === 0xfd) { r.u32(); r.bytesN(16); }
  }
}
