/**
 * The one way the CLI reaches wasm-tools (jco-transpile's wasm build of it).
 *
 * A one-shot command loads it in its own thread on first use, as it always did. A persistent
 * worker instead keeps one warm instance in a worker thread for all its requests (loading it
 * costs ~150 ms, more than most actions' work) and replaces it after any failure that is not an
 * ordinary wasm-tools error (a panic traps, and jco's instance is unusable afterwards): a request
 * that panics cannot change what a later request gets. Jobs run one at a time on that thread, so a
 * panic never takes a queued job of another request with it.
 */
import { Worker } from "node:worker_threads";
import { wasmToolsUrl } from "./jco-assets.ts";

export type WasmToolsModule = typeof import("@bytecodealliance/jco-transpile/wasm-tools");
export type WasmToolsOp = "parse" | "print" | "componentWit" | "componentNew" | "componentEmbed";
export type WasmTools = Pick<WasmToolsModule, WasmToolsOp>;

/**
 * Test hook, read once per process: when WASM_OCI_TEST_WASM_TOOLS_ABORT is set and a call's text
 * argument contains its value, that call makes wasm-tools abort for real (an allocation it cannot
 * satisfy traps with `unreachable`), the way a panic does. The worker equivalence test uses it to
 * put a panicking request between others; nothing else sets it.
 */
const ABORT_MARK = process.env["WASM_OCI_TEST_WASM_TOOLS_ABORT"];

/** URL of jco-transpile's wasm-tools module: beside the bundle, or in node_modules from sources. */
export function jcoWasmToolsUrl(): string {
  return wasmToolsUrl();
}

// Plain JavaScript, run with `eval`: jco is not part of the bundle's code (it loads its wasm files
// relative to itself), so the parent resolves its URL.
const HOST_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ready = import(workerData.url);
ready.catch(() => undefined);
parentPort.on("message", async (job) => {
  try {
    const tools = await ready;
    const mark = workerData.abortMark;
    if (typeof mark === "string" && typeof job.args[0] === "string" && job.args[0].includes(mark)) await tools.print(new Uint8Array(2 ** 32 - 16));
    const result = await tools[job.op](...job.args);
    parentPort.postMessage({ ok: true, result });
  } catch (e) {
    const ordinary = e !== null && typeof e === "object" && e.constructor !== undefined && e.constructor.name === "ComponentError";
    parentPort.postMessage({ ok: false, ordinary, message: e && e.message !== undefined ? String(e.message) : String(e) });
  }
});
`;

type HostReply = { ok: true; result: unknown } | { ok: false; ordinary: boolean; message: string };

interface Job {
  readonly op: WasmToolsOp;
  readonly args: readonly unknown[];
  readonly timeoutMs: number;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

/** Raised for a call that did not finish: the host thread died, or the call timed out. */
export class WasmToolsHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WasmToolsHostError";
  }
}

/** One warm wasm-tools instance on a worker thread, serving jobs in order. */
export class WarmWasmToolsHost {
  private worker: Worker | undefined;
  private readonly queue: Job[] = [];
  private busy = false;
  /** How many instances were started (the first included): tests read it. */
  started = 0;

  private spawn(): Worker {
    this.started++;
    const w = new Worker(HOST_SOURCE, { eval: true, workerData: { url: jcoWasmToolsUrl(), abortMark: ABORT_MARK } });
    w.unref();
    // Failures are reported to the job in flight (below); without one nothing needs to know.
    w.on("error", () => undefined);
    return w;
  }

  /**
   * Starts the instance now, so that the first job does not wait for it to load. When it cannot
   * start (jco-transpile not installed), the first job that needs it reports why.
   */
  warm(): void {
    try {
      this.worker ??= this.spawn();
    } catch {
      // Reported by next(), which spawns again for its job.
    }
  }

  /** Drops the instance (after a panic or a timeout) and starts the next one at once. */
  private replace(): void {
    const old = this.worker;
    this.worker = undefined;
    if (old !== undefined) void old.terminate();
    this.warm();
  }

  call(op: WasmToolsOp, args: readonly unknown[], timeoutMs = 120_000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, args, timeoutMs, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.busy) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    let worker: Worker;
    try {
      worker = this.worker ??= this.spawn();
    } catch (e) {
      job.reject(new WasmToolsHostError(`cannot start wasm-tools: ${(e as Error).message}`));
      this.next();
      return;
    }
    this.busy = true;
    worker.ref();
    let settled = false;
    const finish = (outcome: () => void, healthy: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
      worker.unref();
      if (!healthy) this.replace();
      this.busy = false;
      outcome();
      this.next();
    };
    const onMessage = (m: HostReply): void => {
      if (m.ok) finish(() => job.resolve(m.result), true);
      else finish(() => job.reject(new Error(m.message)), m.ordinary);
    };
    const onError = (e: Error): void => finish(() => job.reject(new WasmToolsHostError(e.message)), false);
    const onExit = (code: number): void => finish(() => job.reject(new WasmToolsHostError(`wasm-tools worker exited with code ${code}`)), false);
    const timer = setTimeout(() => finish(() => job.reject(new WasmToolsHostError(`wasm-tools did not answer within ${job.timeoutMs} ms`)), false), job.timeoutMs);
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage({ op: job.op, args: job.args });
  }

  /** Ends the instance (a worker shutting down). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}

let warmHost: WarmWasmToolsHost | undefined;

/**
 * Called once by the persistent worker: from now on every call goes to one instance, started on
 * first use (or by warmWasmToolsNow) and kept warm. Not started up front: a worker serves one
 * mnemonic, and most (sign, verify, keygen, image, policy) never need wasm-tools.
 */
export function useWarmWasmTools(): WarmWasmToolsHost {
  warmHost ??= new WarmWasmToolsHost();
  return warmHost;
}

/** The warm instance when running as a persistent worker, else undefined. */
export function warmWasmTools(): WarmWasmToolsHost | undefined {
  return warmHost;
}

let inProcess: Promise<WasmTools> | undefined;

async function loadInProcess(): Promise<WasmTools> {
  const tools = await import("@bytecodealliance/jco-transpile/wasm-tools");
  if (ABORT_MARK === undefined) return tools;
  // The same test hook as the host thread's, so a one-shot run fails the same way.
  const hooked = (op: WasmToolsOp) =>
    async (...args: unknown[]): Promise<unknown> => {
      if (typeof args[0] === "string" && args[0].includes(ABORT_MARK)) await tools.print(new Uint8Array(2 ** 32 - 16));
      return (tools[op] as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  return {
    parse: hooked("parse"),
    print: hooked("print"),
    componentWit: hooked("componentWit"),
    componentNew: hooked("componentNew"),
    componentEmbed: hooked("componentEmbed"),
  } as WasmTools;
}

function viaHost(host: WarmWasmToolsHost): WasmTools {
  const op = (name: WasmToolsOp) => (...args: unknown[]) => host.call(name, args);
  return {
    parse: op("parse"),
    print: op("print"),
    componentWit: op("componentWit"),
    componentNew: op("componentNew"),
    componentEmbed: op("componentEmbed"),
  } as WasmTools;
}

/** wasm-tools: the worker's warm instance, else this process's own (loaded on first use). */
export function wasmTools(): Promise<WasmTools> {
  if (warmHost !== undefined) return Promise.resolve(viaHost(warmHost));
  inProcess ??= loadInProcess();
  return inProcess;
}
