/**
 * A private containerd (Debian's `containerd` 1.6) for `ctr image import` checks: root, state and
 * the gRPC socket live in a temp dir, and every plugin that would touch the machine (CRI, task
 * runtimes, cgroup monitor, /opt plugin dir, restart manager) is disabled, so only the content
 * store, the metadata store and the image service run.
 *
 *   if (!containerdAvailable()) ... // skip (fails under CI=true)
 *   const c = await startContainerd();
 *   const r = await c.ctr("images", "import", "--no-unpack", "--all-platforms", tar);
 *   await c.stop();
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killGroup, runCommand, spawnTracked, waitFor } from "./processes.ts";

export const CONTAINERD_BIN = "/usr/bin/containerd";
export const CTR_BIN = "/usr/bin/ctr";

const DISABLED = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt",
  "io.containerd.runtime.v1.linux",
  "io.containerd.runtime.v2.task",
  "io.containerd.monitor.v1.cgroups",
  "io.containerd.internal.v1.restart",
  "io.containerd.service.v1.tasks-service",
  "io.containerd.grpc.v1.tasks",
];

/** containerd runs only as root (it owns its content store's file modes and takes flock-ed metadata). */
export function containerdAvailable(): boolean {
  const ok = existsSync(CONTAINERD_BIN) && existsSync(CTR_BIN) && process.getuid?.() === 0;
  if (!ok && process.env["CI"] === "true") throw new Error("containerd/ctr are not installed or not root: apt-get install -y containerd");
  return ok;
}

export interface Containerd {
  dir: string;
  socket: string;
  /** Runs `ctr --address SOCKET -n wasm-oci-test ARGS` (bounded). */
  ctr(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function startContainerd(): Promise<Containerd> {
  const dir = await mkdtemp(join(tmpdir(), "wasm-oci-containerd-"));
  const socket = join(dir, "c.sock");
  const config = [
    "version = 2",
    `root = ${JSON.stringify(join(dir, "root"))}`,
    `state = ${JSON.stringify(join(dir, "state"))}`,
    `disabled_plugins = ${JSON.stringify(DISABLED)}`,
    "[grpc]",
    `  address = ${JSON.stringify(socket)}`,
    "[ttrpc]",
    `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
    "[debug]",
    '  address = ""',
    "[metrics]",
    '  address = ""',
  ].join("\n");
  await writeFile(join(dir, "config.toml"), `${config}\n`);
  const child = spawnTracked(CONTAINERD_BIN, ["--config", join(dir, "config.toml")]);
  let log = "";
  child.stderr?.on("data", (b: Buffer) => (log = (log + b.toString("utf8")).slice(-20_000)));
  child.stdout?.on("data", () => undefined);
  const ctr = (...args: string[]) => runCommand(CTR_BIN, ["--address", socket, "-n", "wasm-oci-test", ...args], { timeoutMs: 30_000 });
  try {
    await waitFor(async () => (await ctr("version")).code === 0, `containerd on ${socket}`, 15_000, 100);
  } catch (e) {
    await killGroup(child);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${log}`);
  }
  return {
    dir,
    socket,
    ctr,
    async stop() {
      await killGroup(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
