import type { Command } from "commander";
import * as z from "zod";
import { printJson, printResult } from "../output.ts";
import { SecurityPolicySchema } from "../../policy/schema.ts";
import { WasmOciError } from "../../util/errors.ts";
import { decide, keyPath, loadPolicy, loadPolicyKeys } from "../../policy/decide.ts";

/** `policy check` (the decision other commands enforce) and `policy validate`. */
export function register(program: Command): void {
  const policy = program.command("policy").description("security policy: check a component against it, validate a policy file");

  policy
    .command("check")
    .description("decide whether a component may be used under a security policy (exit 0 allow, 1 deny)")
    .requiredOption("--policy <file>", "security policy JSON")
    .option("--component <name>", "component name, matched against component_policies", "")
    .option("--registry <name>", "registry name, matched against registry_policies", "")
    .requiredOption("-i, --input-file <file>", "module or component")
    .option("-S, --signature-file <file>", "detached signature (for signature_type: detached)")
    .option("--json", "print the decision as JSON")
    .action(async (o: { policy: string; component: string; registry: string; inputFile: string; signatureFile?: string; json?: boolean }) => {
      const { policy: p, policyDir } = await loadPolicy(o.policy);
      const d = await decide({
        policy: p,
        policyDir,
        component: o.component,
        registry: o.registry,
        wasm: o.inputFile,
        ...(o.signatureFile !== undefined ? { detachedSignature: o.signatureFile } : {}),
      });
      printResult(o.json, d, () => [
        `${d.allow ? "ALLOW" : "DENY"} ${o.inputFile} (rule ${d.rule}, signing ${d.signing}${d.verifiedKey !== undefined ? `, verified by ${d.verifiedKey}` : ""})`,
        ...d.reasons.map((r) => `  - ${r}`),
      ]);
      if (!d.allow) throw new WasmOciError("POLICY_DENIED", `${o.inputFile} denied by policy ${o.policy} (${d.rule}): ${d.reasons[d.reasons.length - 1] ?? ""}`);
    });

  policy
    .command("schema")
    .description("print the JSON Schema of the security policy file")
    .action(() => {
      printJson(z.toJSONSchema(SecurityPolicySchema, { io: "input" }));
    });

  policy
    .command("validate")
    .description("validate a policy file: schema, key names and every key file")
    .argument("<file>", "security policy JSON")
    .option("--json", "print the normalized policy as JSON")
    .action(async (file: string, o: { json?: boolean }) => {
      const { policy: p, policyDir } = await loadPolicy(file);
      const keys = await loadPolicyKeys(p, policyDir, Object.keys(p.keys));
      printResult(o.json, { valid: true, policy: p, keys: Object.fromEntries(Object.entries(p.keys).map(([n, k]) => [n, keyPath(policyDir, k.public_key)])) }, () => [
        `${file}: valid`,
        `  default: signing ${p.default_signing_required ? "required" : "optional"}, ${p.signature_type} signatures`,
        `  ${p.component_policies.length} component policies, ${p.registry_policies.length} registry policies, ${Object.keys(p.keys).length} keys (${keys.length} public keys loaded)`,
      ]);
    });
}
