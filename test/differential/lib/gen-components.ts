/**
 * The small components the generated compositions are made of. Every answer is a u32, so a
 * composition's result is known from its wiring alone:
 *
 *   gen:n1 gen:n2 gen:n5     export gen:t/num            get() = 1, 2, 5
 *   gen:off3 gen:off7        export gen:t/offset         get() = 3, 7
 *   gen:adder                gen:t/num + gen:t/offset -> gen:t/num, get() = num + offset
 *   gen:scale                gen:t/num -> gen:t/num, get() = 3 * num
 *   gen:bridge               gen:t/num -> value() = num   (a plain function export)
 *   gen:twice                input: func -> output() = 2 * input(), gen:t/num get() = 2 * input()
 *   ex:counter               export ex:demo/counter (a resource)
 *   gen:tally                ex:demo/counter + gen:t/num -> gen:t/num, get() = counter(num).add(10)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { COUNTER_WAT, watToWasm } from "../../helpers/wasm-fixtures.ts";

const GET = `(func (result u32))`;

function constant(iface: string, k: number): string {
  return `(component
  (core module $m (func (export "get") (result i32) i32.const ${k}))
  (core instance $i (instantiate $m))
  (func $get (result u32) (canon lift (core func $i "get")))
  (instance $out (export "get" (func $get)))
  (export "${iface}" (instance $out)))`;
}

/** A component importing the named instances (each exporting get), whose core `get` computes `body`. */
function consumer(imports: string[], body: string, exports: string): string {
  const imp = imports.map((n, i) => `  (import "${n}" (instance $im${i} (export "get" ${GET})))\n  (core func $g${i} (canon lower (func $im${i} "get")))`).join("\n");
  const coreImports = imports.map((_n, i) => `(import "i" "g${i}" (func $g${i} (result i32)))`).join(" ");
  const inst = imports.map((_n, i) => `(export "g${i}" (func $g${i}))`).join(" ");
  return `(component
${imp}
  (core instance $imp ${inst})
  (core module $m ${coreImports}
    (func (export "get") (result i32) ${body}))
  (core instance $i (instantiate $m (with "i" (instance $imp))))
  (func $get (result u32) (canon lift (core func $i "get")))
${exports})`;
}

const NUM_EXPORT = `  (instance $out (export "get" (func $get)))\n  (export "gen:t/num" (instance $out))`;

const TWICE = `(component
  (import "input" (func $input (result u32)))
  (core func $in (canon lower (func $input)))
  (core instance $imp (export "in" (func $in)))
  (core module $m (import "i" "in" (func $in (result i32)))
    (func (export "get") (result i32) (i32.mul (call $in) (i32.const 2))))
  (core instance $i (instantiate $m (with "i" (instance $imp))))
  (func $get (result u32) (canon lift (core func $i "get")))
  (export "output" (func $get))
${NUM_EXPORT})`;

const TALLY = `(component
  (import "ex:demo/counter" (instance $c
    (export "counter" (type (sub resource)))
    (export "[constructor]counter" (func (param "start" u32) (result (own 0))))
    (export "[method]counter.add" (func (param "self" (borrow 0)) (param "n" u32) (result u32)))))
  (import "gen:t/num" (instance $n (export "get" ${GET})))
  (alias export $c "counter" (type $r))
  (core func $ctor (canon lower (func $c "[constructor]counter")))
  (core func $add (canon lower (func $c "[method]counter.add")))
  (core func $drop (canon resource.drop $r))
  (core func $num (canon lower (func $n "get")))
  (core instance $ci (export "ctor" (func $ctor)) (export "add" (func $add)) (export "drop" (func $drop)) (export "num" (func $num)))
  (core module $m
    (import "c" "ctor" (func $ctor (param i32) (result i32)))
    (import "c" "add" (func $add (param i32 i32) (result i32)))
    (import "c" "drop" (func $drop (param i32)))
    (import "c" "num" (func $num (result i32)))
    (func (export "get") (result i32)
      (local $h i32) (local $r i32)
      (local.set $h (call $ctor (call $num)))
      (local.set $r (call $add (local.get $h) (i32.const 10)))
      (call $drop (local.get $h))
      (local.get $r)))
  (core instance $i (instantiate $m (with "c" (instance $ci))))
  (func $get (result u32) (canon lift (core func $i "get")))
${NUM_EXPORT})`;

/** Package name (`ns:name`) -> component WAT. */
export const GEN_COMPONENTS: Record<string, string> = {
  "gen:n1": constant("gen:t/num", 1),
  "gen:n2": constant("gen:t/num", 2),
  "gen:n5": constant("gen:t/num", 5),
  "gen:off3": constant("gen:t/offset", 3),
  "gen:off7": constant("gen:t/offset", 7),
  "gen:adder": consumer(["gen:t/num", "gen:t/offset"], "(i32.add (call $g0) (call $g1))", NUM_EXPORT),
  "gen:scale": consumer(["gen:t/num"], "(i32.mul (call $g0) (i32.const 3))", NUM_EXPORT),
  "gen:bridge": consumer(["gen:t/num"], "(call $g0)", `  (export "value" (func $get))`),
  "gen:twice": TWICE,
  "ex:counter": COUNTER_WAT,
  "gen:tally": TALLY,
};

/** Writes every component as `<deps>/<ns>/<name>.wasm` (the layout `--deps-dir` reads). */
export async function writeGenComponents(deps: string): Promise<void> {
  for (const [pkg, wat] of Object.entries(GEN_COMPONENTS)) {
    const [ns, name] = pkg.split(":") as [string, string];
    await mkdir(join(deps, ns), { recursive: true });
    await writeFile(join(deps, ns, `${name}.wasm`), await watToWasm(wat));
  }
}
