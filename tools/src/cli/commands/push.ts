import type { Command } from "commander";
import { printResult } from "../output.ts";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface PushFlags {
  tag: string[];
  annotation: string[];
  registryConfig?: string;
  mountFrom?: string;
  dryRun?: boolean;
  json?: boolean;
  policy?: string;
  secretKey?: string;
  publicKey?: string;
  componentName?: string;
  registryName?: string;
  signature?: string;
  signatureOutput?: string;
  policyLayer?: string;
}

const POLICY_ONLY = ["secretKey", "publicKey", "componentName", "registryName", "signatureOutput"] as const;

export function register(program: Command): void {
  program
    .command("push")
    .description("push a Wasm file (packaged as `image` does) or an image from an OCI layout to a registry")
    .argument("<source>", "IN.wasm or oci-layout:DIR[:tag|@digest]")
    .argument("<ref>", "[oci://]host[:port]/repo[:tag] (or oci-layout:DIR[:tag] for a .wasm source)")
    .option("-t, --tag <tag>", "also tag the manifest (repeatable)", collect, [])
    .option("-a, --annotation <key=value>", "manifest annotation (repeatable)", collect, [])
    .option("--registry-config <file>", "registry config JSON (registries, auth sources, retry)")
    .option("--mount-from <repo>", "mount missing blobs from this repository of the same registry")
    .option("--dry-run", "print the manifest and digests; send no write request")
    .option("--policy <file>", "security policy JSON: publish only what it allows (decided before any request)")
    .option("-k, --secret-key <file>", "with --policy: sign first when the policy requires a signature no allowed key gives yet")
    .option("-K, --public-key <file>", "with --secret-key: stored as the signature's key id (must be the secret key's own)")
    .option("--component-name <name>", "component name the policy matches (default: the repository's last path component)")
    .option("--registry-name <name>", "registry name the policy matches (default: the registry config entry's name for the host, else the host)")
    .option("-S, --signature <file>", "detached signature of the component (sign -S): pushed as a signature artifact referring to the image; with --policy also what a detached policy checks")
    .option("--signature-output <file>", "where to write the detached signature --secret-key makes (signature_type: detached)")
    .option("--policy-layer <file.yaml>", "add this YAML policy file as a layer after the wasm layer (application/vnd.wasm.policy.v1+yaml, as wassette reads it)")
    .option("--json", "print {digest, size, tags, reference, ..., policy} as one JSON document")
    .action(async (source: string, ref: string, o: PushFlags) => {
      // Loaded on use: other commands need not pay for the registry client at startup.
      const { push } = await import("../../oci/push.ts");
      const { parseAnnotations } = await import("../../oci/wasm-image.ts");
      const { UsageError } = await import("../../util/errors.ts");
      let policy: (import("../../policy/enforce.ts").PolicyRecord & { signing: { signed: boolean; reason: string } }) | undefined;
      let wasm: Uint8Array | undefined;
      let signature: Uint8Array | undefined;
      let pushSource = source;
      if (o.policy !== undefined) {
        const p = await gateForPush(source, ref, { ...o, policy: o.policy });
        policy = { ...p.record, signing: p.signing };
        // Publish exactly what was decided: the decided bytes, or the layout image pinned by digest.
        if (p.pinnedSource !== undefined) pushSource = p.pinnedSource;
        else wasm = p.wasm;
        // The detached signature given or made travels with the image, as its referrer.
        // (one read from the layout is already there and goes up with it).
        if (!p.signatureFromLayout) signature = p.detachedSignature;
      } else {
        const given = POLICY_ONLY.filter((k) => o[k] !== undefined);
        if (given.length > 0) throw new UsageError(`${given.map(flagName).join(", ")}: only with --policy`, "BAD_FLAGS");
        if (o.signature !== undefined) {
          const { readSignatureFile } = await import("../../sign/index.ts");
          signature = await readSignatureFile(o.signature);
        }
      }
      const extraLayers = o.policyLayer !== undefined ? [await (await import("../../oci/policy-layer.ts")).readPolicyLayerFile(o.policyLayer)] : [];
      const result = await push({
        source: pushSource,
        extraLayers,
        reference: ref,
        tags: o.tag,
        annotations: parseAnnotations(o.annotation),
        ...(o.registryConfig !== undefined ? { registryConfig: o.registryConfig } : {}),
        ...(o.mountFrom !== undefined ? { mountFrom: o.mountFrom } : {}),
        dryRun: o.dryRun ?? false,
        ...(wasm !== undefined ? { wasm } : {}),
        ...(signature !== undefined ? { signature } : {}),
      });
      printResult(o.json, { ...result, ...(policy !== undefined ? { policy } : {}) }, () => {
        if (!result.dryRun) return result.digest;
        return [
          JSON.stringify(result.manifest, null, 2),
          ...result.blobs.map((b) => `${b.mediaType} ${b.digest} ${b.size}`),
          `manifest ${result.digest} ${result.size}`,
          ...result.referrers.map((r) => `referrer ${r.artifactType} ${r.digest} ${r.size} (subject ${r.subject})`),
        ];
      });
    });
}

function flagName(k: string): string {
  return `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Decides (and signs, with --secret-key) before push() runs, so a denied component sends no
 * request at all. For a layout source the wasm layer is read from the layout (digest-verified).
 */
async function gateForPush(source: string, ref: string, o: PushFlags & { policy: string }) {
  const enforce = await import("../../policy/enforce.ts");
  const { parseReference } = await import("../../oci/reference.ts");
  const { UsageError } = await import("../../util/errors.ts");
  const { readFile, mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { log } = await import("../../util/log.ts");
  if (o.publicKey !== undefined && o.secretKey === undefined) throw new UsageError("--public-key needs --secret-key", "BAD_FLAGS");
  const policy = await enforce.loadPolicyFile(o.policy);
  const names = await enforce.policyNamesFor(parseReference(ref), o);
  let signature = await enforce.readSignatureFlag(o.signature);
  const fromLayout = source.startsWith("oci-layout:");
  let wasm: Uint8Array;
  let pinnedSource: string | undefined;
  let signatureFromLayout = false;
  if (fromLayout) {
    const { pull } = await import("../../oci/pull.ts");
    const layout = parseReference(source);
    const dir = await mkdtemp(join(tmpdir(), "wasm-oci-policy-"));
    // A detached policy without -S decides on the signature the layout carries for the image.
    const wantSignature = signature === undefined && policy.policy.signature_type === "detached";
    try {
      const { WasmOciError } = await import("../../util/errors.ts");
      const pullOnce = (withSignature: boolean) =>
        pull({
          reference: source,
          output: join(dir, "layer.wasm"),
          cacheDir: join(dir, "cache"),
          ...(withSignature ? { signatureOutput: join(dir, "layer.sig") } : {}),
        });
      let pulled;
      try {
        pulled = await pullOnce(wantSignature);
        if (wantSignature) {
          signature = await readFile(join(dir, "layer.sig"));
          signatureFromLayout = true;
        }
      } catch (e) {
        if (!(e instanceof WasmOciError && e.code === "NO_SIGNATURE")) throw e;
        pulled = await pullOnce(false);
      }
      const { metadata } = pulled;
      wasm = await readFile(join(dir, "layer.wasm"));
      if (layout.kind === "layout") pinnedSource = `oci-layout:${layout.dir}@${metadata.indexDigest ?? metadata.manifestDigest}`;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } else {
    try {
      wasm = await readFile(source);
    } catch (e) {
      throw new UsageError(`cannot read ${source}: ${(e as Error).message}`, "INPUT_UNREADABLE");
    }
  }
  const r = await enforce.enforceForPush(policy, {
    ...names,
    wasm,
    ...(signature !== undefined ? { detachedSignature: signature } : {}),
    ...(o.secretKey !== undefined ? { secretKey: o.secretKey } : {}),
    ...(o.publicKey !== undefined ? { publicKey: o.publicKey } : {}),
    canSign: !fromLayout,
  });
  if (r.signing.signed && r.detachedSignature !== undefined) {
    if (o.signatureOutput === undefined) {
      throw new UsageError("the policy wants detached signatures (signature_type: detached): give --signature-output FILE for the signature --secret-key makes; nothing was published", "BAD_FLAGS");
    }
    const { writeFileAtomic } = await import("../../util/atomic-write.ts");
    await writeFileAtomic(o.signatureOutput, r.detachedSignature);
  } else if (o.signatureOutput !== undefined) {
    log.warn(`--signature-output ${o.signatureOutput}: no detached signature was made (${r.signing.reason}); not written`);
  }
  const d = r.record.decision;
  log.info(
    `policy ${o.policy}: allow component "${names.component}" to registry "${names.registry}" (rule ${d.rule}${d.verifiedKey !== undefined ? `, verified by key "${d.verifiedKey}"` : ""})${r.signing.signed ? `; ${r.signing.reason}` : ""}`,
  );
  return { ...r, signatureFromLayout: signatureFromLayout && !r.signing.signed, ...(pinnedSource !== undefined ? { pinnedSource } : {}) };
}
