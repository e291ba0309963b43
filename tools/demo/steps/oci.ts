/**
 * The OCI part of the demo: start a registry, build two components, package one as an OCI layout
 * with `image`, `push` both, `pull` them back by digest, compare bytes, and call the pulled adder.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { REGISTRY_BIN, registryAvailable, startRegistry } from "../../../test/helpers/registry.ts";
import { interfaceComponent, simpleComponent, writeFixture } from "../../../test/helpers/wasm-fixtures.ts";
import type { DemoStep } from "../context.ts";

const digestOf = (text: string): string => {
  const d = /sha256:[a-f0-9]{64}/.exec(text)?.[0];
  if (d === undefined) throw new Error(`expected a digest in: ${text}`);
  return d;
};

export const ociSteps: DemoStep[] = [
  {
    title: "Start a registry",
    async run(ctx) {
      if (registryAvailable()) {
        const reg = await startRegistry();
        ctx.onCleanup(() => reg.stop());
        ctx.target = {
          kind: "docker-registry",
          describe: `docker-registry (CNCF distribution) at ${reg.url}, storage in ${reg.dataDir}`,
          pushRef: (repo, tag) => `${reg.host}/${repo}:${tag}`,
          pullRef: (repo, digest) => `${reg.host}/${repo}@${digest}`,
        };
      } else {
        const dir = join(ctx.workDir, "registry-layout");
        ctx.say(`${REGISTRY_BIN} is not installed, so this run publishes to an OCI image layout directory instead.`);
        ctx.say("For the real thing: sudo apt-get install -y docker-registry (or run .ci/setup), then pnpm demo again.");
        ctx.target = {
          kind: "oci-layout",
          describe: `OCI image layout at ${dir} (fallback: docker-registry not installed)`,
          // One layout per repository, as a registry keeps tags per repository.
          pushRef: (repo, tag) => `oci-layout:${join(dir, repo)}:${tag}`,
          pullRef: (repo, digest) => `oci-layout:${join(dir, repo)}@${digest}`,
        };
      }
      ctx.say(`publishing to ${ctx.target.describe}`);
      ctx.summary(`target: ${ctx.target.describe}`);
    },
  },
  {
    title: "Build two components (WAT -> wasm with jco)",
    async run(ctx) {
      const built = [
        { name: "adder", bytes: Buffer.from(await simpleComponent()), what: "exports add(a: u32, b: u32) -> u32" },
        { name: "greeter", bytes: Buffer.from(await interfaceComponent()), what: "imports test:demo/host@0.1.0, exports test:demo/greeter@0.1.0" },
      ];
      for (const c of built) {
        const path = await writeFixture(ctx.workDir, `src/${c.name}.wasm`, c.bytes);
        ctx.components.push({ name: c.name, path, bytes: c.bytes });
        ctx.say(`${basename(path)}: ${c.bytes.length} bytes, ${c.what}`);
      }
    },
  },
  {
    title: "Package the greeter as a reproducible OCI image layout (wasm-oci image)",
    async run(ctx) {
      const greeter = ctx.components.find((c) => c.name === "greeter");
      if (greeter === undefined) throw new Error("no greeter component");
      const layoutDir = join(ctx.workDir, "greeter-layout");
      await ctx.cli(["image", greeter.path, "-o", layoutDir, "--tag", "1.0.0", "--annotation", "org.opencontainers.image.source=https://example.invalid/demo"]);
      const index = JSON.parse(await readFile(join(layoutDir, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> };
      const manifestDigest = index.manifests[0]?.digest ?? "";
      const manifest = JSON.parse(await readFile(join(layoutDir, "blobs", ...manifestDigest.split(":")), "utf8")) as { config: { digest: string } };
      const config = JSON.parse(await readFile(join(layoutDir, "blobs", ...manifest.config.digest.split(":")), "utf8")) as {
        os?: string;
        component?: { imports: string[]; exports: string[] };
      };
      greeter.layoutDir = layoutDir;
      ctx.say(`layout manifest ${manifestDigest}`);
      ctx.say(`config: os ${config.os ?? "?"}, imports [${config.component?.imports.join(", ") ?? ""}], exports [${config.component?.exports.join(", ") ?? ""}]`);
    },
  },
  {
    title: "Push (wasm-oci push)",
    async run(ctx) {
      const target = ctx.target;
      if (target === undefined) throw new Error("no target");
      for (const c of ctx.components) {
        // wasm-oci copies layout -> registry; layout -> layout is a plain directory copy, so the
        // fallback pushes the .wasm itself.
        const source = c.layoutDir !== undefined && target.kind === "docker-registry" ? `oci-layout:${c.layoutDir}:1.0.0` : c.path;
        const r = await ctx.cli(["push", source, target.pushRef(`demo/${c.name}`, "1.0.0"), "--tag", "latest"]);
        c.digest = digestOf(r.stdout);
        ctx.say(`${c.name} -> ${c.digest}`);
      }
    },
  },
  {
    title: "Pull back by digest (wasm-oci pull) and compare bytes",
    async run(ctx) {
      const target = ctx.target;
      if (target === undefined) throw new Error("no target");
      for (const c of ctx.components) {
        if (c.digest === undefined) throw new Error(`${c.name} was not pushed`);
        const out = join(ctx.workDir, "pulled", `${c.name}.wasm`);
        const meta = join(ctx.workDir, "pulled", `${c.name}.json`);
        await ctx.cli(["pull", target.pullRef(`demo/${c.name}`, c.digest), "-o", out, "--metadata", meta, "--cache-dir", join(ctx.workDir, "cache")]);
        const pulled = await readFile(out);
        if (!pulled.equals(c.bytes)) throw new Error(`${c.name}: pulled bytes differ from what was pushed`);
        c.pulledPath = out;
        ctx.say(`${c.name}: ${pulled.length} bytes, identical to the original`);
        ctx.summary(`${c.name}: ${c.digest} (${c.bytes.length} bytes, round trip identical)`);
      }
    },
  },
  {
    title: "Call the pulled adder (wasm-oci run, transpiled with jco)",
    async run(ctx) {
      const adder = ctx.components.find((c) => c.name === "adder");
      if (adder?.pulledPath === undefined || !existsSync(adder.pulledPath)) throw new Error("adder was not pulled");
      const r = await ctx.cli(["run", adder.pulledPath, "--invoke", "add(2, 40)", "--expect", "42"]);
      ctx.say(`add(2, 40) = ${r.stdout.trim()}`);
    },
  },
];
