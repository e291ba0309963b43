/**
 * The policy step of `pull --policy`, `compose --policy` and `push --policy`: the names a
 * component is matched under, the decision (always decide() from decide.ts, the function behind
 * `policy check`), and the typed error that stops a command before it writes, composes or
 * publishes anything the policy denies.
 */
import { basename } from "node:path";
import { formatBytes, READ_LIMITS, readRegularFile } from "../util/bounded-read.ts";
import { findRegistryEntry, loadRegistryConfig } from "../config/registry-config.ts";
import type { Reference } from "../oci/types.ts";
import { loadPublicKey, loadSecretKey, readSignatureFile, type PublicKey, type SecretKey } from "../sign/index.ts";
import { UsageError, WasmOciError } from "../util/errors.ts";
import { decide, loadPolicy, type PolicyDecision } from "./decide.ts";
import type { SecurityPolicy } from "./schema.ts";
import { signForPolicy } from "./sign-for-policy.ts";

export interface LoadedPolicy {
  /** The policy file as given on the command line. */
  path: string;
  policy: SecurityPolicy;
  policyDir: string;
}

/** What commands print under `policy` in --json and record in pull's --metadata. */
export interface PolicyRecord {
  policy: string;
  component: string;
  registry: string;
  decision: PolicyDecision;
}

export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  const { policy, policyDir } = await loadPolicy(path);
  return { path, policy, policyDir };
}

/** Names the policy matches a registry reference under; flags override the defaults. */
export async function policyNamesFor(
  ref: Reference,
  opts: { componentName?: string | undefined; registryName?: string | undefined; registryConfig?: string | undefined },
): Promise<{ component: string; registry: string }> {
  let component = opts.componentName;
  let registry = opts.registryName;
  if (ref.kind === "registry") {
    component ??= ref.repository.split("/").pop() ?? ref.repository;
    if (registry === undefined) {
      const config = opts.registryConfig !== undefined ? await loadRegistryConfig(opts.registryConfig) : undefined;
      registry = (config !== undefined ? findRegistryEntry(config, ref.registry)?.name : undefined) ?? ref.registry;
    }
  } else {
    // A local layout has no registry; its component name is the layout directory's name.
    component ??= basename(ref.dir.replace(/\/+$/, "")) || ref.dir;
    registry ??= "";
  }
  return { component, registry };
}

export class PolicyDeniedError extends WasmOciError {
  readonly record: PolicyRecord;
  constructor(record: PolicyRecord, action: string) {
    const d = record.decision;
    const where = record.registry !== "" ? ` from registry "${record.registry}"` : "";
    super(
      "POLICY_DENIED",
      `security policy ${record.policy} denies component "${record.component}"${where} (rule ${d.rule}, signing ${d.signing}); ${action}:\n  - ${d.reasons.join("\n  - ")}`,
      { details: { decision: d, component: record.component, registry: record.registry } },
    );
    this.name = "PolicyDeniedError";
    this.record = record;
  }
}

export interface EnforceInput {
  component: string;
  registry: string;
  /** A file path or the bytes. */
  wasm: string | Uint8Array;
  detachedSignature?: string | Uint8Array | undefined;
  /** Completes the deny message, e.g. "nothing was written". */
  action: string;
}

/** decide(), then a PolicyDeniedError on deny; the record on allow. */
export async function enforcePolicy(p: LoadedPolicy, input: EnforceInput): Promise<PolicyRecord> {
  const decision = await decide({
    policy: p.policy,
    policyDir: p.policyDir,
    component: input.component,
    registry: input.registry,
    wasm: input.wasm,
    ...(input.detachedSignature !== undefined ? { detachedSignature: input.detachedSignature } : {}),
  });
  const record: PolicyRecord = { policy: p.path, component: input.component, registry: input.registry, decision };
  if (!decision.allow) throw new PolicyDeniedError(record, input.action);
  return record;
}

export interface PushPolicyInput {
  component: string;
  registry: string;
  wasm: Uint8Array;
  /** --signature: an existing detached signature of `wasm`. */
  detachedSignature?: Uint8Array;
  /** --secret-key / --public-key files (compact or OpenSSH, detected). */
  secretKey?: string;
  publicKey?: string;
  /** False for a layout source: its layer cannot be re-signed without repackaging. */
  canSign: boolean;
}

export interface PushPolicyResult {
  record: PolicyRecord;
  /** The bytes to publish (signed when an embedded signature was added). */
  wasm: Uint8Array;
  /** Set when a detached signature was made here. */
  detachedSignature?: Uint8Array;
  signing: { signed: boolean; reason: string };
}

/**
 * push --policy: decide; when denied but a secret key is given and no allowed key verifies yet,
 * sign as the policy wants (signForPolicy) and decide again. Throws PolicyDeniedError on deny.
 */
export async function enforceForPush(p: LoadedPolicy, input: PushPolicyInput): Promise<PushPolicyResult> {
  const base = { policy: p.policy, policyDir: p.policyDir, component: input.component, registry: input.registry };
  const action = "nothing was published";
  const first = await decide({ ...base, wasm: input.wasm, ...(input.detachedSignature !== undefined ? { detachedSignature: input.detachedSignature } : {}) });
  const firstRecord: PolicyRecord = { policy: p.path, component: input.component, registry: input.registry, decision: first };
  if (input.secretKey === undefined || first.verifiedKey !== undefined) {
    if (!first.allow) throw new PolicyDeniedError(firstRecord, action);
    const reason = input.secretKey === undefined ? "no --secret-key given" : `already verified by allowed key "${first.verifiedKey}"`;
    return { record: firstRecord, wasm: input.wasm, ...(input.detachedSignature !== undefined ? { detachedSignature: input.detachedSignature } : {}), signing: { signed: false, reason } };
  }
  const secretKey: SecretKey = await loadSecretKey(input.secretKey, "auto", "--secret-key");
  const publicKey: PublicKey | undefined = input.publicKey !== undefined ? await loadPublicKey(input.publicKey, "auto", "--public-key") : undefined;
  const signed = await signForPolicy({ ...base, wasm: input.wasm, secretKey, ...(publicKey !== undefined ? { publicKey } : {}) });
  if (!signed.signed) {
    if (!first.allow) throw new PolicyDeniedError(firstRecord, action);
    return { record: firstRecord, wasm: input.wasm, signing: { signed: false, reason: signed.reason } };
  }
  if (!input.canSign) {
    throw new UsageError(
      `${signed.rule} requires a signature and --secret-key was given, but an image from an OCI layout cannot be re-signed without repackaging: sign the .wasm (wasm-oci sign) before \`wasm-oci image\`, or push the .wasm itself`,
      "POLICY_SIGN_LAYOUT",
    );
  }
  const detached = signed.detachedSignature ?? input.detachedSignature;
  const decision = await decide({ ...base, wasm: signed.wasm, ...(detached !== undefined ? { detachedSignature: detached } : {}) });
  const record: PolicyRecord = { policy: p.path, component: input.component, registry: input.registry, decision };
  if (!decision.allow) {
    decision.reasons.push(`signed with --secret-key ${input.secretKey} (${signed.reason}), but that key is not allowed under this rule`);
    throw new PolicyDeniedError(record, action);
  }
  return {
    record,
    wasm: signed.wasm,
    ...(signed.detachedSignature !== undefined ? { detachedSignature: signed.detachedSignature } : {}),
    signing: { signed: true, reason: signed.reason },
  };
}

/** --signature FILE for pull/push: read once, typed errors naming the flag. */
export async function readSignatureFlag(path: string | undefined): Promise<Uint8Array | undefined> {
  if (path === undefined) return undefined;
  return readSignatureFile(path);
}

/** A detached signature next to a compose dependency (`PATH.sig`), if there is one. */
export async function siblingSignature(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readRegularFile(`${path}.sig`, READ_LIMITS.signature, (size) => new Error(`${size} bytes or more; signature data is at most ${formatBytes(READ_LIMITS.signature)}`));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UsageError(`cannot read detached signature ${path}.sig: ${(e as Error).message}`, "SIGNATURE_UNREADABLE");
  }
}
