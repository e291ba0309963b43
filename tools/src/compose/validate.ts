/**
 * Validation of an encoded composition with wasm-tools (through jco-transpile). A wasm-tools
 * panic leaves jco's instance unusable for every later call in the process, so each
 * validation runs in a short-lived worker thread: a panic kills only that worker. A persistent
 * worker validates on its one warm instance instead (util/wasm-tools.ts), replaced after a panic.
 */
import { Worker } from "node:worker_threads";
import { WasmOciError } from "../util/errors.ts";
import { jcoWasmToolsUrl, warmWasmTools } from "../util/wasm-tools.ts";
import { Reader, Writer } from "../component/binary.ts";
import { chunksLength, concatChunks, type Chunk } from "./chunks.ts";

export class ValidationError extends WasmOciError {
  /** What wasm-tools said. */
  readonly detail: string;
  constructor(detail: string) {
    super("VALIDATION_FAILED", `encoding produced a component that failed validation: ${detail}`);
    this.name = "ValidationError";
    this.detail = detail;
  }
}

// The worker body is plain JavaScript: it imports jco-transpile by the URL the parent resolved
// (util/jco-assets.ts: beside the bundle, or in node_modules when run from sources).
// It starts loading wasm-tools at once and serves one job, so a panic in that job cannot reach
// a later one.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ready = import(workerData.url);
ready.catch(() => undefined);
parentPort.once("message", async (job) => {
  try {
    const tools = await ready;
    const wit = await tools[job.op](job.bytes);
    parentPort.postMessage({ ok: true, result: typeof wit === "string" ? wit : null });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: e && e.message ? String(e.message) : String(e) });
  }
});
`;

function spawnValidator(): Worker {
  return new Worker(WORKER_SOURCE, { eval: true, workerData: { url: jcoWasmToolsUrl() } });
}

/** A worker started ahead of its job by prestartValidator(), not yet given one. */
let prestarted: Worker | undefined;

/**
 * Starts the validation worker now, so starting a thread and loading wasm-tools (~150 ms)
 * overlap reading and encoding the composition on the main thread; the next runIsolated() call uses it. The worker
 * does not keep the process alive until it has a job, so a command that fails earlier exits.
 */
export function prestartValidator(): void {
  const host = warmWasmTools();
  if (host !== undefined) {
    // The worker's instance: loading it (first compose only) overlaps reading and encoding too.
    host.warm();
    return;
  }
  if (prestarted !== undefined) return;
  const worker = spawnValidator();
  worker.unref();
  // An error before the job (jco missing) is reported to the job; until then nothing listens.
  worker.on("error", () => undefined);
  prestarted = worker;
}

/** Runs one jco wasm-tools call (`componentWit`, `print`...) on `bytes` in a worker. */
export function runIsolated(op: "componentWit" | "print", bytes: Uint8Array, timeoutMs = 120_000): Promise<string> {
  const host = warmWasmTools();
  if (host !== undefined) {
    return host.call(op, [bytes], timeoutMs).then(
      (r) => (typeof r === "string" ? r : ""),
      (e: Error) => {
        throw new ValidationError(e.message);
      },
    );
  }
  return new Promise((resolve, reject) => {
    let worker = prestarted;
    prestarted = undefined;
    // A prestarted worker that already died (its import failed) cannot report: start afresh.
    if (worker !== undefined && worker.threadId === -1) worker = undefined;
    worker ??= spawnValidator();
    worker.ref();
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(new ValidationError(`wasm-tools did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.once("message", (m: { ok: boolean; result?: string | null; message?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (m.ok) resolve(m.result ?? "");
      else reject(new ValidationError(m.message ?? "unknown error"));
    });
    worker.once("error", (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new ValidationError(e.message));
    });
    worker.once("exit", (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new ValidationError(`wasm-tools worker exited with code ${code}`));
    });
    worker.postMessage({ op, bytes });
  });
}

/** Validates a component (throws ValidationError). */
export async function validateComponent(bytes: Uint8Array): Promise<void> {
  // Custom sections (names, producers, padding, embedded metadata) cannot make a component
  // invalid; dropping them first keeps validation of large compositions cheap.
  await validateChunks([stripCustomSections(bytes)]);
}

/**
 * Validates the component made of `pieces` (concatenated) exactly as `wasm-tools validate`
 * does, with jco's wasm-tools. jco offers no bare validator, only `componentWit`, which runs
 * the full validator and then reads the component's WIT; that reading rejects or panics on
 * valid components that export types, interfaces or worlds. So the component is given nested
 * in an outer component that has no imports or exports: the validator checks the nested one
 * completely, and the outer one always has a WIT reading (an empty world).
 */
export async function validateChunks(chunks: readonly Chunk[]): Promise<void> {
  const header = new Writer(16).raw(COMPONENT_PREAMBLE).byte(COMPONENT_SECTION).u32(chunksLength(chunks)).bytes();
  const wrapped = concatChunks([header, ...chunks]);
  try {
    await runIsolated("componentWit", wrapped);
  } catch (e) {
    // Offsets in wasm-tools messages are into the wrapper: report them into the component.
    if (e instanceof ValidationError) throw new ValidationError(shiftOffsets(e.detail, header.length));
    throw e;
  }
}

const COMPONENT_PREAMBLE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
const COMPONENT_SECTION = 4;

function shiftOffsets(message: string, by: number): string {
  return message
    .replace(/^Failed to decode wit component\n/, "")
    .replace(/\(at offset 0x([0-9a-f]+)\)/g, (all, hex: string) => {
      const n = parseInt(hex, 16) - by;
      return n >= 0 ? `(at offset 0x${n.toString(16)})` : all;
    });
}

/**
 * A copy of a component (or core module) without custom sections, recursively through nested
 * components and core modules. Malformed input is returned unchanged for the validator to reject.
 */
export function stripCustomSections(bytes: Uint8Array): Uint8Array {
  try {
    const parts: Uint8Array[] = [];
    strip(bytes, 0, bytes.length, parts);
    let total = 0;
    for (const p of parts) total += p.length;
    if (total === bytes.length) return bytes;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  } catch {
    return bytes;
  }
}

function strip(bytes: Uint8Array, start: number, end: number, parts: Uint8Array[]): void {
  const r = new Reader(bytes, start, end);
  const preamble = r.bytesN(8);
  const component = preamble[4] === 0x0d;
  parts.push(preamble);
  while (!r.done) {
    const secStart = r.pos;
    const id = r.u8();
    const size = r.u32();
    const body = r.pos;
    r.pos += size;
    if (r.pos > end) throw new Error("truncated");
    if (id === 0) continue;
    if (component && (id === 1 || id === 4)) {
      const inner: Uint8Array[] = [];
      strip(bytes, body, body + size, inner);
      let len = 0;
      for (const p of inner) len += p.length;
      parts.push(new Writer(8).byte(id).u32(len).bytes(), ...inner);
    } else {
      parts.push(bytes.subarray(secStart, body + size));
    }
  }
}

