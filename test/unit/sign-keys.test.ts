import { execFileSync, spawnSync } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  formatOpenSshPrivateKey,
  formatOpenSshPublicKey,
  generateSecretKey,
  loadPublicKey,
  loadPublicKeys,
  loadSecretKey,
  parseOpenSshPrivateKey,
  publicKeyFromRaw,
  secretKeyFromSeed,
  signBytes,
  verifyBytes,
  writeKeyPair,
} from "../../tools/src/sign/index.ts";
import { smallOrderEncodings } from "../../tools/src/sign/keys.ts";
import { RFC8032_PK, RFC8032_SEED, smallModule, tempDir } from "./sign-fixtures.ts";

const hasSshKeygen = spawnSync("ssh-keygen", ["-?"], { stdio: "ignore" }).error === undefined;

describe("compact keys", () => {
  it("writes 0x81||seed||pk (0600) and 0x01||pk, and reads them back", async () => {
    const dir = await tempDir("keys");
    const sk = secretKeyFromSeed(RFC8032_SEED);
    await writeKeyPair(sk, { secretKey: join(dir, "sk"), publicKey: join(dir, "pk") }, "compact");
    const skBytes = await readFile(join(dir, "sk"));
    expect(skBytes.toString("hex")).toBe(`81${RFC8032_SEED.toString("hex")}${RFC8032_PK.toString("hex")}`);
    expect((await readFile(join(dir, "pk"))).toString("hex")).toBe(`01${RFC8032_PK.toString("hex")}`);
    expect((await stat(join(dir, "sk"))).mode & 0o777).toBe(0o600);
    const back = await loadSecretKey(join(dir, "sk"), "compact");
    expect(Buffer.from(back.seed).equals(RFC8032_SEED)).toBe(true);
    expect(Buffer.from((await loadPublicKey(join(dir, "pk"), "compact")).raw).equals(RFC8032_PK)).toBe(true);
  });

  it("rejects wrong ids, lengths, mismatched halves and OpenSSH files without --ssh", async () => {
    const dir = await tempDir("keys");
    await writeFile(join(dir, "bad-id"), Buffer.concat([Buffer.from([0x02]), RFC8032_PK]));
    await expect(loadPublicKey(join(dir, "bad-id"), "compact")).rejects.toMatchObject({ code: "KEY_UNSUPPORTED" });
    await writeFile(join(dir, "short"), Buffer.from([0x01, 1, 2]));
    await expect(loadPublicKey(join(dir, "short"), "compact")).rejects.toMatchObject({ code: "KEY_MALFORMED" });
    const other = secretKeyFromSeed(new Uint8Array(32).fill(3));
    await writeFile(join(dir, "mixed"), Buffer.concat([Buffer.from([0x81]), RFC8032_SEED, Buffer.from(other.publicKey.raw)]));
    await expect(loadSecretKey(join(dir, "mixed"), "compact")).rejects.toMatchObject({ code: "KEY_MISMATCH" });
    await writeFile(join(dir, "ssh.pub"), formatOpenSshPublicKey(other.publicKey));
    await expect(loadPublicKey(join(dir, "ssh.pub"), "compact")).rejects.toThrow(/--ssh/);
    await expect(loadPublicKey(join(dir, "missing"), "compact")).rejects.toMatchObject({ code: "KEY_FILE", exitCode: 2 });
  });

  it("refuses every small-order public key (each really is a point of order dividing 8)", () => {
    for (const enc of smallOrderEncodings()) {
      expect(isSmallOrder(Buffer.from(enc, "hex"))).toBe(true);
      expect(() => publicKeyFromRaw(Buffer.from(enc, "hex"))).toThrow(/small-order/);
    }
    expect(isSmallOrder(RFC8032_PK)).toBe(false);
  });
});

describe("OpenSSH keys", () => {
  it("private key round trip keeps seed and comment; padding and check ints are valid", () => {
    const sk = secretKeyFromSeed(RFC8032_SEED);
    const text = formatOpenSshPrivateKey(sk, "me@example");
    expect(text.startsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n")).toBe(true);
    const back = parseOpenSshPrivateKey(text);
    expect(back.comment).toBe("me@example");
    expect(Buffer.from(back.key.seed).equals(RFC8032_SEED)).toBe(true);
  });

  it("key sets: several ed25519 lines, options, comments, other key types skipped", async () => {
    const dir = await tempDir("keys");
    const a = generateSecretKey().publicKey;
    const b = generateSecretKey().publicKey;
    const file = join(dir, "keys");
    await writeFile(
      file,
      `# team keys\n${formatOpenSshPublicKey(a, "alice")}\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== bob-rsa\nrestrict ${formatOpenSshPublicKey(b, "bob laptop")}`,
    );
    const keys = await loadPublicKeys(file, "openssh");
    expect(keys.map((k) => k.comment)).toEqual(["alice", "bob laptop"]);
    await writeFile(file, "ssh-ed25519 not-base64!!\n");
    await expect(loadPublicKeys(file, "openssh")).rejects.toThrow(/line 1/);
    await writeFile(file, "garbage\n");
    await expect(loadPublicKeys(file, "openssh")).rejects.toMatchObject({ code: "KEY_MALFORMED" });
  });

  it.skipIf(!hasSshKeygen)("encrypted private keys get a clear error", async () => {
    const dir = await tempDir("keys");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret-pass", "-f", join(dir, "enc")]);
    await expect(loadSecretKey(join(dir, "enc"), "openssh")).rejects.toMatchObject({ code: "KEY_ENCRYPTED" });
  });
});

describe.skipIf(!hasSshKeygen)("cross-checks with ssh-keygen", () => {
  it("ssh-keygen accepts our keys: -l on the public key, -y on the private key", async () => {
    const dir = await tempDir("keys");
    const sk = generateSecretKey();
    await writeKeyPair(sk, { secretKey: join(dir, "id"), publicKey: join(dir, "id.pub") }, "openssh", "ours@test");
    const fp = execFileSync("ssh-keygen", ["-l", "-f", join(dir, "id.pub")], { encoding: "utf8" });
    expect(fp).toMatch(/^256 SHA256:\S+ ours@test \(ED25519\)/);
    const derived = execFileSync("ssh-keygen", ["-y", "-f", join(dir, "id")], { encoding: "utf8" });
    expect(derived.trim().split(" ").slice(0, 2)).toEqual((await readFile(join(dir, "id.pub"), "utf8")).trim().split(" ").slice(0, 2));
    // Same fingerprint from the private key.
    const fp2 = execFileSync("ssh-keygen", ["-l", "-f", join(dir, "id")], { encoding: "utf8" });
    expect(fp2.split(" ")[1]).toBe(fp.split(" ")[1]);
  });

  it("keys made by ssh-keygen -t ed25519 -N '' sign and verify", async () => {
    const dir = await tempDir("keys");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "theirs@test", "-f", join(dir, "id")]);
    const sk = await loadSecretKey(join(dir, "id"), "openssh");
    const pk = await loadPublicKey(join(dir, "id.pub"), "openssh");
    expect(pk.comment).toBe("theirs@test");
    expect(Buffer.from(sk.publicKey.raw).equals(Buffer.from(pk.raw))).toBe(true);
    const signed = await signBytes(smallModule(), { secretKey: sk, publicKey: pk });
    expect((await verifyBytes(signed.module, [pk])).ok).toBe(true);
    // Our writer reproduces ssh-keygen's public line byte for byte.
    expect(formatOpenSshPublicKey(pk)).toBe(await readFile(join(dir, "id.pub"), "utf8"));
  });
});

// Curve25519 in Edwards form, just enough to check "8·P = identity" for the blocklist.
const P = 2n ** 255n - 19n;
const D = (-121665n * inv(121666n)) % P;
function mod(a: bigint): bigint {
  return ((a % P) + P) % P;
}
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}
function inv(a: bigint): bigint {
  return pow(a, P - 2n);
}
function decode(bytes: Uint8Array): [bigint, bigint] | undefined {
  const b = Buffer.from(bytes);
  const sign = (b[31] as number) >> 7;
  b[31] = (b[31] as number) & 0x7f;
  const y = BigInt(`0x${Buffer.from(b).reverse().toString("hex")}`);
  if (y >= P) return undefined;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  if (mod(v * x * x) !== u) {
    if (mod(v * x * x) !== mod(-u)) return undefined;
    x = mod(x * pow(2n, (P - 1n) / 4n));
  }
  if (x === 0n && sign === 1) return [0n, y];
  if (Number(x & 1n) !== sign) x = mod(-x);
  return [x, y];
}
function add([x1, y1]: [bigint, bigint], [x2, y2]: [bigint, bigint]): [bigint, bigint] {
  const t = mod(D * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + x2 * y1) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))];
}
function isSmallOrder(enc: Uint8Array): boolean {
  const pt = decode(enc);
  if (pt === undefined) return false;
  let q = pt;
  for (let i = 0; i < 3; i++) q = add(q, q);
  return q[0] === 0n && q[1] === 1n;
}
