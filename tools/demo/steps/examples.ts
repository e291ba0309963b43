/**
 * The example services: published (built from WAT + WIT, signed where examples/services.json says
 * so) by the examples' own setup step, and their signatures checked after a pull by digest.
 */
import { join } from "node:path";
import { z } from "zod";
import type { DemoContext, DemoStep } from "../context.ts";

// What `node examples/setup.mjs --json` prints (examples/setup.mjs header).
const SetupOutput = z.object({
  registry: z.string(),
  services: z.array(z.object({ name: z.string(), reference: z.string(), digest: z.string().regex(/^sha256:[a-f0-9]{64}$/), signed: z.boolean() })),
});

export const EXAMPLE_PUBLIC_KEY = join("examples", "wac_oci_composition", "keys", "example.pk");

function requireTarget(ctx: DemoContext): NonNullable<DemoContext["target"]> {
  if (ctx.target === undefined) throw new Error("no registry: the registry step did not run");
  return ctx.target;
}

export const publishServicesSteps: DemoStep[] = [
  {
    title: "Publish the example services (node examples/setup.mjs)",
    async run(ctx) {
      const target = requireTarget(ctx);
      const r = await ctx.exec(process.execPath, [join(ctx.repoRoot, "examples", "setup.mjs"), "--registry", target.setupRegistry, "--json"], { timeoutMs: 240_000 });
      const doc = SetupOutput.safeParse(JSON.parse(r.stdout));
      if (!doc.success) throw new Error(`examples/setup.mjs --json printed an unexpected document: ${doc.error.message}`);
      for (const s of doc.data.services) {
        ctx.services.push(s);
        ctx.say(`${s.reference}  ${s.digest}${s.signed ? "  signed" : ""}`);
      }
      const signed = doc.data.services.filter((s) => s.signed).length;
      ctx.summary(`services: ${doc.data.services.length} published, ${signed} signed with ${EXAMPLE_PUBLIC_KEY.replace(/\.pk$/, ".sk")}`);
      for (const s of doc.data.services) ctx.summary(`  ${s.name.padEnd(18)} ${s.digest}${s.signed ? "  signed" : ""}`);
    },
  },
];

export const verifySteps: DemoStep[] = [
  {
    title: "Verify the services' signatures (wasm-oci pull by digest, wasm-oci verify)",
    async run(ctx) {
      const target = requireTarget(ctx);
      if (ctx.services.length === 0) throw new Error("no services: the publish step did not run");
      const key = join(ctx.repoRoot, EXAMPLE_PUBLIC_KEY);
      const dir = join(ctx.workDir, "verify");
      const lines: string[] = [];
      for (const s of ctx.services) {
        // Every signed service, and one unsigned one to show a refusal.
        if (!s.signed && s.name !== "data-service") continue;
        const out = join(dir, `${s.name}.wasm`);
        await ctx.cli(["pull", target.pullRef(`wasm-examples/${s.name}`, s.digest), "-o", out, "--cache-dir", join(ctx.workDir, "cache")]);
        const v = await ctx.cli(["verify", "-i", out, "-K", key], s.signed ? {} : { expectFailure: true });
        const detail = (v.stdout.trim() || v.stderr.trim()).split("\n")[0] ?? "";
        if (s.signed) {
          ctx.say(`${s.name}: signature valid (${detail})`);
          lines.push(s.name);
        } else {
          ctx.say(`${s.name}: not signed, verify refuses it as it should (${detail})`);
        }
      }
      ctx.summary(`signatures: ${lines.join(", ")} verified with ${EXAMPLE_PUBLIC_KEY}`);
    },
  },
];
