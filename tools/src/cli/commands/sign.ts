import type { Command } from "commander";
import { printResult } from "../output.ts";
import { UsageError, WasmOciError } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import {
  attachFile,
  describeFile,
  detachFile,
  generateSecretKey,
  keyIdHex,
  loadPublicKey,
  loadPublicKeys,
  loadSecretKey,
  signFile,
  splitFile,
  verifyFile,
  writeKeyPair,
  type KeyFormat,
  type PublicKey,
  type VerifyResult,
} from "../../sign/index.ts";

/**
 * keygen, sign, verify, detach, attach, show, split, verify_matrix: the wasmsign2 CLI's
 * commands and flags, so users' scripts carry over (facts.md section 1).
 */
function keyFormat(ssh: boolean | undefined): KeyFormat {
  return ssh ? "openssh" : "compact";
}

export function parseRegex(src: string | undefined, flag = "--split"): RegExp | undefined {
  if (src === undefined) return undefined;
  try {
    return new RegExp(src, "u");
  } catch (e) {
    throw new UsageError(`${flag}: invalid regular expression ${JSON.stringify(src)}: ${(e as Error).message}`, "BAD_REGEX");
  }
}

function describeKey(k: PublicKey): string {
  return `${keyIdHex(k)}${k.comment ? ` (${k.comment})` : ""}`;
}

function verifyJson(r: VerifyResult, files: string[]): Record<string, unknown> {
  return {
    valid: r.ok,
    signed: r.signed,
    kind: r.kind,
    reason: r.reason,
    signatureKeyIds: r.signatureKeyIds,
    ...(r.contentHash !== undefined ? { contentHash: r.contentHash } : {}),
    keys: r.keys.map((k) => ({
      file: files[k.index],
      keyId: k.keyId,
      ...(k.key.comment !== undefined ? { comment: k.key.comment } : {}),
      verified: k.ok,
      reason: k.reason,
    })),
  };
}

interface VerifyOpts {
  inputFile: string;
  publicKey?: string[];
  keySet?: string[];
  signatureFile?: string;
  split?: string;
  ssh?: boolean;
  json?: boolean;
}

async function collectKeys(o: VerifyOpts, oneKeyPerFile: boolean): Promise<{ keys: PublicKey[]; files: string[] }> {
  const keys: PublicKey[] = [];
  const files: string[] = [];
  for (const f of o.publicKey ?? []) {
    const loaded = oneKeyPerFile ? [await loadPublicKey(f, keyFormat(o.ssh))] : await loadPublicKeys(f, keyFormat(o.ssh));
    for (const k of loaded) {
      keys.push(k);
      files.push(f);
    }
  }
  for (const f of o.keySet ?? []) {
    for (const k of await loadPublicKeys(f, "auto", "key set")) {
      keys.push(k);
      files.push(f);
    }
  }
  if (keys.length === 0) throw new UsageError("no public key: give -K/--public-key FILE or --key-set FILE", "NO_KEY");
  return { keys, files };
}

async function runVerify(o: VerifyOpts, matrix: boolean): Promise<void> {
  const { keys, files } = await collectKeys(o, !matrix);
  const rx = parseRegex(o.split);
  const r = await verifyFile(o.inputFile, keys, {
    ...(o.signatureFile !== undefined ? { signatureFile: o.signatureFile } : {}),
    ...(rx !== undefined ? { sections: rx } : {}),
  });
  if (matrix) {
    printResult(o.json, verifyJson(r, files), () => {
      const valid = r.keys.filter((k) => k.ok);
      return valid.length === 0 ? ["No valid public keys found"] : ["Valid public keys:", ...valid.map((k) => `  - ${files[k.index]}: ${describeKey(k.key)}`)];
    });
    // As wasmsign2's verify_matrix: finding no valid key is a result (exit 0), an unsigned module an error.
    if (!r.signed) throw new WasmOciError("NOT_SIGNED", `${o.inputFile}: ${r.reason}`);
    return;
  }
  printResult(o.json, verifyJson(r, files), () =>
    r.ok ? ["Signature is valid.", ...r.keys.filter((k) => k.ok).map((k) => `  verified by ${files[k.index]}: ${describeKey(k.key)}`)] : [],
  );
  if (!r.ok) throw new WasmOciError(r.signed ? "SIGNATURE_INVALID" : "NOT_SIGNED", `${o.inputFile}: ${r.reason}`);
}

export function register(program: Command): void {
  program
    .command("keygen")
    .description("generate an Ed25519 key pair (wasmsign2 compact files, or OpenSSH with --ssh)")
    .requiredOption("-k, --secret-key <file>", "secret key file to write (mode 0600)")
    .requiredOption("-K, --public-key <file>", "public key file to write")
    .option("-Z, --ssh", "write OpenSSH keys (ssh-ed25519 line, unencrypted OPENSSH PRIVATE KEY)")
    .option("-C, --comment <text>", "comment for OpenSSH keys", "")
    .option("--json", "print the key id as JSON")
    .action(async (o: { secretKey: string; publicKey: string; ssh?: boolean; comment: string; json?: boolean }) => {
      const sk = generateSecretKey();
      await writeKeyPair(sk, { secretKey: o.secretKey, publicKey: o.publicKey }, o.ssh ? "openssh" : "compact", o.comment);
      printResult(o.json, { secretKey: o.secretKey, publicKey: o.publicKey, keyId: keyIdHex(sk.publicKey), format: o.ssh ? "openssh" : "compact" }, () => [
        `Secret key saved to [${o.secretKey}]`,
        `Public key saved to [${o.publicKey}]`,
        `Key id: ${keyIdHex(sk.publicKey)}`,
      ]);
    });

  program
    .command("sign")
    .description("sign a module or component (embedded signature section, or detached with -S)")
    .requiredOption("-i, --input-file <file>", "module or component to sign")
    .requiredOption("-o, --output-file <file>", "signed output (written atomically; may equal the input)")
    .requiredOption("-k, --secret-key <file>", "secret key file")
    .option("-K, --public-key <file>", "public key file: stores its key id with the signature")
    .option("-S, --signature-file <file>", "write a detached signature here; the output module stays unsigned")
    .option("-Z, --ssh", "keys are OpenSSH files")
    .option("--json", "print the signed hashes and key id as JSON")
    .action(async (o: { inputFile: string; outputFile: string; secretKey: string; publicKey?: string; signatureFile?: string; ssh?: boolean; json?: boolean }) => {
      const fmt = keyFormat(o.ssh);
      const secretKey = await loadSecretKey(o.secretKey, fmt);
      const publicKey = o.publicKey !== undefined ? await loadPublicKey(o.publicKey, fmt) : undefined;
      const r = await signFile(o.inputFile, o.outputFile, {
        secretKey,
        ...(publicKey !== undefined ? { publicKey } : {}),
        ...(o.signatureFile !== undefined ? { signatureFile: o.signatureFile } : {}),
      });
      const json = {
        input: o.inputFile,
        output: o.outputFile,
        ...(o.signatureFile !== undefined ? { signatureFile: o.signatureFile } : {}),
        hashes: r.hashes,
        ...(r.keyId !== undefined ? { keyId: r.keyId } : {}),
        signatureSet: r.setIndex,
        signatureSize: r.signature.length,
      };
      printResult(o.json, json, () => [
        o.signatureFile !== undefined ? `Signed ${o.inputFile}: detached signature written to ${o.signatureFile}` : `Signed ${o.inputFile} -> ${o.outputFile}`,
        ...r.hashes.map((h) => `  hash: ${h}`),
        `  key id: ${r.keyId ?? "(none: pass -K to store it)"}`,
      ]);
    });

  program
    .command("verify")
    .description("verify a module's signature with one or more public keys (exit 0 valid, 1 invalid or unsigned)")
    .requiredOption("-i, --input-file <file>", "module or component")
    .option("-K, --public-key <file...>", "public key file(s); with --ssh the first key of each file")
    .option("--key-set <file...>", "file(s) of several OpenSSH public key lines (or compact/PEM keys)")
    .option("-S, --signature-file <file>", "detached signature")
    .option("-s, --split <regex>", "partial verification: custom sections whose name matches (and all standard sections) must be signed")
    .option("-Z, --ssh", "-K files are OpenSSH public keys")
    .option("--json", "print the result as JSON")
    .action((o: VerifyOpts) => runVerify(o, false));

  program
    .command("verify_matrix")
    .description("verify against several public keys at once and list the ones that signed")
    .requiredOption("-i, --input-file <file>", "module or component")
    .option("-K, --public-keys <file...>", "public key files (with --ssh, every key of each file)")
    .option("--key-set <file...>", "file(s) of OpenSSH public key lines")
    .option("-S, --signature-file <file>", "detached signature")
    .option("-s, --split <regex>", "partial verification regex, as for verify")
    .option("-Z, --ssh", "-K files are OpenSSH public keys")
    .option("--json", "print the result as JSON")
    .action((o: VerifyOpts & { publicKeys?: string[] }) => runVerify({ ...o, ...(o.publicKeys !== undefined ? { publicKey: o.publicKeys } : {}) }, true));

  program
    .command("detach")
    .description("move the embedded signature into a detached signature file")
    .requiredOption("-i, --input-file <file>", "signed module")
    .requiredOption("-o, --output-file <file>", "module without its signature section")
    .requiredOption("-S, --signature-file <file>", "detached signature to write")
    .action(async (o: { inputFile: string; outputFile: string; signatureFile: string }) => {
      await detachFile(o.inputFile, o.outputFile, o.signatureFile);
      log.info("Signature is now detached.");
    });

  program
    .command("attach")
    .description("embed a detached signature as the module's first section")
    .requiredOption("-i, --input-file <file>", "unsigned module")
    .requiredOption("-o, --output-file <file>", "module with the signature embedded")
    .requiredOption("-S, --signature-file <file>", "detached signature to embed")
    .action(async (o: { inputFile: string; outputFile: string; signatureFile: string }) => {
      await attachFile(o.inputFile, o.outputFile, o.signatureFile);
      log.info("Signature is now embedded as a custom section.");
    });

  program
    .command("split")
    .description("add signature delimiters so that partial verification (verify -s) is possible")
    .requiredOption("-i, --input-file <file>", "module or component")
    .requiredOption("-o, --output-file <file>", "split output")
    .option("-s, --split <regex>", "custom sections to be signed (default: all)")
    .action(async (o: { inputFile: string; outputFile: string; split?: string }) => {
      const r = await splitFile(o.inputFile, o.outputFile, parseRegex(o.split));
      log.info(`${r.delimiters} delimiter(s) added`);
    });

  program
    .command("show")
    .description("print a module's sections, signature sets, hashes and key ids")
    .requiredOption("-i, --input-file <file>", "module or component")
    .option("--json", "print as JSON")
    .action(async (o: { inputFile: string; json?: boolean }) => {
      const d = await describeFile(o.inputFile);
      printResult(o.json, d, () => {
        const lines = [`${d.kind}, ${d.size} bytes`];
        for (const s of d.sections) {
          lines.push(`${s.index}:\t${s.type} section${s.name !== undefined ? `: [${s.name}]` : ""} (${s.size} bytes at ${s.offset})`);
          if (s.index === 0 && d.signature !== undefined) {
            const sig = d.signature;
            lines.push(`- specification version: 0x${hex2(sig.version)}`, `- content type: 0x${hex2(sig.contentType)}`, `- hash function: 0x${hex2(sig.hashFunction)}${sig.hashFunction === 1 ? " (SHA-256)" : ""}`);
            sig.sets.forEach((set, i) => {
              lines.push(`- set ${i}:`, "  - hashes:", ...set.hashes.map((h) => `    - [${h}]`), "  - signatures:");
              for (const r of set.signatures) lines.push(`    - [${r.signature}] ${r.keyId !== undefined ? `(key id: [${r.keyId}])` : "(no key id)"}`);
              if (set.skippedRecords > 0) lines.push(`  - ${set.skippedRecords} record(s) with an unknown algorithm skipped`);
            });
          }
        }
        lines.push("content hashes (as a signer would sign now):", ...d.contentHashes.map((h) => `  - [${h}]`));
        return lines;
      });
    });
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
