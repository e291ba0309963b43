/**
 * The security-policy gate of a pull (`pull --policy`, `fetch --policy`): decided on the verified
 * layer before it is renamed into place. With a detached policy and no `-S`, the signature
 * artifacts published with the image decide: the newest one an allowed key verifies.
 */
import { log } from "../util/log.ts";
import type { PullOptions } from "../oci/pull.ts";
import type { Reference } from "../oci/types.ts";
import * as enforce from "./enforce.ts";

export interface PullGateOptions {
  policy: string;
  reference: Reference;
  output: string;
  componentName?: string | undefined;
  registryName?: string | undefined;
  registryConfig?: string | undefined;
  /** -S: a detached signature file given by the user. */
  signature?: string | undefined;
}

export async function pullGate(o: PullGateOptions): Promise<{ gate: NonNullable<PullOptions["gate"]>; fetchSignature: boolean; names: { component: string; registry: string } }> {
  const policy = await enforce.loadPolicyFile(o.policy);
  const names = await enforce.policyNamesFor(o.reference, o);
  const signature = await enforce.readSignatureFlag(o.signature);
  // A detached policy without -S checks the signature artifact published with the image.
  const fromRegistry = signature === undefined && policy.policy.signature_type === "detached";
  const allowed = (record: enforce.PolicyRecord): enforce.PolicyRecord => {
    const d = record.decision;
    log.info(`policy ${o.policy}: allow component "${names.component}" (rule ${d.rule}${d.verifiedKey !== undefined ? `, verified by key "${d.verifiedKey}"` : ""})`);
    return record;
  };
  const gate: NonNullable<PullOptions["gate"]> = async (path, found) => {
    const action = `${o.output} was not written`;
    if (!fromRegistry) return allowed(await enforce.enforcePolicy(policy, { ...names, wasm: path, detachedSignature: signature, action }));
    // Several signatures may refer to the image (other keys, re-signing): the newest one an
    // allowed key verifies decides; every digest was checked while fetching them.
    let denied: enforce.PolicyDeniedError | undefined;
    const tried: string[] = [];
    for (const c of found.candidates) {
      try {
        const record = await enforce.enforcePolicy(policy, { ...names, wasm: path, detachedSignature: c.detachedSignature, action });
        log.info(`policy ${o.policy}: checked detached signature ${c.signature.manifestDigest} from ${c.signature.via}`);
        return allowed(record);
      } catch (e) {
        if (!(e instanceof enforce.PolicyDeniedError)) throw e;
        denied ??= e;
        tried.push(`${c.signature.manifestDigest} (${e.record.decision.reasons[e.record.decision.reasons.length - 1] ?? "denied"})`);
      }
    }
    if (denied === undefined) {
      try {
        return allowed(await enforce.enforcePolicy(policy, { ...names, wasm: path, action }));
      } catch (e) {
        if (!(e instanceof enforce.PolicyDeniedError)) throw e;
        denied = e;
      }
      denied.record.decision.reasons.push(
        "no detached signature artifact refers to the image (referrers API and sha256-<hex> tag looked up); give -S SIG or push the image with its signature",
      );
    } else {
      denied.record.decision.reasons.push(`checked the detached signature artifacts that refer to the image: ${tried.join("; ")}`);
    }
    throw new enforce.PolicyDeniedError(denied.record, action);
  };
  return { gate, fetchSignature: fromRegistry, names };
}
