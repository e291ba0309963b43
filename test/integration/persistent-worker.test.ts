/**
 * The persistent worker against the one-process-per-action CLI: the same requests (that fail,
 * that make wasm-tools abort, that succeed; verbose and quiet; with action options) run once as
 * separate processes (`node wasm-oci.mjs @params`), once through one singleplex worker and once
 * all at the same time through one multiplex worker. Every exit code, every output text and every
 * file written must be the same: nothing one request does may show in another's results.
 */
import { createHash } from "node:crypto";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_NODE, CLI_PATH, cliBuilt, runCli } from "../helpers/cli.ts";
import { killGroup, spawnTracked } from "../helpers/processes.ts";
import { listFiles, makeTmp, type Tmp } from "../helpers/tmp.ts";
import { COUNTER_WAT, FRONTEND_WAT, MATH_WAT } from "../helpers/wasm-fixtures.ts";

const ABORT_MARK = "WASM-TOOLS-ABORT-TEST";
const ENV = { WASM_OCI_LOG: "warn", SOURCE_DATE_EPOCH: "0", TZ: "UTC", WASM_OCI_TEST_WASM_TOOLS_ABORT: ABORT_MARK };

const APP_WAC = `package test:app;
let math = new test:math {};
let frontend = new test:frontend { "test:math/ops": math["test:math/ops"] };
export frontend.compute;
`;
const CORE_WAT = `(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 64)
  (func (export "t:p/nums#twice") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))`;
const WIT = "package t:p;\n\ninterface nums {\n  twice: func(x: u32) -> u32;\n}\n\nworld w {\n  export nums;\n}\n";

const deps = ["--dep", "test:math=math.wat", "--dep", "test:frontend=frontend.wat"];

/** Independent requests: each reads only the prepared inputs and writes only its own outputs. */
const REQUESTS: readonly (readonly string[])[] = [
  ["compose", "app.wac", ...deps, "-o", "out/app.wasm", "--json"],
  ["compose", "bad.wac", ...deps, "-o", "out/bad.wasm"],
  ["component", "new", "--wat", "abort.wat", "--wit", "w.wit", "--world", "w", "-o", "out/abort.wasm"],
  ["component", "new", "--wat", "core.wat", "--wit", "w.wit", "--world", "w", "-o", "out/core.wasm", "--json", "--print-wit"],
  ["-v", "compose", "app.wac", ...deps, "-o", "out/app-verbose.wasm"],
  ["compose", "counter.wac", "--dep", "test:counter=counter.wat", "-o", "out/counter.wat", "-t"],
  ["compose", "app.wac", ...deps, "-o", "out/app-again.wasm", "--json"],
  ["sign", "-i", "app.wasm", "-o", "out/app.signed.wasm", "-k", "sk", "-K", "pk", "--json"],
  ["sign", "-i", "app.wasm", "-o", "out/app.detached.wasm", "-k", "sk", "-S", "out/app.sig"],
  ["--stdout-file", "out/verify.txt", "--copy-on-success", "signed.wasm", "out/verified.wasm", "verify", "-i", "signed.wasm", "-K", "pk"],
  // Trailing action options: how the Bazel rules pass them.
  ["verify", "-i", "signed.wasm", "-K", "other.pk", "--stdout-file", "out/verify-bad.txt", "--copy-on-success", "signed.wasm", "out/verified-bad.wasm"],
  ["verify", "-i", "app.wasm", "-K", "pk", "--json"],
  ["image", "signed.wasm", "-o", "out/layout", "--tar", "out/image.tar", "-t", "1.0.0", "--json"],
  ["plug", "frontend.wasm", "--plug", "math.wasm", "-o", "out/plugged.wasm"],
  ["policy", "validate", "missing-policy.json"],
  // A verdict recorded, allow (0) and deny (1), both successful actions; a usage error is not.
  ["policy", "check", "--policy", "policy.json", "-i", "signed.wasm", "--component", "app", "--json", "--stdout-file", "out/allow.json", "--exit-code-file", "out/allow.code"],
  ["policy", "check", "--policy", "policy.json", "-i", "app.wasm", "--component", "app", "--json", "--stdout-file", "out/deny.json", "--exit-code-file", "out/deny.code"],
  ["policy", "check", "--policy", "missing.json", "-i", "app.wasm", "--component", "app", "--stdout-file", "out/bad.json", "--exit-code-file", "out/bad.code"],
  ["no-such-command"],
  ["sign", "-i", "missing.wasm", "-o", "out/x.wasm", "-k", "sk"],
];

interface Outcome {
  exitCode: number;
  /** Output lines, sorted: stdout and stderr are one stream in a response, two for a process. */
  lines: string[];
}

function linesOf(text: string): string[] {
  return text.split("\n").filter((l) => l !== "").sort();
}

async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await listFiles(dir)) out[f] = createHash("sha256").update(await readFile(join(dir, f))).digest("hex");
  return out;
}

/** A worker process and the responses it wrote, by request id. */
function startWorker(cwd: string): { send(req: object): void; response(id: number): Promise<{ exitCode?: number; output?: string; requestId?: number }>; close(): Promise<number> } {
  const child = spawnTracked(CLI_NODE, [CLI_PATH, "--persistent_worker"], { cwd, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...ENV } });
  const waiting = new Map<number, (r: { exitCode?: number; output?: string; requestId?: number }) => void>();
  const arrived = new Map<number, { exitCode?: number; output?: string; requestId?: number }[]>();
  let buf = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => {
    buf += s;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const r = JSON.parse(buf.slice(0, nl)) as { requestId?: number };
      buf = buf.slice(nl + 1);
      const id = r.requestId ?? 0;
      const w = waiting.get(id);
      if (w !== undefined) {
        waiting.delete(id);
        w(r);
      } else arrived.set(id, [...(arrived.get(id) ?? []), r]);
    }
  });
  child.stderr!.resume();
  return {
    send: (req) => child.stdin!.write(JSON.stringify(req)),
    response: (id) =>
      new Promise((resolve) => {
        const early = arrived.get(id);
        if (early !== undefined && early.length > 0) resolve(early.shift()!);
        else waiting.set(id, resolve);
      }),
    close: async () => {
      child.stdin!.end();
      const code = await new Promise<number>((resolve) => child.once("close", (c) => resolve(c ?? 1)));
      await killGroup(child, 100).catch(() => undefined);
      return code;
    },
  };
}

describe.skipIf(!cliBuilt())("persistent worker: same results as one process per action", () => {
  let tmp: Tmp;
  const oneShot: Outcome[] = [];

  beforeAll(async () => {
    tmp = await makeTmp("worker-equivalence");
    const inputs = tmp.path("inputs");
    await mkdir(inputs, { recursive: true });
    const files: Record<string, string> = {
      "math.wat": MATH_WAT,
      "frontend.wat": FRONTEND_WAT,
      "app.wac": APP_WAC,
      "bad.wac": "package test:bad;\nlet x = new test:math { ;\n",
      "counter.wat": COUNTER_WAT,
      "counter.wac": "package test:c;\nlet c = new test:counter {};\nexport c...;\n",
      "core.wat": CORE_WAT,
      "abort.wat": `${CORE_WAT}\n;; ${ABORT_MARK}\n`,
      "w.wit": WIT,
      "policy.json": JSON.stringify({ default_signing_required: true, keys: { k: { public_key: "pk" } } }),
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(inputs, name), text);
    const prep = async (args: string[]): Promise<void> => {
      const r = await runCli(args, { cwd: inputs, env: ENV });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    };
    await prep(["keygen", "-k", "sk", "-K", "pk"]);
    await prep(["keygen", "-k", "other.sk", "-K", "other.pk"]);
    await prep(["compose", "app.wac", ...deps, "-o", "app.wasm"]);
    await prep(["sign", "-i", "app.wasm", "-o", "signed.wasm", "-k", "sk"]);
    await writeFile(join(inputs, "m.wac"), "package test:m;\nlet m = new test:math {};\nexport m...;\n");
    await prep(["compose", "m.wac", "--dep", "test:math=math.wat", "-o", "math.wasm"]);
    await writeFile(join(inputs, "f.wac"), "package test:f;\nlet f = new test:frontend { ... };\nexport f...;\n");
    await prep(["compose", "f.wac", "--dep", "test:frontend=frontend.wat", "-o", "frontend.wasm"]);
    for (const d of ["oneshot", "single", "multi"]) await cp(inputs, tmp.path(d), { recursive: true });

    // One process per action, arguments in a param file as Bazel passes them; two at a time (the
    // requests are independent), as Bazel would run them on two cores.
    const results: Outcome[] = [];
    let next = 0;
    const runOne = async (): Promise<void> => {
      for (let i = next++; i < REQUESTS.length; i = next++) {
        await writeFile(tmp.path(`params-${i}`), `${REQUESTS[i]!.join("\n")}\n`);
        const r = await runCli([`@${tmp.path(`params-${i}`)}`], { cwd: tmp.path("oneshot"), env: ENV, timeoutMs: 120_000 });
        results[i] = { exitCode: r.code, lines: linesOf(r.stdout + r.stderr) };
      }
    };
    await Promise.all([runOne(), runOne()]);
    oneShot.push(...results);
  }, 300_000);

  afterAll(async () => {
    await tmp?.cleanup();
  });

  it("the requests cover failures, a wasm-tools abort and successes", () => {
    const codes = oneShot.map((o) => o.exitCode);
    expect(codes.filter((c) => c === 0).length).toBeGreaterThanOrEqual(9);
    expect(codes.filter((c) => c !== 0).length).toBeGreaterThanOrEqual(5);
    // policy check: the deny is recorded and the action succeeds; a missing policy fails it.
    const at = (args: readonly string[]): Outcome => oneShot[REQUESTS.indexOf(args)]!;
    expect(REQUESTS.filter((r) => r[0] === "policy" && r[1] === "check").map((r) => at(r).exitCode)).toEqual([0, 0, 2]);
    // The abort request fails inside wasm-tools (a trap), not in our code.
    expect(oneShot[2]!.exitCode).not.toBe(0);
    expect(oneShot[2]!.lines.join("\n")).toMatch(/unreachable/);
    // The verbose request logs at info level; the quiet one after it does not.
    expect(oneShot[4]!.lines.some((l) => l.startsWith("composed app.wac -> out/app-verbose.wasm"))).toBe(true);
    expect(oneShot[6]!.lines.some((l) => l.startsWith("composed"))).toBe(false);
  });

  it("--exit-code-file records allow (0) and deny (1)", async () => {
    expect(await readFile(tmp.path("oneshot", "out", "allow.code"), "utf8")).toBe("0\n");
    expect(await readFile(tmp.path("oneshot", "out", "deny.code"), "utf8")).toBe("1\n");
    expect(JSON.parse(await readFile(tmp.path("oneshot", "out", "deny.json"), "utf8"))).toMatchObject({ allow: false });
  });

  it("singleplex: one worker, requests one after another", async () => {
    const w = startWorker(tmp.path("single"));
    const got: Outcome[] = [];
    for (const args of REQUESTS) {
      w.send({ arguments: args });
      const r = await w.response(0);
      got.push({ exitCode: r.exitCode ?? 0, lines: linesOf(r.output ?? "") });
    }
    expect(await w.close()).toBe(0);
    expect(got).toEqual(oneShot);
    expect(await tree(tmp.path("single"))).toEqual(await tree(tmp.path("oneshot")));
  }, 180_000);

  it("multiplex: one worker, all requests at once", async () => {
    const w = startWorker(tmp.path("multi"));
    // Bazel 4.x sends pretty-printed requests without separators; send some that way.
    REQUESTS.forEach((args, i) => w.send(i % 2 === 0 ? { arguments: args, requestId: i + 1 } : JSON.parse(JSON.stringify({ requestId: i + 1, arguments: args, inputs: [{ path: "x", digest: "AA==" }] }))));
    const got = await Promise.all(REQUESTS.map(async (_, i) => {
      const r = await w.response(i + 1);
      return { exitCode: r.exitCode ?? 0, lines: linesOf(r.output ?? "") };
    }));
    expect(await w.close()).toBe(0);
    expect(got).toEqual(oneShot);
    expect(await tree(tmp.path("multi"))).toEqual(await tree(tmp.path("oneshot")));
  }, 180_000);
});
