// Real round trips through the built bundle (`pnpm build` first), with keys from our keygen and
// from ssh-keygen, on the wasmsign2 sample module and a jco-built component.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, runCli } from "../helpers/cli.ts";
import { simpleComponent } from "../helpers/wasm-fixtures.ts";
import { tempDir, Z_WASM } from "../unit/sign-fixtures.ts";

const hasSshKeygen = spawnSync("ssh-keygen", ["-?"], { stdio: "ignore" }).error === undefined;

describe.skipIf(!cliBuilt() || !existsSync(Z_WASM))("wasm-oci keygen/sign/verify/detach/attach/show/split (built CLI)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("sign-cli");
    await copyFile(Z_WASM, join(dir, "z.wasm"));
  });
  const p = (f: string) => join(dir, f);

  it("compact keys: sign with key id, verify, detach, attach, verify, show --json", async () => {
    let r = await runCli(["keygen", "-k", p("sk"), "-K", p("pk"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const keyId = JSON.parse(r.stdout).keyId as string;
    expect((await readFile(p("sk"))).length).toBe(65);
    expect((await readFile(p("pk"))).length).toBe(33);

    r = await runCli(["sign", "-i", p("z.wasm"), "-o", p("signed.wasm"), "-k", p("sk"), "-K", p("pk"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).keyId).toBe(keyId);

    r = await runCli(["verify", "-i", p("signed.wasm"), "-K", p("pk")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Signature is valid.");

    r = await runCli(["detach", "-i", p("signed.wasm"), "-o", p("bare.wasm"), "-S", p("z.sig")]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(p("bare.wasm"))).equals(await readFile(p("z.wasm")))).toBe(true);
    r = await runCli(["verify", "-i", p("bare.wasm"), "-K", p("pk")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not signed/);
    r = await runCli(["verify", "-i", p("bare.wasm"), "-K", p("pk"), "-S", p("z.sig"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).keys[0]).toMatchObject({ keyId, verified: true });

    r = await runCli(["attach", "-i", p("bare.wasm"), "-o", p("again.wasm"), "-S", p("z.sig")]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(p("again.wasm"))).equals(await readFile(p("signed.wasm")))).toBe(true);
    r = await runCli(["verify", "-i", p("again.wasm"), "-K", p("pk")]);
    expect(r.code, r.stderr).toBe(0);

    r = await runCli(["show", "-i", p("again.wasm"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const show = JSON.parse(r.stdout);
    expect(show.signature.sets[0].signatures[0].keyId).toBe(keyId);

    // Re-signing with the same key is a duplicate; the output is not touched.
    r = await runCli(["sign", "-i", p("signed.wasm"), "-o", p("dup.wasm"), "-k", p("sk"), "-K", p("pk")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/duplicate signature/);
    expect(existsSync(p("dup.wasm"))).toBe(false);
  });

  it("a tampered module fails with exit 1; a wrong key file is a clear error", async () => {
    await runCli(["keygen", "-k", p("sk2"), "-K", p("pk2")]);
    const signed = await readFile(p("signed.wasm"));
    signed.writeUInt8(signed.readUInt8(signed.length - 10) ^ 1, signed.length - 10);
    await writeFile(p("tampered.wasm"), signed);
    let r = await runCli(["verify", "-i", p("tampered.wasm"), "-K", p("pk")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/modified after signing/);
    r = await runCli(["verify", "-i", p("signed.wasm"), "-K", p("pk2")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/key id mismatch/);
    r = await runCli(["sign", "-i", p("z.wasm"), "-o", p("x.wasm"), "-k", p("pk")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a compact wasmsign2 secret key/);
    r = await runCli(["verify", "-i", p("signed.wasm")]);
    expect(r.code).toBe(2);
  });

  it("verify_matrix lists the keys that signed", async () => {
    const r0 = await runCli(["sign", "-i", p("signed.wasm"), "-o", p("two.wasm"), "-k", p("sk2")]);
    expect(r0.code, r0.stderr).toBe(0);
    await runCli(["keygen", "-k", p("sk3"), "-K", p("pk3")]);
    const r = await runCli(["verify_matrix", "-i", p("two.wasm"), "-K", p("pk"), p("pk2"), p("pk3"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).keys.map((k: { verified: boolean }) => k.verified)).toEqual([true, true, false]);
    // No valid key is a result, not a failure (as wasmsign2); an unsigned module is a failure.
    const none = await runCli(["verify_matrix", "-i", p("two.wasm"), "-K", p("pk3")]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toContain("No valid public keys found");
    const unsigned = await runCli(["verify_matrix", "-i", p("z.wasm"), "-K", p("pk3")]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/NOT_SIGNED/);
  });

  it("split then partial verification with -s", async () => {
    let r = await runCli(["split", "-i", p("z.wasm"), "-o", p("split.wasm"), "-s", "^name$"]);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(["sign", "-i", p("split.wasm"), "-o", p("split-signed.wasm"), "-k", p("sk")]);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(["verify", "-i", p("split-signed.wasm"), "-K", p("pk"), "-s", "^name$"]);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(["verify", "-i", p("split-signed.wasm"), "-K", p("pk"), "-s", "("]);
    expect(r.code).toBe(2);
  });

  it("components sign and verify like modules", async () => {
    await writeFile(p("comp.wasm"), await simpleComponent());
    let r = await runCli(["sign", "-i", p("comp.wasm"), "-o", p("comp.wasm"), "-k", p("sk"), "-K", p("pk")]);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(["verify", "-i", p("comp.wasm"), "-K", p("pk"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).kind).toBe("component");
  });

  it.skipIf(!hasSshKeygen)("OpenSSH: our keygen --ssh is accepted by ssh-keygen; ssh-keygen keys work with sign/verify --ssh and --key-set", async () => {
    let r = await runCli(["keygen", "-k", p("id_ours"), "-K", p("id_ours.pub"), "--ssh", "-C", "ours"]);
    expect(r.code, r.stderr).toBe(0);
    expect(execFileSync("ssh-keygen", ["-l", "-f", p("id_ours.pub")], { encoding: "utf8" })).toMatch(/ED25519/);
    const y = execFileSync("ssh-keygen", ["-y", "-f", p("id_ours")], { encoding: "utf8" });
    expect(y.split(" ")[1]).toBe((await readFile(p("id_ours.pub"), "utf8")).split(" ")[1]);

    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "theirs", "-f", p("id_theirs")]);
    r = await runCli(["sign", "-i", p("z.wasm"), "-o", p("ssh.wasm"), "-k", p("id_theirs"), "-K", p("id_theirs.pub"), "--ssh"]);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(["sign", "-i", p("ssh.wasm"), "-o", p("ssh.wasm"), "-k", p("id_ours"), "-Z"]);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(["verify", "-i", p("ssh.wasm"), "-K", p("id_theirs.pub"), "--ssh"]);
    expect(r.code, r.stderr).toBe(0);
    await writeFile(p("team.keys"), (await readFile(p("id_ours.pub"), "utf8")) + (await readFile(p("id_theirs.pub"), "utf8")));
    r = await runCli(["verify", "-i", p("ssh.wasm"), "--key-set", p("team.keys"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const keys = JSON.parse(r.stdout).keys as Array<{ comment: string; verified: boolean }>;
    expect(keys.map((k) => [k.comment, k.verified])).toEqual([
      ["ours", true],
      ["theirs", true],
    ]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "pw", "-f", p("id_enc")]);
    r = await runCli(["sign", "-i", p("z.wasm"), "-o", p("enc.wasm"), "-k", p("id_enc"), "--ssh"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/encrypted/);
  });
});
