import type { Command } from "commander";
import { printResult } from "../output.ts";
import { parseDigest } from "../../util/digest.ts";
import { log } from "../../util/log.ts";

interface PullFlags {
  output: string;
  digest?: string;
  registryConfig?: string;
  metadata?: string;
  cacheDir?: string;
  json?: boolean;
  policy?: string;
  componentName?: string;
  registryName?: string;
  signature?: string;
  signatureOutput?: string;
  policyOutput?: string;
  policyLayerOptional?: boolean;
}

export function register(program: Command): void {
  program
    .command("pull")
    .description("pull a Wasm module or component from a registry or an OCI layout, verifying every digest")
    .argument("<ref>", "[oci://]host[:port]/repo[:tag][@sha256:...], oci-layout:DIR[:tag|@digest], file:///abs/x.wasm@sha256:... or https://host/x.wasm@sha256:...")
    .requiredOption("-o, --output <file>", "where to write the .wasm (written atomically)")
    .option("--digest <sha256:...>", "the manifest digest the reference must resolve to (for file:// and https:// references: the component's own digest)")
    .option("--registry-config <file>", "registry config JSON (registries, auth sources, mirrors, retry, cache)")
    .option("--metadata <file>", "write reference, manifest digest, layer, media types, annotations and config as JSON")
    .option("--cache-dir <dir>", "content-addressed cache (default: registry config cache_dir, else $XDG_CACHE_HOME/wasm-oci)")
    .option("--policy <file>", "security policy JSON: the verified component is written only if the policy allows it")
    .option("--component-name <name>", "component name the policy matches (default: the repository's last path component)")
    .option("--registry-name <name>", "registry name the policy matches (default: the registry config entry's name for the host, else the host)")
    .option("-S, --signature <file>", "detached signature of the component (policies with signature_type: detached)")
    .option("--signature-output <file>", "also fetch the detached signature artifact that refers to the image (referrers API, else the sha256-<hex> tag), verify its digest and write it here; none found is an error")
    .option("--policy-output <file.yaml>", "also write the image's policy layer (application/vnd.wasm.policy.v1+yaml, or wassette's legacy and YAML types), digest-checked, at most 1 MiB; none is an error")
    .option("--policy-layer-optional", "with --policy-output: an image without a policy layer is not an error (nothing is written there; the metadata has no policyLayer)")
    .option("--json", "print the metadata as one JSON document")
    .action(async (ref: string, o: PullFlags) => {
      // Loaded on use: other commands need not pay for the registry client at startup.
      const { isUrlReference } = await import("../../oci/url-source.ts");
      if (o.policyLayerOptional === true && o.policyOutput === undefined) {
        const { UsageError } = await import("../../util/errors.ts");
        throw new UsageError("--policy-layer-optional applies with --policy-output FILE", "BAD_FLAGS");
      }
      if (isUrlReference(ref)) return pullFromUrl(ref, o);
      const { pull } = await import("../../oci/pull.ts");
      let gate: import("../../oci/pull.ts").PullOptions["gate"];
      let fetchSignature = false;
      if (o.policy !== undefined) {
        const { pullGate } = await import("../../policy/pull-gate.ts");
        const { parseReference } = await import("../../oci/reference.ts");
        // Everything the decision needs is read before any request: a broken policy fails fast.
        ({ gate, fetchSignature } = await pullGate({ ...o, policy: o.policy, reference: parseReference(ref) }));
      } else if (o.componentName !== undefined || o.registryName !== undefined || o.signature !== undefined) {
        const { UsageError } = await import("../../util/errors.ts");
        throw new UsageError("--component-name, --registry-name and --signature apply only with --policy", "BAD_FLAGS");
      }
      const result = await pull({
        reference: ref,
        output: o.output,
        ...(o.digest !== undefined ? { digest: parseDigest(o.digest, "--digest") } : {}),
        ...(o.registryConfig !== undefined ? { registryConfig: o.registryConfig } : {}),
        ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
        ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
        ...(gate !== undefined ? { gate } : {}),
        ...(fetchSignature ? { fetchSignature } : {}),
        ...(o.signatureOutput !== undefined ? { signatureOutput: o.signatureOutput } : {}),
        ...(o.policyOutput !== undefined ? { policyOutput: o.policyOutput } : {}),
        ...(o.policyLayerOptional === true ? { policyOptional: true } : {}),
      });
      printResult(o.json, result.metadata, () => result.metadata.manifestDigest);
    });
}

/**
 * `pull file:///abs/x.wasm@sha256:...` and `pull https://host/x.wasm@sha256:...`: no manifest, so
 * the pin is the component's digest; `--policy` decides on the verified bytes (component name =
 * the file name without .wasm, registry = the URL's host, "" for a file).
 */
async function pullFromUrl(ref: string, o: PullFlags): Promise<void> {
  const { parseUrlReference, pullUrl } = await import("../../oci/url-source.ts");
  const { UsageError } = await import("../../util/errors.ts");
  const { writeFileAtomic } = await import("../../util/atomic-write.ts");
  const { rm } = await import("node:fs/promises");
  const url = parseUrlReference(ref, o.digest !== undefined ? parseDigest(o.digest, "--digest") : undefined);
  const registryOnly = (["signatureOutput", "policyOutput"] as const).filter((k) => o[k] !== undefined);
  if (registryOnly.length > 0) {
    throw new UsageError(`${registryOnly.map((k) => (k === "signatureOutput" ? "--signature-output" : "--policy-output")).join(", ")}: a ${url.kind}: reference has no registry artifacts to read them from`, "BAD_FLAGS");
  }
  let gate: ((path: string) => Promise<unknown>) | undefined;
  if (o.policy !== undefined) {
    const enforce = await import("../../policy/enforce.ts");
    const policy = await enforce.loadPolicyFile(o.policy);
    const file = decodeURIComponent(new URL(url.url).pathname.split("/").pop() ?? "");
    const names = { component: o.componentName ?? file.replace(/\.wasm$/, ""), registry: o.registryName ?? (url.kind === "https" ? new URL(url.url).host : "") };
    const signature = await enforce.readSignatureFlag(o.signature);
    gate = async (path) => {
      const record = await enforce.enforcePolicy(policy, { ...names, wasm: path, detachedSignature: signature, action: `${o.output} was not written` });
      log.info(`policy ${o.policy}: allow component "${names.component}" (rule ${record.decision.rule})`);
      return record;
    };
  } else if (o.componentName !== undefined || o.registryName !== undefined || o.signature !== undefined) {
    throw new UsageError("--component-name, --registry-name and --signature apply only with --policy", "BAD_FLAGS");
  }
  const metadata = await pullUrl(url, o.output, gate !== undefined ? { gate } : {});
  if (o.metadata !== undefined) {
    try {
      await writeFileAtomic(o.metadata, `${JSON.stringify(metadata, null, 2)}\n`);
    } catch (e) {
      await rm(o.output, { force: true });
      throw e;
    }
  }
  printResult(o.json, metadata, () => metadata.digest);
}
