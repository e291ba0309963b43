/**
 * Run the composed apps with the invocations of their `wasm_component_test`s (read from the
 * package's BUILD.bazel), then publish the featured one, secure_distributed_app (signed services,
 * verified, policy-checked), to the registry and inspect what arrived.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { componentTests } from "../component-tests.ts";
import type { DemoApp, DemoContext, DemoStep } from "../context.ts";

/** The app whose answer ends the demo: the signed, verified composition when it was built. */
export const FEATURED = ["secure_distributed_app", "app_development"];

function featured(ctx: DemoContext): DemoApp {
  for (const name of FEATURED) {
    const app = ctx.apps.find((a) => a.name === name);
    if (app !== undefined) return app;
  }
  throw new Error(`none of ${FEATURED.join(", ")} was built`);
}

const digestOf = (text: string): string => {
  const d = /sha256:[a-f0-9]{64}/.exec(text)?.[0];
  if (d === undefined) throw new Error(`expected a digest in: ${text}`);
  return d;
};

export const appSteps: DemoStep[] = [
  {
    title: "Run the composed apps (wasm-oci run, the invocations of their wasm_component_tests)",
    async run(ctx) {
      const tests = componentTests(await readFile(join(ctx.repoRoot, "examples", "wac_oci_composition", "BUILD.bazel"), "utf8"));
      const main = featured(ctx);
      // The featured app last, so its answer is the step's last line too.
      const ordered = [...tests.filter((t) => t.component !== main.name), ...tests.filter((t) => t.component === main.name)];
      let ran = 0;
      for (const t of ordered) {
        const app = ctx.apps.find((a) => a.name === t.component);
        if (app === undefined) continue;
        const r = await ctx.cli(["run", app.wasm, "--invoke", t.invoke, "--expect", t.expect]);
        const answer = r.stdout.trim();
        ctx.say(`${t.component}: ${t.invoke} = ${answer}`);
        ran++;
        if (t.component === main.name && ctx.answer === undefined) ctx.answer = `${main.name}: ${t.invoke} = ${answer}`;
      }
      if (ctx.answer === undefined) throw new Error(`${main.name} has no wasm_component_test to take its invocation from`);
      ctx.summary(`apps: ${ran} invocations answered as their tests expect (built with ${ctx.builtWith ?? "?"})`);
    },
  },
  {
    title: "Publish the composed app (wasm-oci push) and inspect it",
    async run(ctx) {
      const target = ctx.target;
      if (target === undefined) throw new Error("no registry: the registry step did not run");
      const app = featured(ctx);
      const repo = `wasm-examples/${app.name.replaceAll("_", "-")}`;
      const bytes = await readFile(app.wasm);
      const r = await ctx.cli(["push", app.wasm, target.pushRef(repo, "v1.0.0"), "--tag", "latest", "--json"]);
      const digest = digestOf(r.stdout);
      ctx.say(`${target.pushRef(repo, "v1.0.0")} -> ${digest}`);
      const skopeoArgs = ["inspect", "--raw", ...(target.kind === "docker-registry" ? ["--tls-verify=false"] : []), target.skopeoRef(repo, "v1.0.0")];
      const skopeo = await ctx.exec("skopeo", skopeoArgs, { timeoutMs: 30_000 }).catch((e: unknown) => {
        // skopeo is optional here; the pull below checks the same manifest.
        if (e instanceof Error && /ENOENT/.test(e.message)) return undefined;
        throw e;
      });
      if (skopeo === undefined) {
        ctx.say("skopeo is not installed: skipping the independent inspection");
      } else {
        const raw = skopeo.stdout;
        const seen = `sha256:${createHash("sha256").update(raw).digest("hex")}`;
        if (seen !== digest) throw new Error(`skopeo sees manifest ${seen}, wasm-oci pushed ${digest}`);
        const m = JSON.parse(raw) as { mediaType?: string; config?: { mediaType?: string }; layers?: Array<{ mediaType?: string; size?: number }> };
        ctx.say(`skopeo sees the same manifest (${seen}): ${m.mediaType ?? "?"}, config ${m.config?.mediaType ?? "?"}`);
        for (const l of m.layers ?? []) ctx.say(`  layer ${l.mediaType ?? "?"}, ${l.size ?? "?"} bytes`);
      }
      const back = join(ctx.workDir, "published", `${app.name}.wasm`);
      await ctx.cli(["pull", target.pullRef(repo, digest), "-o", back, "--cache-dir", join(ctx.workDir, "cache-published")]);
      if (!(await readFile(back)).equals(bytes)) throw new Error(`${app.name}: pulled bytes differ from what was pushed`);
      ctx.say(`pulled back by digest: ${bytes.length} bytes, identical`);
      ctx.summary(`published: ${target.pushRef(repo, "v1.0.0")} ${digest} (${bytes.length} bytes)`);
    },
  },
];
