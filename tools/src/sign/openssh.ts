import { randomBytes } from "node:crypto";
import { SignFormatError } from "./errors.ts";
import { publicKeyFromRaw, secretKeyFromSeed, type PublicKey, type SecretKey } from "./keys.ts";
import { hex } from "./sections.ts";
import { concatBytes } from "./varint.ts";

/**
 * OpenSSH Ed25519 keys: `ssh-ed25519 <base64> [comment]` public lines and unencrypted
 * `openssh-key-v1` private keys (OpenSSH's PROTOCOL.key). Only what Ed25519 needs is
 * implemented; other key types are reported as unsupported, encrypted keys as encrypted.
 */
const KEY_TYPE = "ssh-ed25519";
const MAGIC = "openssh-key-v1\0";
const BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
const END = "-----END OPENSSH PRIVATE KEY-----";

class SshReader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {}

  u32(field: string): number {
    if (this.pos + 4 > this.buf.length) throw malformed(this.what, `truncated before ${field}`);
    const b = this.buf;
    const v = ((b[this.pos] as number) * 2 ** 24) + (((b[this.pos + 1] as number) << 16) | ((b[this.pos + 2] as number) << 8) | (b[this.pos + 3] as number));
    this.pos += 4;
    return v;
  }

  string(field: string): Uint8Array {
    const n = this.u32(`${field} length`);
    if (this.pos + n > this.buf.length) throw malformed(this.what, `${field} runs past the end (${n} bytes)`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  text(field: string): string {
    return new TextDecoder().decode(this.string(field));
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

function malformed(what: string, detail: string): SignFormatError {
  return new SignFormatError("KEY_MALFORMED", `${what}: malformed OpenSSH key: ${detail}`);
}

function sshString(b: Uint8Array | string): Uint8Array {
  const bytes = typeof b === "string" ? new TextEncoder().encode(b) : b;
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, bytes.length);
  return concatBytes([len, bytes]);
}

function u32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v >>> 0);
  return out;
}

/** The public key blob: string("ssh-ed25519") string(pk). */
export function publicBlob(pk: PublicKey): Uint8Array {
  return concatBytes([sshString(KEY_TYPE), sshString(pk.raw)]);
}

function parsePublicBlob(blob: Uint8Array, what: string, comment?: string): PublicKey {
  const r = new SshReader(blob, what);
  const type = r.text("key type");
  if (type !== KEY_TYPE) throw new SignFormatError("KEY_UNSUPPORTED", `${what}: key type ${type} is not supported, only ssh-ed25519`);
  const raw = r.string("public key");
  if (r.remaining !== 0) throw malformed(what, "trailing bytes after the public key");
  return publicKeyFromRaw(raw, what, comment);
}

export function formatOpenSshPublicKey(pk: PublicKey, comment = pk.comment): string {
  const b64 = Buffer.from(publicBlob(pk)).toString("base64");
  return comment !== undefined && comment !== "" ? `${KEY_TYPE} ${b64} ${comment}\n` : `${KEY_TYPE} ${b64}\n`;
}

const SSH_KEY_TYPE_RE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-ed448)(-cert-v01@openssh\.com)?$/;

export interface PublicKeyLine {
  line: number;
  key: PublicKey;
}

/**
 * Parses a file of OpenSSH public key lines (one key, or a key set such as authorized_keys or
 * GitHub's `.keys`). Blank and `#` lines are ignored; keys of other types are skipped and
 * counted; a line that is not a public key line at all is an error naming the line.
 */
export function parseOpenSshPublicKeys(text: string, what = "public key file"): { keys: PublicKeyLine[]; skippedTypes: string[] } {
  const keys: PublicKeyLine[] = [];
  const skippedTypes: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    // authorized_keys lines may start with options; the key type is the first field that looks like one.
    const at = fields.findIndex((f) => SSH_KEY_TYPE_RE.test(f));
    if (at < 0 || fields[at + 1] === undefined) {
      throw malformed(`${what} line ${i + 1}`, "expected `ssh-ed25519 <base64> [comment]`");
    }
    const type = fields[at] as string;
    if (type !== KEY_TYPE) {
      skippedTypes.push(type);
      continue;
    }
    const b64 = fields[at + 1] as string;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw malformed(`${what} line ${i + 1}`, "key data is not base64");
    const comment = fields.slice(at + 2).join(" ");
    const key = parsePublicBlob(new Uint8Array(Buffer.from(b64, "base64")), `${what} line ${i + 1}`, comment === "" ? undefined : comment);
    keys.push({ line: i + 1, key });
  }
  return { keys, skippedTypes };
}

/** Writes an unencrypted openssh-key-v1 private key, as `ssh-keygen -N ''` does. */
export function formatOpenSshPrivateKey(sk: SecretKey, comment = ""): string {
  const check = randomBytes(4).readUInt32BE(0);
  const priv: Uint8Array[] = [
    u32(check),
    u32(check),
    sshString(KEY_TYPE),
    sshString(sk.publicKey.raw),
    sshString(concatBytes([sk.seed, sk.publicKey.raw])),
    sshString(comment),
  ];
  let body = concatBytes(priv);
  const pad: number[] = [];
  for (let i = 1; (body.length + pad.length) % 8 !== 0; i++) pad.push(i);
  body = concatBytes([body, Uint8Array.from(pad)]);
  const blob = concatBytes([
    new TextEncoder().encode(MAGIC),
    sshString("none"),
    sshString("none"),
    sshString(new Uint8Array(0)),
    u32(1),
    sshString(publicBlob(sk.publicKey)),
    sshString(body),
  ]);
  const b64 = Buffer.from(blob).toString("base64");
  const wrapped = b64.match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${wrapped.join("\n")}\n${END}\n`;
}

export function parseOpenSshPrivateKey(text: string, what = "secret key"): { key: SecretKey; comment: string } {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) {
    if (/-----BEGIN (RSA|EC|DSA|ENCRYPTED )?PRIVATE KEY-----/.test(text)) {
      throw new SignFormatError("KEY_UNSUPPORTED", `${what}: PEM private keys are not supported, expected an OpenSSH private key (ssh-keygen -t ed25519)`);
    }
    throw malformed(what, `no "${BEGIN}" block`);
  }
  const b64 = text.slice(begin + BEGIN.length, end).replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw malformed(what, "body is not base64");
  const blob = new Uint8Array(Buffer.from(b64, "base64"));
  const magic = new TextEncoder().encode(MAGIC);
  if (blob.length < magic.length || hex(blob.subarray(0, magic.length)) !== hex(magic)) throw malformed(what, "missing openssh-key-v1 magic");
  const r = new SshReader(blob.subarray(magic.length), what);
  const cipher = r.text("cipher name");
  const kdf = r.text("kdf name");
  r.string("kdf options");
  if (cipher !== "none" || kdf !== "none") {
    throw new SignFormatError(
      "KEY_ENCRYPTED",
      `${what}: the OpenSSH private key is encrypted (cipher ${cipher}, kdf ${kdf}); decrypt it first with \`ssh-keygen -p -N '' -f FILE\` or use an unencrypted key`,
    );
  }
  const n = r.u32("key count");
  if (n !== 1) throw new SignFormatError("KEY_UNSUPPORTED", `${what}: holds ${n} keys, expected exactly one`);
  const pubBlob = r.string("public key");
  const pub = parsePublicBlob(pubBlob, `${what} (public part)`);
  const p = new SshReader(r.string("private section"), what);
  const c1 = p.u32("check int");
  const c2 = p.u32("check int");
  if (c1 !== c2) throw malformed(what, "check integers differ (corrupt key)");
  const type = p.text("key type");
  if (type !== KEY_TYPE) throw new SignFormatError("KEY_UNSUPPORTED", `${what}: key type ${type} is not supported, only ssh-ed25519`);
  const pk = p.string("public key");
  const skBytes = p.string("private key");
  const comment = p.text("comment");
  for (let i = 1; p.remaining > 0; i++) {
    const b = p.buf[p.pos++];
    if (b !== (i & 0xff)) throw malformed(what, "bad padding");
  }
  if (skBytes.length !== 64) throw malformed(what, `Ed25519 private key is ${skBytes.length} bytes, expected 64`);
  const key = secretKeyFromSeed(skBytes.subarray(0, 32), what);
  if (hex(key.publicKey.raw) !== hex(pk) || hex(pk) !== hex(pub.raw) || hex(skBytes.subarray(32)) !== hex(pk)) {
    throw new SignFormatError("KEY_MISMATCH", `${what}: the public key stored in the file does not belong to its private key`);
  }
  return { key, comment };
}
