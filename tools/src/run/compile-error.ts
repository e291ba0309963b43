/**
 * Names the WebAssembly feature behind a V8 compile error, so that "cannot compile" says what to
 * do. V8's messages name the offending opcode or construct, not the proposal it belongs to.
 */
const FEATURES: Array<{ re: RegExp; feature: string; hint: string }> = [
  {
    re: /not allowed in constant expressions/i,
    feature: "extended-const",
    hint: "Node 22 and later enable it (componentize-qjs output uses it): run wasm-oci with Node 22 or 24",
  },
  { re: /invalid numeric opcode: 0xfc1[3-6]\b/i, feature: "wide-arithmetic", hint: "no Node release enables it yet: test the component with wasmtime" },
  { re: /memory64|i64 index|invalid memory limits flags/i, feature: "memory64", hint: "Node 24 enables it" },
  { re: /return_call|tail call/i, feature: "tail-call", hint: "Node 20 and later enable it" },
  { re: /exception|try_table|\bthrow(_ref)?\b|\btag\b/i, feature: "exception-handling", hint: "newer Node releases enable more of it" },
  { re: /multiple memor|memory index/i, feature: "multi-memory", hint: "Node 22 and later enable it" },
  { re: /struct|array\.new|\bref\.(cast|test)\b|gc/i, feature: "gc", hint: "Node 22 and later enable it" },
  { re: /simd|v128|relaxed/i, feature: "simd", hint: "relaxed-simd is not enabled by default in any Node release" },
  { re: /shared|atomic/i, feature: "threads", hint: "shared memories need Node's worker threads" },
];

export function isCompileError(e: { name: string; message: string }): boolean {
  return e.name === "CompileError" || /^WebAssembly\.(compile|instantiate|Module)\(\)/.test(e.message);
}

/** The feature a compile error points at, with what to do; undefined when the message names none. */
export function featureOf(message: string): { feature: string; hint: string } | undefined {
  const hit = FEATURES.find((f) => f.re.test(message));
  return hit === undefined ? undefined : { feature: hit.feature, hint: hit.hint };
}
