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
}

export function register(program: Command): void {
  program
    .command("pull")
    .description("pull a Wasm module or component from a registry or an OCI layout, verifying every digest")
    .argument("<ref>", "[oci://]host[:port]/repo[:tag][@sha256:...] or oci-layout:DIR[:tag|@digest]")
    .requiredOption("-o, --output <file>", "where to write the .wasm (written atomically)")
    .option("--digest <sha256:...>", "the manifest digest the reference must resolve to")
    .option("--registry-config <file>", "registry config JSON (registries, auth sources, mirrors, retry, cache)")
    .option("--metadata <file>", "write reference, manifest digest, layer, media types, annotations and config as JSON")
    .option("--cache-dir <dir>", "content-addressed cache (default: registry config cache_dir, else $XDG_CACHE_HOME/wasm-oci)")
    .option("--policy <file>", "security policy JSON: the verified component is written only if the policy allows it")
    .option("--component-name <name>", "component name the policy matches (default: the repository's last path component)")
    .option("--registry-name <name>", "registry name the policy matches (default: the registry config entry's name for the host, else the host)")
    .option("-S, --signature <file>", "detached signature of the component (policies with signature_type: detached)")
    .option("--signature-output <file>", "also fetch the detached signature artifact that refers to the image (referrers API, else the sha256-<hex> tag), verify its digest and write it here; none found is an error")
    .option("--json", "print the metadata as one JSON document")
    .action(async (ref: string, o: PullFlags) => {
      // Loaded on use: other commands need not pay for the registry client at startup.
      const { pull } = await import("../../oci/pull.ts");
      let gate: import("../../oci/pull.ts").PullOptions["gate"];
      let fetchSignature = false;
      if (o.policy !== undefined) {
        const enforce = await import("../../policy/enforce.ts");
        const { parseReference } = await import("../../oci/reference.ts");
        // Everything the decision needs is read before any request: a broken policy fails fast.
        const policy = await enforce.loadPolicyFile(o.policy);
        const names = await enforce.policyNamesFor(parseReference(ref), o);
        const signature = await enforce.readSignatureFlag(o.signature);
        // A detached policy without -S checks the signature artifact published with the image.
        const fromRegistry = signature === undefined && policy.policy.signature_type === "detached";
        fetchSignature = fromRegistry;
        gate = async (path, found) => {
          const action = `${o.output} was not written`;
          if (!fromRegistry) return allowed(await enforce.enforcePolicy(policy, { ...names, wasm: path, detachedSignature: signature, action }));
          // Several signatures may refer to the image (other keys, re-signing): the newest one an
          // allowed key verifies decides; every digest was checked while fetching them.
          let denied: InstanceType<typeof enforce.PolicyDeniedError> | undefined;
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
        const allowed = (record: import("../../policy/enforce.ts").PolicyRecord) => {
          const d = record.decision;
          log.info(`policy ${o.policy}: allow component "${names.component}" (rule ${d.rule}${d.verifiedKey !== undefined ? `, verified by key "${d.verifiedKey}"` : ""})`);
          return record;
        };
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
      });
      printResult(o.json, result.metadata, () => result.metadata.manifestDigest);
    });
}
