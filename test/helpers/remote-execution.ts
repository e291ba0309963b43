/**
 * A real remote-execution service on loopback for the Bazel remote tests: BuildGrid 0.4.4 (PyPI,
 * installed by `.ci/tools` into the tools cache) serving CAS, ByteStream, the action cache and
 * Execution, its scheduler on a throw-away PostgreSQL (Debian's, the only database BuildGrid's
 * scheduler accepts), and workers (test/helpers/reapi-worker.py) that run each action in a
 * bubblewrap sandbox holding only /usr and /etc (read-only), /proc, /dev, an empty /tmp and the action's input root:
 * no checkout, no node_modules, no home, no network.
 *
 *   const re = await startRemoteExecution({ workers: 2 });
 *   bazel build --remote_executor=re.endpoint --remote_instance_name=re.instance ...
 *   re.storedDirs: everything the service and its workers stored (CAS, logs, execroots)
 */
import { existsSync, realpathSync } from "node:fs";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { ORACLE_BIN } from "./oracles.ts";
import { freePort, killGroup, runCommand, spawnTracked, waitFor } from "./processes.ts";
import { makeTmp } from "./tmp.ts";

const PG_BIN = process.env["WASM_OCI_TEST_PG_BIN"] ?? "/usr/lib/postgresql/15/bin";
const BGD = join(ORACLE_BIN, "bgd");
const WORKER = join(dirname(new URL(import.meta.url).pathname), "reapi-worker.py");

/** Why the service cannot start here, or undefined when everything it needs is installed. */
export function remoteExecutionMissing(): string | undefined {
  const need: Array<[string, string]> = [
    [BGD, "BuildGrid (`pnpm tools`)"],
    [join(PG_BIN, "postgres"), "PostgreSQL (apt-get install postgresql)"],
    ["/usr/bin/bwrap", "bubblewrap (apt-get install bubblewrap)"],
  ];
  const missing = need.filter(([p]) => !existsSync(p)).map(([, what]) => what);
  return missing.length === 0 ? undefined : `remote execution needs ${missing.join(", ")}`;
}

export interface RemoteExecution {
  /** grpc://127.0.0.1:PORT for --remote_executor / --remote_cache. */
  endpoint: string;
  instance: string;
  /** Directories holding everything the service stored: CAS, worker execroots and logs, server log. */
  storedDirs: string[];
  /** The server's and the workers' output so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export async function startRemoteExecution(opts: { workers?: number } = {}): Promise<RemoteExecution> {
  const missing = remoteExecutionMissing();
  if (missing !== undefined) throw new Error(missing);
  const tmp = await makeTmp("remote-exec");
  const children: ChildProcess[] = [];
  let output = "";
  const track = (c: ChildProcess, what: string): ChildProcess => {
    const keep = (b: Buffer): void => {
      output = (output + `[${what}] ${b.toString("utf8")}`).slice(-32 * 1024);
    };
    c.stdout?.on("data", keep);
    c.stderr?.on("data", keep);
    children.push(c);
    return c;
  };
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) await killGroup(c);
    await tmp.cleanup();
  };
  try {
    // PostgreSQL refuses to run as root: as root, the database runs as the `postgres` user.
    const asRoot = process.getuid?.() === 0;
    const pg = (bin: string, args: string[]): [string, string[]] => (asRoot ? ["runuser", ["-u", "postgres", "--", join(PG_BIN, bin), ...args]] : [join(PG_BIN, bin), args]);
    const pgDir = tmp.path("pg");
    await mkdir(pgDir, { recursive: true });
    if (asRoot) {
      // mkdtemp makes the temp dir 0700: the postgres user must be able to reach its data dir.
      await chmod(tmp.dir, 0o711);
      const id = await runCommand("id", ["-u", "postgres"], { timeoutMs: 10_000 });
      const gid = await runCommand("id", ["-g", "postgres"], { timeoutMs: 10_000 });
      await chown(pgDir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
    }
    const [initCmd, initArgs] = pg("initdb", ["-D", join(pgDir, "data"), "-A", "trust", "-U", "bgd", "--no-sync"]);
    const init = await runCommand(initCmd, initArgs, { timeoutMs: 120_000 });
    if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const pgPort = await freePort();
    const [pgCmd, pgArgs] = pg("postgres", ["-D", join(pgDir, "data"), "-k", pgDir, "-h", "127.0.0.1", "-p", String(pgPort), "-c", "fsync=off", "-c", "max_connections=60"]);
    track(spawnTracked(pgCmd, pgArgs, { stdio: ["ignore", "pipe", "pipe"] }), "postgres");
    await waitFor(() => portOpen(pgPort), `postgres on 127.0.0.1:${pgPort}`, 60_000, 100);
    const [cdbCmd, cdbArgs] = pg("createdb", ["-h", "127.0.0.1", "-p", String(pgPort), "-U", "bgd", "bgd"]);
    const cdb = await runCommand(cdbCmd, cdbArgs, { timeoutMs: 60_000 });
    if (cdb.code !== 0) throw new Error(`createdb failed: ${cdb.stderr}`);
    const db = `postgresql+psycopg2://bgd@127.0.0.1:${pgPort}/bgd`;
    const migrate = await runCommand(BGD, ["migrate", "apply", db], { timeoutMs: 120_000 });
    if (migrate.code !== 0) throw new Error(`bgd migrate failed: ${migrate.stderr.slice(-2000)}`);

    const port = await freePort();
    const cas = tmp.path("cas");
    const config = tmp.path("buildgrid.yml");
    await writeFile(
      config,
      [
        "server:",
        "  - !channel",
        `    address: "127.0.0.1:${port}"`,
        "    insecure-mode: true",
        "authorization:",
        "  method: none",
        "connections:",
        "  - !sql-connection &sql",
        `    connection-string: ${db}`,
        "    pool-size: 10",
        "    max-overflow: 10",
        "storages:",
        "  - !disk-storage &storage",
        `    path: ${cas}`,
        "caches:",
        "  - !lru-action-cache &cache",
        "    storage: *storage",
        "    max-cached-refs: 100000",
        "    allow-updates: true",
        "    cache-failed-actions: false",
        "schedulers:",
        "  - !sql-scheduler &scheduler",
        "    sql: *sql",
        "    action-cache: *cache",
        "    storage: *storage",
        "    property-set: !dynamic-property-set",
        "      match-property-keys: []",
        "      wildcard-property-keys: []",
        "    assigners:",
        "      - !priority-age-assigner",
        "        count: 1",
        "        interval: 0.05",
        "        jitter-factor: 0.0",
        "instances:",
        "  - name: main",
        "    services:",
        "      - !action-cache",
        "        cache: *cache",
        "      - !execution",
        "        scheduler: *scheduler",
        "      - !cas",
        "        storage: *storage",
        "      - !bytestream",
        "        storage: *storage",
        "thread-pool-size: 20",
        "",
      ].join("\n"),
    );
    track(spawnTracked(BGD, ["server", "start", config], { stdio: ["ignore", "pipe", "pipe"], cwd: tmp.dir }), "buildgrid");
    await waitFor(() => portOpen(port), `BuildGrid on 127.0.0.1:${port}`, 120_000, 200);
    const python = join(dirname(realpathSync(BGD)), "python");
    const workDir = tmp.path("workers");
    for (let i = 1; i <= (opts.workers ?? 1); i++) {
      track(
        spawnTracked(python, [WORKER, "--server", `127.0.0.1:${port}`, "--instance", "main", "--work-dir", workDir, "--name", `worker-${i}`], { stdio: ["ignore", "pipe", "pipe"], cwd: tmp.dir }),
        `worker-${i}`,
      );
    }
    return { endpoint: `grpc://127.0.0.1:${port}`, instance: "main", storedDirs: [cas, workDir, tmp.path("pg")], logs: () => output, stop };
  } catch (e) {
    await stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${output}`);
  }
}
