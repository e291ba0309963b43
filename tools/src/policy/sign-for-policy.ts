import { signBytes, type PublicKey, type SecretKey } from "../sign/index.ts";
import { decide, selectRule } from "./decide.ts";
import type { SecurityPolicy } from "./schema.ts";

/**
 * For `push --policy` with a secret key: signs the component when the rule that applies to it
 * requires signing (or `always`), in the form the policy expects (embedded section or detached
 * signature), unless an allowed key already verifies it. The caller then runs decide() on the
 * result and publishes only when it allows.
 */
export interface SignForPolicyInput {
  policy: SecurityPolicy;
  policyDir: string;
  component: string;
  registry: string;
  wasm: Uint8Array;
  secretKey: SecretKey;
  /** Stored as the signature's key id; default: the secret key's own public key. */
  publicKey?: PublicKey;
  /** Sign even when the rule only makes signing optional. */
  always?: boolean;
}

export interface SignForPolicyResult {
  /** The module to publish: signed when embedded, unchanged when detached or not signed. */
  wasm: Uint8Array;
  /** The detached signature to publish alongside (signature_type: detached). */
  detachedSignature?: Uint8Array;
  signed: boolean;
  rule: string;
  reason: string;
}

export async function signForPolicy(input: SignForPolicyInput): Promise<SignForPolicyResult> {
  const sel = selectRule(input.policy, input.component, input.registry);
  if (sel.signing !== "required" && !input.always) {
    return { wasm: input.wasm, signed: false, rule: sel.rule, reason: `signing is optional under ${sel.rule}; not signed` };
  }
  const detached = input.policy.signature_type === "detached";
  if (!detached) {
    const current = await decide({ policy: input.policy, policyDir: input.policyDir, component: input.component, registry: input.registry, wasm: input.wasm });
    if (current.verifiedKey !== undefined) {
      return { wasm: input.wasm, signed: false, rule: sel.rule, reason: `already signed by allowed key "${current.verifiedKey}"` };
    }
  }
  const r = await signBytes(input.wasm, { secretKey: input.secretKey, publicKey: input.publicKey ?? input.secretKey.publicKey, detached });
  return detached
    ? { wasm: input.wasm, detachedSignature: r.signature, signed: true, rule: sel.rule, reason: `detached signature made (key id ${r.keyId})` }
    : { wasm: r.module, signed: true, rule: sel.rule, reason: `signed (key id ${r.keyId})` };
}
