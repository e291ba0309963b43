/**
 * What demo steps share. A step is `{ title, run(ctx) }`; steps run in order (tools/demo/demo.ts
 * lists them) and talk to the user through `ctx.say`, run the CLI through `ctx.cli` (which prints
 * the command and fails the demo on a non-zero exit), register anything they start with
 * `ctx.onCleanup`, and add lines to the closing summary with `ctx.summary`.
 *
 * To extend the demo (signing, Bazel, composition), write `tools/demo/steps/<topic>.ts` exporting
 * `DemoStep[]` and add them to the list in demo.ts; read what earlier steps left in `ctx.components`
 * and `ctx.target`.
 */
import type { CliResult } from "../../test/helpers/cli.ts";

/** Where the demo publishes: a real registry, or (when docker-registry is missing) an OCI layout. */
export interface DemoTarget {
  kind: "docker-registry" | "oci-layout";
  /** Human description, e.g. "docker-registry at 127.0.0.1:41234". */
  describe: string;
  /** Reference to push to: host/repo:tag or oci-layout:DIR:tag. */
  pushRef(repo: string, tag: string): string;
  /** Reference to pull by digest. */
  pullRef(repo: string, digest: string): string;
}

export interface DemoComponent {
  name: string;
  /** The built .wasm. */
  path: string;
  bytes: Buffer;
  /** Filled by later steps. */
  layoutDir?: string;
  digest?: string;
  pulledPath?: string;
}

export interface DemoContext {
  workDir: string;
  target?: DemoTarget;
  components: DemoComponent[];
  say(message: string): void;
  /** Runs `node tools/dist/wasm-oci.mjs ...args`, echoing the command; throws on a non-zero exit. */
  cli(args: string[], opts?: { env?: Record<string, string | undefined> }): Promise<CliResult>;
  onCleanup(fn: () => Promise<void>): void;
  summary(line: string): void;
}

export interface DemoStep {
  title: string;
  run(ctx: DemoContext): Promise<void>;
}
