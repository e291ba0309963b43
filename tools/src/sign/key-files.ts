import { chmod, open, readFile, rename, rm, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { asWriteError, tempBeside } from "../util/atomic-write.ts";
import { formatBytes, READ_LIMITS, readRegularFile } from "../util/bounded-read.ts";
import { UsageError } from "../util/errors.ts";
import { SignFormatError } from "./errors.ts";
import {
  encodeCompactPublicKey,
  encodeCompactSecretKey,
  parseCompactPublicKey,
  parseCompactSecretKey,
  publicKeyFromRaw,
  type PublicKey,
  type SecretKey,
} from "./keys.ts";
import { formatOpenSshPrivateKey, formatOpenSshPublicKey, parseOpenSshPrivateKey, parseOpenSshPublicKeys } from "./openssh.ts";
import { createPublicKey } from "node:crypto";

/** "compact" = wasmsign2's raw files; "openssh" = `--ssh`; "auto" guesses from the content. */
export type KeyFormat = "compact" | "openssh" | "auto";

async function readKeyFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readRegularFile(path, READ_LIMITS.keyFile, (size) => new Error(`${size} bytes or more; key files are at most ${formatBytes(READ_LIMITS.keyFile)}`)));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${what} ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`, "KEY_FILE");
  }
}

function decodeText(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new SignFormatError("KEY_MALFORMED", `${what}: an OpenSSH key file must be text`);
  }
}

/** PEM or DER SPKI, which wasmsign2 also accepts for public keys. */
function parseSpki(bytes: Uint8Array, what: string): PublicKey | undefined {
  const text = new TextDecoder().decode(bytes.subarray(0, 64));
  const isPem = text.includes("-----BEGIN PUBLIC KEY-----");
  if (!isPem && bytes[0] !== 0x30) return undefined;
  try {
    const key = createPublicKey(isPem ? { key: Buffer.from(bytes).toString("utf8"), format: "pem" } : { key: Buffer.from(bytes), format: "der", type: "spki" });
    if (key.asymmetricKeyType !== "ed25519") return undefined;
    const der = key.export({ format: "der", type: "spki" });
    return publicKeyFromRaw(new Uint8Array(der.subarray(der.length - 32)), what);
  } catch {
    return undefined;
  }
}

/** Parses public key file content: one key for compact/PEM files, possibly several for OpenSSH. */
export function parsePublicKeys(bytes: Uint8Array, format: KeyFormat, what: string): PublicKey[] {
  if (format === "compact") return [parseCompactPublicKey(bytes, what)];
  if (format === "auto") {
    if (bytes.length === 33 && bytes[0] === 0x01) return [parseCompactPublicKey(bytes, what)];
    const spki = parseSpki(bytes, what);
    if (spki !== undefined) return [spki];
  }
  const { keys, skippedTypes } = parseOpenSshPublicKeys(decodeText(bytes, what), what);
  if (keys.length === 0) {
    throw new SignFormatError(
      "KEY_UNSUPPORTED",
      `${what}: no ssh-ed25519 public key found${skippedTypes.length > 0 ? ` (skipped key types: ${[...new Set(skippedTypes)].join(", ")})` : ""}`,
    );
  }
  return keys.map((k) => k.key);
}

export async function loadPublicKeys(path: string, format: KeyFormat, what = "public key"): Promise<PublicKey[]> {
  return parsePublicKeys(await readKeyFile(path, what), format, `${what} ${path}`);
}

/** One key: the first of an OpenSSH file, as wasmsign2 does for `-K` with `--ssh`. */
export async function loadPublicKey(path: string, format: KeyFormat, what = "public key"): Promise<PublicKey> {
  const keys = await loadPublicKeys(path, format, what);
  return keys[0] as PublicKey;
}

export function parseSecretKey(bytes: Uint8Array, format: KeyFormat, what: string): SecretKey {
  if (format === "compact" || (format === "auto" && bytes.length === 65 && bytes[0] === 0x81)) return parseCompactSecretKey(bytes, what);
  return parseOpenSshPrivateKey(decodeText(bytes, what), what).key;
}

export async function loadSecretKey(path: string, format: KeyFormat, what = "secret key"): Promise<SecretKey> {
  return parseSecretKey(await readKeyFile(path, what), format, `${what} ${path}`);
}

/** Writes a file atomically with the given mode from the start (secret keys must never be world-readable). */
async function writeWithMode(target: string, data: Uint8Array | string, mode: number): Promise<void> {
  const tmp = await tempBeside(target);
  try {
    const fh = await open(tmp, "wx", mode);
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw asWriteError(e, target);
  }
}

export async function writeKeyPair(
  sk: SecretKey,
  paths: { secretKey: string; publicKey: string },
  format: "compact" | "openssh",
  comment = "",
): Promise<void> {
  if (format === "openssh") {
    await writeWithMode(paths.secretKey, formatOpenSshPrivateKey(sk, comment), 0o600);
    await writeWithMode(paths.publicKey, formatOpenSshPublicKey(sk.publicKey, comment), 0o644);
  } else {
    await writeWithMode(paths.secretKey, encodeCompactSecretKey(sk), 0o600);
    await writeWithMode(paths.publicKey, encodeCompactPublicKey(sk.publicKey), 0o644);
  }
}
