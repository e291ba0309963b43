/**
 * The transpiled component runs in a worker thread, so that what it does cannot reach our
 * process: its stdout and stderr (WASI's, through preview2-shim) arrive as the worker's streams,
 * which the parent sends to its own stderr or a file and never into the result; a core module Node
 * cannot compile rejects inside the worker (with several modules, jco compiles them in parallel
 * and an unobserved rejection would end the process); a WASI `exit` ends only the worker.
 *
 * The worker body is plain JavaScript (it is evaluated, not bundled). It imports the component,
 * finds the export among the candidate names the parent computed, calls it and posts the result
 * back by structured clone, after replacing what cannot cross (resource handles, which are class
 * instances) with a marker the parent prints.
 */
export const RESOURCE_MARK = "\u0000resource";

export const RUN_WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const RESOURCE_MARK = ${JSON.stringify(RESOURCE_MARK)};
let posted = false;
function post(msg) {
  if (posted) return;
  posted = true;
  parentPort.postMessage(msg);
}
function describe(e) {
  return { name: e && e.name ? String(e.name) : "Error", message: e && e.message ? String(e.message) : String(e) };
}
function cloneable(v) {
  if (v === null || typeof v !== "object") return typeof v === "function" ? null : v;
  if (ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return v.map(cloneable);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    const name = v.constructor && v.constructor.name ? v.constructor.name : "resource";
    return { [RESOURCE_MARK]: name };
  }
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = cloneable(x);
  return out;
}
process.on("unhandledRejection", (e) => post({ stage: "instantiate", error: describe(e) }));
(async () => {
  let mod;
  try {
    mod = await import(workerData.url);
  } catch (e) {
    post({ stage: "instantiate", error: describe(e) });
    return;
  }
  const exportsOf = (o) => Object.keys(o).filter((k) => k !== "default");
  let holder = mod;
  if (workerData.instanceCandidates !== null) {
    const key = workerData.instanceCandidates.find((c) => typeof mod[c] === "object" && mod[c] !== null);
    if (key === undefined) {
      post({ stage: "no-instance", available: exportsOf(mod) });
      return;
    }
    holder = mod[key];
  }
  const fname = workerData.funcCandidates.find((c) => typeof holder[c] === "function");
  if (fname === undefined) {
    post({ stage: "no-function", available: Object.keys(holder).filter((k) => typeof holder[k] === "function") });
    return;
  }
  let result;
  try {
    result = await holder[fname](...workerData.args);
  } catch (e) {
    post({ stage: "call", error: describe(e), payload: e && e.payload !== undefined ? cloneable(e.payload) : undefined });
    return;
  }
  post({ stage: "done", result: cloneable(result) });
})();
`;

export type WorkerReply =
  | { stage: "instantiate"; error: { name: string; message: string } }
  | { stage: "no-instance"; available: string[] }
  | { stage: "no-function"; available: string[] }
  | { stage: "call"; error: { name: string; message: string }; payload?: unknown }
  | { stage: "done"; result: unknown };
