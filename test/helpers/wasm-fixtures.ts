/**
 * Small, real WebAssembly inputs for tests, benchmarks and the demo, made from WAT text with
 * jco's `parse` (wasm-tools compiled to wasm; `@bytecodealliance/jco-transpile/wasm-tools`).
 *
 *   await coreModule()              // a core module (preamble version 1): exports "add"
 *   await simpleComponent()         // a component exporting func "add"
 *   await interfaceComponent()      // imports test:demo/host@0.1.0, exports test:demo/greeter@0.1.0
 *                                   // and func "version" (see INTERFACE_COMPONENT_*)
 *   await paddedComponent(100)      // interfaceComponent plus a custom section: exactly N MiB
 *   await writeFixture(dir, "x.wasm", bytes)
 *
 * `paddedComponent` fills its custom section with a deterministic pseudo-random stream (AES-CTR
 * of a seed), so the bytes do not compress and the same seed gives the same digest.
 */
import { createCipheriv, createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

type WasmTools = typeof import("@bytecodealliance/jco-transpile/wasm-tools");
let tools: Promise<WasmTools> | undefined;
function wasmTools(): Promise<WasmTools> {
  tools ??= import("@bytecodealliance/jco-transpile/wasm-tools");
  return tools;
}

/** Parses WAT (module or component) into binary with jco. */
export async function watToWasm(wat: string): Promise<Uint8Array> {
  return (await wasmTools()).parse(wat);
}

export const CORE_MODULE_WAT = `(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))`;

export const SIMPLE_COMPONENT_WAT = `(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (export "add" (func $add)))`;

export const INTERFACE_COMPONENT_IMPORTS = ["test:demo/host@0.1.0"] as const;
export const INTERFACE_COMPONENT_EXPORTS = ["test:demo/greeter@0.1.0", "version"] as const;

export const INTERFACE_COMPONENT_WAT = `(component
  (import "test:demo/host@0.1.0" (instance $host (export "log" (func (param "n" u32)))))
  (core module $m
    (import "host" "log" (func $log (param i32)))
    (func (export "run") (param i32) (result i32) local.get 0 call $log local.get 0 i32.const 1 i32.add))
  (core func $log (canon lower (func $host "log")))
  (core instance $hi (export "log" (func $log)))
  (core instance $i (instantiate $m (with "host" (instance $hi))))
  (func $run (param "n" u32) (result u32) (canon lift (core func $i "run")))
  (instance $greeter (export "run" (func $run)))
  (export "test:demo/greeter@0.1.0" (instance $greeter))
  (export "version" (func $run)))`;

/** Exports interface ex:demo/counter with resource counter { constructor(start: u32); add: func(n: u32) -> u32 }. */
export const COUNTER_WAT = `(component
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core instance $ri (export "new" (func $new)))
  (core module $m
    (import "r" "new" (func $new (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 16))
    (func (export "ctor") (param $start i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $next))
      (global.set $next (i32.add (global.get $next) (i32.const 4)))
      (i32.store (local.get $p) (local.get $start))
      (call $new (local.get $p)))
    (func (export "add") (param $self i32) (param $n i32) (result i32)
      (i32.store (local.get $self) (i32.add (i32.load (local.get $self)) (local.get $n)))
      (i32.load (local.get $self))))
  (core instance $i (instantiate $m (with "r" (instance $ri))))
  (func $ctor (param "start" u32) (result (own $r)) (canon lift (core func $i "ctor")))
  (func $add (param "self" (borrow $r)) (param "n" u32) (result u32) (canon lift (core func $i "add")))
  (component $shim
    (import "r" (type $r (sub resource)))
    (import "ctor" (func $ctor (param "start" u32) (result (own $r))))
    (import "add" (func $add (param "self" (borrow $r)) (param "n" u32) (result u32)))
    (export $rx "counter" (type $r))
    (export "[constructor]counter" (func $ctor) (func (param "start" u32) (result (own $rx))))
    (export "[method]counter.add" (func $add) (func (param "self" (borrow $rx)) (param "n" u32) (result u32))))
  (instance $inst (instantiate $shim (with "r" (type $r)) (with "ctor" (func $ctor)) (with "add" (func $add))))
  (export "ex:demo/counter" (instance $inst))
)`;

export async function coreModule(): Promise<Uint8Array> {
  return watToWasm(CORE_MODULE_WAT);
}

export async function simpleComponent(): Promise<Uint8Array> {
  return watToWasm(SIMPLE_COMPONENT_WAT);
}

export async function interfaceComponent(): Promise<Uint8Array> {
  return watToWasm(INTERFACE_COMPONENT_WAT);
}

function leb128(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Deterministic incompressible bytes: AES-256-CTR keystream keyed by the seed. */
export function pseudoRandomBytes(size: number, seed = "wasm-oci"): Buffer {
  const key = createHash("sha256").update(seed).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/**
 * A valid component of exactly `mib` MiB: `interfaceComponent()` followed by one custom section
 * (allowed anywhere in a component) named "padding". Different seeds give different digests.
 */
export async function paddedComponent(mib: number, seed = `padded-${mib}`): Promise<Buffer> {
  const base = Buffer.from(await interfaceComponent());
  const target = Math.round(mib * 1024 * 1024);
  const name = Buffer.from("padding");
  // Section = 0x00, size(LEB), nameLen(LEB), name, payload. The size field's own length depends
  // on the payload length, so settle it in two passes.
  let payloadLen = target - base.length - 1 - 1 - name.length - 5;
  for (let i = 0; i < 3; i++) {
    const content = 1 + name.length + payloadLen;
    const total = base.length + 1 + leb128(content).length + content;
    payloadLen += target - total;
  }
  if (payloadLen < 0) throw new Error(`paddedComponent: ${mib} MiB is smaller than the base component`);
  const body = Buffer.concat([Buffer.from(leb128(name.length)), name, pseudoRandomBytes(payloadLen, seed)]);
  const out = Buffer.concat([base, Buffer.from([0x00]), Buffer.from(leb128(body.length)), body]);
  if (out.length !== target) throw new Error(`paddedComponent: size ${out.length} != ${target}`);
  return out;
}

export async function writeFixture(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return path;
}

// Two components the Bazel and worker tests wire together. The service exports test:math/ops with add(a, b).
export const MATH_WAT = `(component
  (core module $m (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (instance $ops (export "add" (func $add)))
  (export "test:math/ops" (instance $ops))
)`;

// The local frontend: imports test:math/ops, exports compute(x) = add(x, 10).
export const FRONTEND_WAT = `(component
  (import "test:math/ops" (instance $ops (export "add" (func (param "a" u32) (param "b" u32) (result u32)))))
  (alias export $ops "add" (func $add))
  (core func $add_low (canon lower (func $add)))
  (core module $m
    (import "ops" "add" (func $add (param i32 i32) (result i32)))
    (func (export "compute") (param i32) (result i32) local.get 0 i32.const 10 call $add))
  (core instance $imports (export "add" (func $add_low)))
  (core instance $i (instantiate $m (with "ops" (instance $imports))))
  (func $compute (param "x" u32) (result u32) (canon lift (core func $i "compute")))
  (export "compute" (func $compute))
)`;

