/**
 * `wasm-oci --persistent_worker`: Bazel's persistent worker, JSON protocol (worker/protocol.ts).
 *
 * Requests with request id 0 (singleplex) run one after another; others (multiplex) run as they
 * arrive, each in its own scope (cli/request-scope.ts) so that their output, log level and
 * secrets stay apart. stdout carries responses only: anything a command writes goes into its
 * response's `output`, anything written outside a request goes to stderr (the worker log).
 * wasm-tools stays loaded between requests (util/wasm-tools.ts).
 */
import { encodeResponse, JsonObjectFramer, parseRequest, type WorkRequest, type WorkResponse } from "./protocol.ts";
import { installRequestScopes } from "../cli/request-scope.ts";
import { runRequest } from "./run-request.ts";
import { useWarmWasmTools } from "../util/wasm-tools.ts";

/** The command a request runs (its first argument that is not an option), for the log. */
function commandName(args: readonly string[]): string {
  return args.find((a) => !a.startsWith("-")) ?? "?";
}

/** startupArgs: the worker's own arguments besides --persistent_worker (none are expected). */
export async function runPersistentWorker(startupArgs: readonly string[]): Promise<number> {
  const real = installRequestScopes(true);
  const logLine = (line: string): void => real.stderr(`wasm-oci worker: ${line}\n`);
  if (startupArgs.length > 0) logLine(`ignoring start-up arguments ${JSON.stringify(startupArgs)}: every request carries its own`);
  const host = useWarmWasmTools();
  // A stray rejection of one request must not end the process that serves the others.
  process.on("unhandledRejection", (e) => logLine(`unhandled rejection: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));

  const respond = (r: WorkResponse): void => real.stdout(encodeResponse(r));
  const running = new Set<Promise<void>>();
  const started = new Set<number>();
  let singleplex: Promise<void> = Promise.resolve();

  const serve = async (req: WorkRequest): Promise<void> => {
    started.add(req.requestId);
    const t0 = performance.now();
    let result: { exitCode: number; output: string };
    try {
      result = await runRequest(req.arguments);
    } catch (e) {
      // runRequest reports command failures itself; this is a defect of the worker.
      result = { exitCode: 1, output: `wasm-oci worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n` };
    }
    // One line per request in the worker log (Bazel keeps it under <output_base>/bazel-workers/):
    // `pnpm bench:bazel` reads the in-process time of each action from it.
    const ms = (performance.now() - t0).toFixed(1);
    logLine(`request ${req.requestId} (${commandName(req.arguments)}): exit ${result.exitCode} in ${ms} ms${req.verbosity > 0 ? `: ${JSON.stringify(req.arguments)}` : ""}`);
    started.delete(req.requestId);
    respond({ exitCode: result.exitCode, output: result.output, requestId: req.requestId });
  };

  const track = (p: Promise<void>): void => {
    running.add(p);
    void p.finally(() => running.delete(p));
  };

  const framer = new JsonObjectFramer();
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    let texts: string[];
    try {
      texts = framer.push(chunk);
    } catch (e) {
      logLine(`unreadable request stream, stopping: ${(e as Error).message}`);
      return 1;
    }
    for (const text of texts) {
      let req: WorkRequest;
      try {
        req = parseRequest(text);
      } catch (e) {
        logLine(`unreadable work request, stopping: ${(e as Error).message}: ${text.slice(0, 200)}`);
        return 1;
      }
      if (req.cancel) {
        // Work already started finishes and answers normally, which the protocol allows.
        if (!started.has(req.requestId)) logLine(`cancel of request ${req.requestId}, which is not running: ignored`);
        continue;
      }
      if (req.requestId === 0) {
        singleplex = singleplex.then(() => serve(req));
        track(singleplex);
      } else track(serve(req));
    }
  }
  // stdin closed: Bazel is done with this worker. Answer what is in flight, then leave.
  await Promise.all([...running]);
  await host.close();
  return 0;
}
