import { READ_LIMITS, readTextFile } from "../util/bounded-read.ts";
import { dirname, isAbsolute, resolve } from "node:path";
import { UsageError } from "../util/errors.ts";
import { loadPublicKeys, readSignatureFile, SignFormatError, verifyBytes, type PublicKey } from "../sign/index.ts";
import { jsonDepthExceeded, lineColumn, MAX_JSON_DEPTH } from "../config/json-position.ts";
import { mostSpecificMatch } from "./glob.ts";
import { fieldPath, SecurityPolicySchema, type SecurityPolicy, type Signing } from "./schema.ts";

/**
 * The one decision function behind `policy check`, `pull --policy`, `compose --policy` and
 * `push --policy`: which rule applies to a component, and whether its signature satisfies it.
 */
export interface DecideInput {
  policy: SecurityPolicy;
  /** Directory relative key paths are resolved against (the policy file's directory). */
  policyDir: string;
  /** Component name matched against component_policies; "" when there is none. */
  component: string;
  /** Registry name matched against registry_policies; "" when the component has no registry. */
  registry: string;
  /** The module or component: a file path or its bytes. */
  wasm: string | Uint8Array;
  /** Detached signature: a file path or its bytes. */
  detachedSignature?: string | Uint8Array;
}

export interface PolicyDecision {
  allow: boolean;
  /** The rule that applied, e.g. `component_policies[0] (prod-*)`, `registry_policies[1] (ghcr.io)` or `default`. */
  rule: string;
  signing: Signing;
  /** Name (in `keys`) of the allowed key that verified the signature. */
  verifiedKey?: string;
  /** Its key id (hex). */
  keyId?: string;
  reasons: string[];
}

export interface SelectedRule {
  rule: string;
  signing: Signing;
  /** Key names allowed under this rule (every key in `keys` when the rule lists none). */
  allowedKeys: string[];
  why: string;
}

/** Component policy over registry policy over default; within a list the most specific pattern. */
export function selectRule(policy: SecurityPolicy, component: string, registry: string): SelectedRule {
  const all = Object.keys(policy.keys);
  if (component !== "") {
    const i = mostSpecificMatch(
      policy.component_policies.map((r) => r.component),
      component,
    );
    if (i !== undefined) {
      const r = policy.component_policies[i]!;
      return { rule: `component_policies[${i}] (${r.component})`, signing: r.signing, allowedKeys: r.allowed_keys ?? all, why: `component "${component}" matches "${r.component}"` };
    }
  }
  if (registry !== "") {
    const i = mostSpecificMatch(
      policy.registry_policies.map((r) => r.registry),
      registry,
    );
    if (i !== undefined) {
      const r = policy.registry_policies[i]!;
      return { rule: `registry_policies[${i}] (${r.registry})`, signing: r.signing, allowedKeys: r.allowed_keys ?? all, why: `registry "${registry}" matches "${r.registry}"` };
    }
  }
  return {
    rule: "default",
    signing: policy.default_signing_required ? "required" : "optional",
    allowedKeys: all,
    why: `no component or registry policy matches (component "${component}", registry "${registry}"): default_signing_required is ${policy.default_signing_required}`,
  };
}

export function keyPath(policyDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(policyDir, p);
}

/** Loads the named keys; a key file that cannot be read is a broken policy, not a denial. */
export async function loadPolicyKeys(policy: SecurityPolicy, policyDir: string, names: readonly string[]): Promise<Array<{ name: string; key: PublicKey }>> {
  const out: Array<{ name: string; key: PublicKey }> = [];
  for (const name of names) {
    const entry = policy.keys[name];
    if (entry === undefined) throw new UsageError(`policy: key "${name}" is not defined in keys`, "POLICY_INVALID");
    const format = entry.format ?? (policy.openssh_format ? "openssh" : "compact");
    const path = keyPath(policyDir, entry.public_key);
    try {
      for (const key of await loadPublicKeys(path, format, `policy key "${name}"`)) out.push({ name, key });
    } catch (e) {
      if (e instanceof SignFormatError || e instanceof UsageError) {
        throw new UsageError(`policy key "${name}" (keys.${name}.public_key = ${path}, format ${format}): ${e.message}`, "POLICY_KEY");
      }
      throw e;
    }
  }
  return out;
}

export async function decide(input: DecideInput): Promise<PolicyDecision> {
  const { policy } = input;
  const sel = selectRule(policy, input.component, input.registry);
  const reasons = [`rule ${sel.rule}: ${sel.why}; signing ${sel.signing}`];
  const required = sel.signing === "required";
  const decision = (allow: boolean, extra: Partial<PolicyDecision> = {}): PolicyDecision => ({ allow, rule: sel.rule, signing: sel.signing, ...extra, reasons });
  const unsigned = (why: string): PolicyDecision => {
    reasons.push(why);
    if (required) {
      reasons.push("denied: a signature by an allowed key is required");
      return decision(false);
    }
    reasons.push("allowed: signing is optional under this rule");
    return decision(true);
  };

  let detached: Uint8Array | undefined;
  if (policy.signature_type === "detached") {
    if (input.detachedSignature === undefined) return unsigned("not signed: the policy expects detached signatures (signature_type: detached) and none was given");
    detached = typeof input.detachedSignature === "string" ? await readSignatureFile(input.detachedSignature) : input.detachedSignature;
  } else if (input.detachedSignature !== undefined) {
    reasons.push("the detached signature given is ignored: the policy expects embedded signatures (signature_type: embedded)");
  }

  const allowed = await loadPolicyKeys(policy, input.policyDir, sel.allowedKeys);
  let result;
  try {
    result = await verifyBytes(input.wasm, allowed.map((k) => k.key), detached !== undefined ? { detachedSignature: detached } : {});
  } catch (e) {
    if (!(e instanceof SignFormatError)) throw e;
    if (e.code.startsWith("WASM_")) {
      reasons.push(`denied: not a valid WebAssembly module or component: ${e.message}`);
      return decision(false);
    }
    // Under "optional" a stripped signature would pass anyway, so a broken one denies only when required.
    return unsigned(`the signature cannot be used: ${e.message} [${e.code}]`);
  }
  if (!result.signed) return unsigned(result.reason);
  if (allowed.length === 0) return unsigned("signed, but no key is allowed under this rule (the policy defines no keys)");

  const ok = result.keys.find((k) => k.ok);
  if (ok !== undefined) {
    const name = allowed[ok.index]!.name;
    reasons.push(`verified by allowed key "${name}" (key id ${ok.keyId})`);
    return decision(true, { verifiedKey: name, keyId: ok.keyId });
  }
  for (const k of result.keys) reasons.push(`key "${allowed[k.index]!.name}" (key id ${k.keyId}): ${k.reason}`);
  // Say so when the signer is a key the policy knows but does not allow here.
  const others = Object.keys(policy.keys).filter((n) => !sel.allowedKeys.includes(n));
  if (others.length > 0 && result.signatureKeyIds.length > 0) {
    const known = await loadPolicyKeys(policy, input.policyDir, others);
    for (const { name, key } of known) {
      const id = Buffer.from(key.keyId).toString("hex");
      if (result.signatureKeyIds.includes(id)) reasons.push(`the signature carries the key id of key "${name}" (${id}), which is not allowed under ${sel.rule}`);
    }
  }
  if (result.signatureKeyIds.length > 0) reasons.push(`key ids in the signature: ${result.signatureKeyIds.join(", ")}`);
  if (required) {
    reasons.push("denied: no allowed key verified the signature");
    return decision(false);
  }
  reasons.push("allowed: signing is optional under this rule, and an unverified signature is no worse than none");
  return decision(true);
}

/** Reads and validates a policy file; errors name the file and the field path. */
export async function loadPolicy(path: string): Promise<{ policy: SecurityPolicy; policyDir: string }> {
  let text: string;
  try {
    text = await readTextFile(path, READ_LIMITS.configFile, "POLICY_FILE", "policy");
  } catch (e) {
    throw new UsageError(`cannot read policy ${path}: ${(e as Error).message}`, "POLICY_FILE");
  }
  return { policy: parsePolicy(text, path), policyDir: dirname(resolve(path)) };
}

export function parsePolicy(text: string, what = "policy"): SecurityPolicy {
  const deep = jsonDepthExceeded(text, MAX_JSON_DEPTH);
  if (deep !== undefined) {
    throw new UsageError(`${what}: nested deeper than ${MAX_JSON_DEPTH} levels at line:column ${lineColumn(text, deep)}`, "POLICY_INVALID");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what}: not valid JSON: ${(e as Error).message}`, "POLICY_INVALID");
  }
  const r = SecurityPolicySchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`);
    throw new UsageError(`${what}: invalid security policy:\n  ${lines.join("\n  ")}`, "POLICY_INVALID", { issues: lines });
  }
  return r.data;
}
