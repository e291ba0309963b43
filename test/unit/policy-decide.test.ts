import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { decide, loadPolicy, parsePolicy, selectRule, type PolicyDecision } from "../../tools/src/policy/decide.ts";
import { globMatches, mostSpecificMatch } from "../../tools/src/policy/glob.ts";
import { signForPolicy } from "../../tools/src/policy/sign-for-policy.ts";
import { SecurityPolicySchema } from "../../tools/src/policy/schema.ts";
import { z } from "zod";
import { formatOpenSshPublicKey, secretKeyFromSeed, signBytes, writeKeyPair } from "../../tools/src/sign/index.ts";
import { smallModule, tempDir } from "./sign-fixtures.ts";

const alice = secretKeyFromSeed(new Uint8Array(32).fill(0xa1));
const bob = secretKeyFromSeed(new Uint8Array(32).fill(0xb0));
const carol = secretKeyFromSeed(new Uint8Array(32).fill(0xc4));

let dir: string;
const modules: Record<string, Uint8Array> = {};
let aliceSig: Uint8Array;

const policyJson = (carolPath: string) => ({
  default_signing_required: true,
  signature_type: "embedded",
  keys: {
    alice: { public_key: "keys/alice.pub" },
    bob: { public_key: "keys/bob.pub" },
    carol: { public_key: carolPath, format: "openssh" },
  },
  registry_policies: [
    { registry: "*.example.com", signing: "required", allowed_keys: ["bob"] },
    { registry: "ghcr.io", signing: "optional" },
    { registry: "ghcr.*", signing: "required", allowed_keys: ["carol"] },
  ],
  component_policies: [
    { component: "prod-*", signing: "required", allowed_keys: ["alice"] },
    { component: "prod-web", signing: "required", allowed_keys: ["carol"] },
    { component: "prod-w*", signing: "optional" },
    { component: "dev-*", signing: "optional", allowed_keys: ["alice"] },
    { component: "prod-x?", signing: "required", allowed_keys: ["bob"] },
    { component: "prod-*x", signing: "optional" },
  ],
});

beforeAll(async () => {
  dir = await tempDir("policy");
  await mkdir(join(dir, "keys"));
  await writeKeyPair(alice, { secretKey: join(dir, "keys/alice.sk"), publicKey: join(dir, "keys/alice.pub") }, "compact");
  await writeKeyPair(bob, { secretKey: join(dir, "keys/bob.sk"), publicKey: join(dir, "keys/bob.pub") }, "compact");
  // An absolute path, OpenSSH format.
  await writeFile(join(dir, "carol.pub"), formatOpenSshPublicKey(carol.publicKey, "carol@ci"));
  await writeFile(join(dir, "policy.json"), JSON.stringify(policyJson(join(dir, "carol.pub"))));
  const m = smallModule();
  modules["unsigned"] = m;
  modules["alice"] = (await signBytes(m, { secretKey: alice, publicKey: alice.publicKey })).module;
  modules["bob-kid"] = (await signBytes(m, { secretKey: bob, publicKey: bob.publicKey })).module;
  modules["bob-nokid"] = (await signBytes(m, { secretKey: bob })).module;
  modules["carol"] = (await signBytes(m, { secretKey: carol, publicKey: carol.publicKey })).module;
  const tampered = new Uint8Array(modules["alice"]);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
  modules["alice-tampered"] = tampered;
  const det = await signBytes(m, { secretKey: alice, publicKey: alice.publicKey, detached: true });
  aliceSig = det.signature;
  modules["garbage"] = Uint8Array.from([1, 2, 3, 4]);
});

interface Case {
  name: string;
  component: string;
  registry?: string;
  module: string;
  allow: boolean;
  rule: string;
  signing?: "required" | "optional";
  verifiedKey?: string;
  reason?: RegExp;
}

const cases: Case[] = [
  { name: "required, allowed key", component: "prod-api", module: "alice", allow: true, rule: "component_policies[0] (prod-*)", verifiedKey: "alice" },
  { name: "required, disallowed key (key id mismatch)", component: "prod-api", module: "bob-kid", allow: false, rule: "component_policies[0] (prod-*)", reason: /key "bob".*not allowed/ },
  { name: "required, signature without key id by a disallowed key", component: "prod-api", module: "bob-nokid", allow: false, rule: "component_policies[0] (prod-*)", reason: /none valid/ },
  { name: "required, unsigned", component: "prod-api", module: "unsigned", allow: false, rule: "component_policies[0] (prod-*)", reason: /no embedded signature/ },
  { name: "required, tampered after signing", component: "prod-api", module: "alice-tampered", allow: false, rule: "component_policies[0] (prod-*)", reason: /modified after signing/ },
  { name: "optional, unsigned = allow with reason", component: "dev-tool", module: "unsigned", allow: true, rule: "component_policies[3] (dev-*)", signing: "optional", reason: /optional/ },
  { name: "optional, signed by an unlisted key = allow with reason", component: "dev-tool", module: "bob-kid", allow: true, rule: "component_policies[3] (dev-*)", reason: /unverified signature/ },
  { name: "optional, allowed key verified", component: "dev-tool", module: "alice", allow: true, rule: "component_policies[3] (dev-*)", verifiedKey: "alice" },
  { name: "exact name beats globs", component: "prod-web", module: "alice", allow: false, rule: "component_policies[1] (prod-web)" },
  { name: "exact name, its key (OpenSSH, absolute path)", component: "prod-web", module: "carol", allow: true, rule: "component_policies[1] (prod-web)", verifiedKey: "carol" },
  { name: "longer literal prefix wins", component: "prod-wx", module: "unsigned", allow: true, rule: "component_policies[2] (prod-w*)" },
  { name: "longer literal prefix wins (? glob)", component: "prod-xy", module: "bob-kid", allow: true, rule: "component_policies[4] (prod-x?)", verifiedKey: "bob" },
  { name: "equal prefixes: first listed wins", component: "prod-ax", module: "unsigned", allow: false, rule: "component_policies[0] (prod-*)" },
  { name: "component policy over registry policy", component: "prod-api", registry: "ghcr.io", module: "unsigned", allow: false, rule: "component_policies[0] (prod-*)" },
  { name: "registry glob", component: "other", registry: "r.example.com", module: "bob-nokid", allow: true, rule: "registry_policies[0] (*.example.com)", verifiedKey: "bob" },
  { name: "registry exact beats glob", component: "other", registry: "ghcr.io", module: "unsigned", allow: true, rule: "registry_policies[1] (ghcr.io)" },
  { name: "registry glob, wrong key", component: "other", registry: "ghcr.dev", module: "alice", allow: false, rule: "registry_policies[2] (ghcr.*)", reason: /key "alice".*not allowed/ },
  { name: "no match: default (required)", component: "other", registry: "quay.io", module: "unsigned", allow: false, rule: "default", signing: "required" },
  { name: "default: any policy key", component: "other", registry: "quay.io", module: "carol", allow: true, rule: "default", verifiedKey: "carol" },
  { name: "not a module at all", component: "dev-tool", module: "garbage", allow: false, rule: "component_policies[3] (dev-*)", reason: /not a valid WebAssembly/ },
];

describe("policy decisions", () => {
  it.each(cases)("$name", async (c) => {
    const { policy, policyDir } = await loadPolicy(join(dir, "policy.json"));
    const d: PolicyDecision = await decide({ policy, policyDir, component: c.component, registry: c.registry ?? "", wasm: modules[c.module] as Uint8Array });
    expect({ allow: d.allow, rule: d.rule }, d.reasons.join("\n")).toEqual({ allow: c.allow, rule: c.rule });
    if (c.signing !== undefined) expect(d.signing).toBe(c.signing);
    expect(d.verifiedKey).toBe(c.verifiedKey);
    if (c.verifiedKey !== undefined) expect(d.keyId).toMatch(/^[0-9a-f]{24}$/);
    if (c.reason !== undefined) expect(d.reasons.join("\n")).toMatch(c.reason);
    expect(d.reasons[0]).toContain(c.rule);
  });

  it("detached signatures: missing = deny under required, given = verified; paths work too", async () => {
    const { policy, policyDir } = await loadPolicy(join(dir, "policy.json"));
    const p = { ...policy, signature_type: "detached" as const };
    const base = { policy: p, policyDir, component: "prod-api", registry: "", wasm: modules["unsigned"] as Uint8Array };
    const missing = await decide(base);
    expect(missing.allow).toBe(false);
    expect(missing.reasons.join("\n")).toMatch(/none was given/);
    const given = await decide({ ...base, detachedSignature: aliceSig });
    expect(given).toMatchObject({ allow: true, verifiedKey: "alice" });
    await writeFile(join(dir, "m.wasm"), modules["unsigned"] as Uint8Array);
    await writeFile(join(dir, "m.sig"), aliceSig);
    expect(await decide({ ...base, wasm: join(dir, "m.wasm"), detachedSignature: join(dir, "m.sig") })).toMatchObject({ allow: true, verifiedKey: "alice" });
    const optional = await decide({ ...base, component: "dev-x" });
    expect(optional.allow).toBe(true);
    // Embedded policy: a detached signature is ignored, and said so.
    const ignored = await decide({ ...base, policy, detachedSignature: aliceSig });
    expect(ignored.allow).toBe(false);
    expect(ignored.reasons.join("\n")).toMatch(/ignored/);
  });

  it("a key file that cannot be loaded is a policy error naming the key", async () => {
    const policy = parsePolicy(JSON.stringify({ default_signing_required: true, keys: { gone: { public_key: "nope.pub" } } }));
    await expect(decide({ policy, policyDir: dir, component: "x", registry: "", wasm: modules["alice"] as Uint8Array })).rejects.toMatchObject({
      code: "POLICY_KEY",
      message: expect.stringMatching(/policy key "gone".*nope\.pub/),
    });
  });

  it("openssh_format sets the default key format", async () => {
    await writeFile(join(dir, "carol2.pub"), formatOpenSshPublicKey(carol.publicKey));
    const policy = parsePolicy(JSON.stringify({ default_signing_required: true, openssh_format: true, keys: { c: { public_key: "carol2.pub" } } }));
    expect(await decide({ policy, policyDir: dir, component: "x", registry: "", wasm: modules["carol"] as Uint8Array })).toMatchObject({ allow: true, verifiedKey: "c" });
  });
});

describe("policy schema", () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ["unknown top-level field", { default_signing_requird: true }, /\(top level\): Unrecognized key: "default_signing_requird"/],
    ["unknown field in an entry", { registry_policies: [{ registry: "r", signing: "required", allowed: ["k"] }] }, /registry_policies\[0\]: Unrecognized key: "allowed"/],
    ["bad signing value", { component_policies: [{ component: "c", signing: "yes" }] }, /component_policies\[0\]\.signing: .*"required"\|"optional"/],
    ["missing pattern", { component_policies: [{ signing: "required" }] }, /component_policies\[0\]\.component/],
    ["allowed key not defined", { keys: { a: { public_key: "a.pub" } }, registry_policies: [{ registry: "r", signing: "required", allowed_keys: ["a", "b"] }] }, /registry_policies\[0\]\.allowed_keys\[1\]: unknown key "b"/],
    ["empty allowed_keys", { keys: { a: { public_key: "a.pub" } }, registry_policies: [{ registry: "r", signing: "required", allowed_keys: [] }] }, /allowed_keys: list at least one key/],
    ["bad key format", { keys: { a: { public_key: "a.pub", format: "pem" } } }, /keys\.a\.format/],
    ["bad signature_type", { signature_type: "both" }, /signature_type/],
    ["wrong type", { default_signing_required: "true" }, /default_signing_required: .*boolean/],
  ];
  it.each(bad)("rejects %s, naming the field", (_name, json, re) => {
    expect(() => parsePolicy(JSON.stringify(json), "p.json")).toThrow(re);
  });

  it("defaults: nothing required, embedded, compact keys", () => {
    expect(parsePolicy("{}")).toEqual({
      default_signing_required: false,
      signature_type: "embedded",
      openssh_format: false,
      registry_policies: [],
      component_policies: [],
      keys: {},
    });
    expect(selectRule(parsePolicy("{}"), "a", "b")).toMatchObject({ rule: "default", signing: "optional" });
  });
});

describe("globs", () => {
  it.each([
    ["*", "", true],
    ["*", "ghcr.io/org/x:1", true],
    ["ghcr.io", "ghcr.io", true],
    ["ghcr.io", "ghcrxio", false],
    ["ghcr.*", "ghcr.io", true],
    ["?", "ab", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["localhost:*", "localhost:5000", true],
    ["wasi:*/*@0.2.*", "wasi:http/proxy@0.2.3", true],
    ["(x)+", "(x)+", true],
    ["[ab]", "a", false],
  ] as const)("%s vs %s -> %s", (pattern, name, want) => {
    expect(globMatches(pattern, name)).toBe(want);
  });

  it("most specific: exact, then longest literal prefix, then first", () => {
    expect(mostSpecificMatch(["*", "a*", "abc"], "abc")).toBe(2);
    expect(mostSpecificMatch(["*", "ab*", "a*"], "abc")).toBe(1);
    expect(mostSpecificMatch(["a*c", "a*"], "abc")).toBe(0);
    expect(mostSpecificMatch(["x*"], "abc")).toBeUndefined();
  });
});

describe("signForPolicy (push --policy with a secret key)", () => {
  it("signs when the rule requires it, so that decide() then allows; leaves optional rules alone", async () => {
    const { policy, policyDir } = await loadPolicy(join(dir, "policy.json"));
    const base = { policy, policyDir, registry: "", wasm: modules["unsigned"] as Uint8Array, secretKey: alice };
    const r = await signForPolicy({ ...base, component: "prod-api" });
    expect(r).toMatchObject({ signed: true, rule: "component_policies[0] (prod-*)" });
    expect(await decide({ policy, policyDir, component: "prod-api", registry: "", wasm: r.wasm })).toMatchObject({ allow: true, verifiedKey: "alice" });
    // Already signed by an allowed key: unchanged (no duplicate signature).
    const again = await signForPolicy({ ...base, component: "prod-api", wasm: r.wasm });
    expect(again.signed).toBe(false);
    expect(again.wasm).toBe(r.wasm);
    expect((await signForPolicy({ ...base, component: "dev-tool" })).signed).toBe(false);
    // Signing with a key the rule does not allow still gets denied by decide().
    const wrong = await signForPolicy({ ...base, component: "prod-web" });
    expect((await decide({ policy, policyDir, component: "prod-web", registry: "", wasm: wrong.wasm })).allow).toBe(false);
    // Detached policies get a detached signature and an unchanged module.
    const det = await signForPolicy({ ...base, policy: { ...policy, signature_type: "detached" }, component: "prod-api" });
    expect(det.wasm).toBe(base.wasm);
    const d = await decide({ policy: { ...policy, signature_type: "detached" }, policyDir, component: "prod-api", registry: "", wasm: det.wasm, detachedSignature: det.detachedSignature as Uint8Array });
    expect(d).toMatchObject({ allow: true, verifiedKey: "alice" });
  });

  it("the JSON Schema export describes the policy fields", () => {
    const schema = z.toJSONSchema(SecurityPolicySchema, { io: "input" }) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties).sort()).toEqual(["component_policies", "default_signing_required", "keys", "openssh_format", "registry_policies", "signature_type"]);
    expect(schema.additionalProperties).toBe(false);
  });
});
