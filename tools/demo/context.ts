/**
 * What demo steps share. A step is `{ title, run(ctx) }`; steps run in order (tools/demo/demo.ts
 * lists them) and talk to the user through `ctx.say`, run the CLI through `ctx.cli` and other
 * programs through `ctx.exec` (both print the command and fail the demo on an unexpected exit
 * code), register anything they start with `ctx.onCleanup`, and add lines to the closing summary
 * with `ctx.summary`. The step that runs the featured app sets `ctx.answer`: the demo's last line.
 *
 * To extend the demo, write `tools/demo/steps/<topic>.ts` exporting `DemoStep[]` and add them to
 * the list in demo.ts; read what earlier steps left in `ctx` (target, services, apps).
 */
import type { CliResult } from "../../test/helpers/cli.ts";

/** Where the demo publishes: a real registry, or (when docker-registry is missing) an OCI layout. */
export interface DemoTarget {
  kind: "docker-registry" | "oci-layout";
  /** Human description, e.g. "docker-registry at 127.0.0.1:41234". */
  describe: string;
  /** What `examples/setup.mjs --registry` takes: HOST:PORT, or oci-layout:DIR. */
  setupRegistry: string;
  /** docker-registry only: HOST:PORT, for `--//examples:registry` and skopeo. */
  host?: string;
  /** Reference to push to: host/repo:tag or oci-layout:DIR/repo:tag. */
  pushRef(repo: string, tag: string): string;
  /** Reference to pull by digest. */
  pullRef(repo: string, digest: string): string;
  /** The same image as skopeo names it: docker://host/repo:tag or oci:DIR/repo:tag. */
  skopeoRef(repo: string, tag: string): string;
}

/** A service component published by examples/setup.mjs. */
export interface DemoService {
  name: string;
  reference: string;
  digest: string;
  signed: boolean;
}

/** A composed app the demo built (with Bazel, or with the CLI when Bazel is missing). */
export interface DemoApp {
  /** The Bazel target name, e.g. secure_distributed_app. */
  name: string;
  wasm: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** The command must fail (exit code not 0): a demonstration of a refusal. */
  expectFailure?: boolean;
  timeoutMs?: number;
}

export interface DemoContext {
  workDir: string;
  /** The checkout the demo runs in (examples/, the Bazel workspace). */
  repoRoot: string;
  /** The environment of every command: the demo's own HOME, no credentials of the user's. */
  env: Record<string, string | undefined>;
  target?: DemoTarget;
  services: DemoService[];
  apps: DemoApp[];
  /** How the apps were built, for the summary ("Bazel 4.2.3", "wasm-oci compose"). */
  builtWith?: string;
  say(message: string): void;
  /** Runs `node tools/dist/wasm-oci.mjs ...args`, echoing the command; throws on an unexpected exit. */
  cli(args: string[], opts?: RunOptions): Promise<CliResult>;
  /** Runs another program (never through a shell), echoing the command; throws on an unexpected exit. */
  exec(command: string, args: string[], opts?: RunOptions & { cwd?: string }): Promise<CommandResult>;
  onCleanup(fn: () => Promise<void>): void;
  /** Echoed commands show `path` as `name` from now on (e.g. the long bazel-bin path as bazel-bin). */
  alias(path: string, name: string): void;
  summary(line: string): void;
  /** The featured app's answer line: printed last, after the summary. */
  answer?: string;
}

export interface DemoStep {
  title: string;
  run(ctx: DemoContext): Promise<void>;
}

/** Prints a command line the way a user would type it. */
export function shellLine(command: string, args: string[]): string {
  return [command, ...args].map((a) => (/[\s"'()|;&<>*$]/.test(a) ? `'${a.replaceAll("'", "'\\''")}'` : a)).join(" ");
}
