/**
 * One fuzz test per parser of untrusted input (issue 12): random and mutated inputs may only give
 * a value or a typed error (WasmOciError with a code, never a TypeError, RangeError or a hang),
 * and where a parser has an inverse the round trip must hold. Counts are bounded so the file runs
 * in a few seconds; fast-check prints the seed and the shrunk input of any failure.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { WasmOciError } from "../../tools/src/util/errors.ts";
import { parseRegistryConfig } from "../../tools/src/config/registry-config.ts";
import { jsonDepthExceeded, jsonErrorOffset } from "../../tools/src/config/json-position.ts";
import { parsePolicy } from "../../tools/src/policy/decide.ts";
import { Lexer } from "../../tools/src/wac/lexer.ts";
import { parseDocument } from "../../tools/src/wac/parser.ts";
import { formatReference, parseReference } from "../../tools/src/oci/reference.ts";
import { parseWwwAuthenticate } from "../../tools/src/oci/www-authenticate.ts";
import { parseSignatureData, serializeSignatureData, type SignatureData } from "../../tools/src/sign/signature-data.ts";
import { readComponent } from "../../tools/src/component/reader.ts";
import { readWasmNames } from "../../tools/src/component/names.ts";
import { scanWasm } from "../../tools/src/sign/sections.ts";
import { bufferSource } from "../../tools/src/sign/source.ts";
import { verifyBytes, SignFormatError } from "../../tools/src/sign/index.ts";
import { parseWitFile } from "../../tools/src/wac/parser.ts";
import { parseManifest } from "../../tools/src/oci/manifest.ts";
import { parseInvoke } from "../../tools/src/run/invoke-expr.ts";
import { decodeAuthEntry } from "../../tools/src/oci/docker-config.ts";
import { globMatches } from "../../tools/src/policy/glob.ts";
import { COUNTER_WAT, INTERFACE_COMPONENT_WAT, watToWasm } from "../helpers/wasm-fixtures.ts";

/** Runs `f`; a thrown value must be a typed error (optionally of a given class). */
function typedOnly<T>(f: () => T, cls: abstract new (...args: never[]) => WasmOciError = WasmOciError): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`untyped failure: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    expect((e as WasmOciError).code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    return undefined;
  }
}

/** JSON text built from fragments a config or policy has, shuffled and cut: mostly almost-valid. */
const jsonish = (words: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength: 120 }),
    fc.json({ maxDepth: 4 }),
    fc.array(fc.constantFrom(...words, "{", "}", "[", "]", ",", ":", '"', "null", "true", "1", "-0.5e3", "\\u00e9", " "), { maxLength: 50 }).map((a) => a.join("")),
  );

describe("fuzz: registry config", () => {
  const SECRET = "fuzz-secret-value-7d1e";
  const keys = ["registries", "name", "host", "type", "oci", "auth", "env", "token_env", "basic_env", "username_env", "password_env", "mirrors", "default_registry", "timeout_seconds", "retry", "insecure", "password", "token", "secret"];
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom<unknown>(null, true, 0, 30, -1, "x", "ghcr.io", "localhost:5000", "env", "basic_env", "none", SECRET),
      fc.array(tie("v"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...keys), tie("v"), { maxKeys: 4 }),
    ),
  })).v;

  it("any JSON value: a config or a typed usage error, never echoing a value (2,000 cases)", () => {
    fc.assert(
      fc.property(value, (raw) => {
        try {
          parseRegistryConfig(raw, "fuzz.json");
        } catch (e) {
          expect(e).toBeInstanceOf(WasmOciError);
          expect((e as WasmOciError).exitCode).toBe(2);
          expect((e as Error).message).not.toContain(SECRET);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it("a valid config survives JSON round trips unchanged (300 cases)", () => {
    const entry = fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
      host: fc.constantFrom("ghcr.io", "localhost:5000", "registry.example.com:8443"),
      type: fc.constant("oci"),
      auth: fc.oneof(fc.constant({ type: "none" }), fc.record({ type: fc.constant("env"), token_env: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,10}$/) })),
    });
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: (e) => e.host, minLength: 1, maxLength: 3 }).map((es) => es.map((e, i) => ({ ...e, name: `${e.name}${i}` }))), (registries) => {
        const parsed = parseRegistryConfig({ registries }, "fuzz.json");
        expect(parseRegistryConfig(JSON.parse(JSON.stringify(parsed)), "again.json")).toEqual(parsed);
        expect(parsed.registries.map((r) => r.host)).toEqual(registries.map((r) => r.host));
      }),
      { numRuns: 300 },
    );
  });
});

describe("fuzz: JSON with position", () => {
  it("jsonErrorOffset finds an error exactly when JSON.parse fails, inside the text (3,000 cases)", () => {
    fc.assert(
      fc.property(jsonish(['"a"', '"\\n"', "1e5", "01", "tru"]), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        const at = jsonErrorOffset(text);
        if (valid) expect(at).toBeUndefined();
        else {
          expect(at).toBeDefined();
          expect(at!).toBeGreaterThanOrEqual(0);
          expect(at!).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it("jsonDepthExceeded agrees with the depth of the parsed value (1,000 cases)", () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === "object" ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.json({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (text, max) => {
        const d = depthOf(JSON.parse(text));
        expect(jsonDepthExceeded(text, max) !== undefined).toBe(d > max);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("fuzz: security policy", () => {
  it("any text: a policy or a typed usage error (2,000 cases)", () => {
    const words = ['"component_policies"', '"registry_policies"', '"signing"', '"required"', '"optional"', '"keys"', '"public_key"', '"allowed_keys"', '"default_signing_required"', '"signature_type"', '"detached"', '"component"', '"registry"', '"*"'];
    fc.assert(
      fc.property(jsonish(words), (text) => {
        typedOnly(() => parsePolicy(text, "fuzz-policy.json"));
      }),
      { numRuns: 2_000 },
    );
  });

  it("a valid policy round-trips through JSON, and its globs decide like themselves (300 cases)", () => {
    const glob = fc.array(fc.constantFrom("a", "b", ".", "/", "*", "?", ":"), { minLength: 1, maxLength: 12 }).map((a) => a.join(""));
    fc.assert(
      fc.property(fc.array(fc.record({ component: glob, signing: fc.constantFrom("required", "optional") }), { maxLength: 5 }), fc.boolean(), (rules, def) => {
        const p = parsePolicy(JSON.stringify({ component_policies: rules, default_signing_required: def }));
        expect(parsePolicy(JSON.stringify(p))).toEqual(p);
        for (const r of p.component_policies) expect(globMatches(r.component, r.component.replaceAll("*", "").replaceAll("?", "x"))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("fuzz: WAC lexer", () => {
  it("tokens or a typed error; spans are inside the text and move forward (3,000 cases)", () => {
    const pieces = ["package", "a:b@1.0.0", "let", "=", "new", "{", "}", "...", "->", "/*", "*/", "//", "\n", '"s', '"', "%x", "é", "0x", "@", "\\", "🙂", " "];
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((a) => a.join(""))), (text) => {
        const lexer = new Lexer({ path: "fuzz.wac", text }, "WAC_PARSE");
        let last = 0;
        typedOnly(() => {
          for (let i = 0; i <= text.length + 1; i++) {
            const t = lexer.next();
            expect(t.span.start).toBeGreaterThanOrEqual(last);
            expect(t.span.end).toBeLessThanOrEqual(text.length);
            last = t.span.end;
            if (t.kind === "eof") return;
          }
          throw new Error("the lexer did not reach eof");
        });
      }),
      { numRuns: 3_000 },
    );
  });

  it("mutations of a valid WAC document parse or fail typed (1,000 cases)", () => {
    const doc = `package example:app@1.0.0;\nlet a = new x:a { ... };\nlet b = new x:b { "in": a.out, ... };\nexport b.run as run;\n`;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: doc.length }), fc.integer({ min: 0, max: 8 }), fc.string({ maxLength: 6 }), (at, del, ins) => {
        const text = doc.slice(0, at) + ins + doc.slice(at + del);
        typedOnly(() => parseDocument({ path: "m.wac", text }));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("fuzz: references", () => {
  it("any string: a reference or a typed error; an accepted one round-trips through formatReference (3,000 cases)", () => {
    const pieces = ["ghcr.io", "localhost:5000", "/", ":", "@", "sha256:", "a".repeat(64), "oci://", "oci-layout:", "UPPER", "v1.0", "-", "_", "..", "docker.io", "library", "é"];
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.array(fc.constantFrom(...pieces), { maxLength: 10 }).map((a) => a.join(""))), (s) => {
        const r = typedOnly(() => parseReference(s));
        if (r !== undefined) expect(parseReference(formatReference(r))).toEqual(r);
      }),
      { numRuns: 3_000 },
    );
  });
});

describe("fuzz: WWW-Authenticate", () => {
  it("any header parses without throwing; scheme names are lower-case tokens (3,000 cases)", () => {
    const pieces = ["Bearer", "Basic", " ", ",", "=", '"', '\\"', "realm", "service", "scope", "repository:a:pull,push", "https://auth.example/token", "error"];
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 100 }), fc.array(fc.constantFrom(...pieces), { maxLength: 25 }).map((a) => a.join(""))), (h) => {
        const cs = typedOnly(() => parseWwwAuthenticate(h)) ?? [];
        for (const c of cs) expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
      }),
      { numRuns: 3_000 },
    );
  });

  it("generated challenges round-trip, quoted commas and escapes included (1,000 cases)", () => {
    const token = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
    const val = fc.string({ maxLength: 30 }).filter((v) => !/[\u0000-\u001f\u007f]/.test(v));
    fc.assert(
      fc.property(fc.constantFrom("Bearer", "Basic"), fc.uniqueArray(fc.tuple(token, val), { selector: ([k]) => k, maxLength: 4 }), (scheme, params) => {
        const header = `${scheme} ${params.map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(", ")}`;
        const [c] = parseWwwAuthenticate(header);
        expect(c?.scheme).toBe(scheme.toLowerCase());
        expect(c?.params).toEqual(Object.fromEntries(params));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("fuzz: wasmsign2 signature data", () => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
  const data: fc.Arbitrary<SignatureData> = fc.record({
    version: fc.constant(1),
    contentType: fc.constant(1),
    hashFunction: fc.constant(1),
    sets: fc.array(
      fc.record({
        hashes: fc.array(bytes(32), { minLength: 1, maxLength: 3 }),
        signatures: fc.array(
          fc.oneof(fc.record({ keyId: fc.uint8Array({ minLength: 1, maxLength: 12 }), algId: fc.constant(1), signature: bytes(64) }), fc.record({ algId: fc.constant(1), signature: bytes(64) })),
          { minLength: 1, maxLength: 3 },
        ),
        skipped: fc.constant(0),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  });

  it("generated signature data round-trips through serialize and parse (300 cases)", () => {
    fc.assert(
      fc.property(data, (d) => {
        expect(parseSignatureData(serializeSignatureData(d))).toEqual(d);
      }),
      { numRuns: 300 },
    );
  });

  it("random and mutated bytes: signature data or a typed error (3,000 cases)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.tuple(data, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([d, at, b]) => {
        const s = serializeSignatureData(d).slice();
        s[at % s.length] = b;
        return s.slice(0, Math.max(1, s.length - (at % 7)));
      })), (b) => {
        typedOnly(() => parseSignatureData(b));
      }),
      { numRuns: 3_000 },
    );
  });
});

describe("fuzz: component binary reader", () => {
  it("mutated real components (bit flips, truncation): typed errors only, in both readers (1,500 cases)", async () => {
    const seeds = [await watToWasm(INTERFACE_COMPONENT_WAT), await watToWasm(COUNTER_WAT)];
    fc.assert(
      fc.property(fc.constantFrom(0, 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), (which, flips, cut) => {
        const b = seeds[which]!.slice();
        for (const [at, v] of flips) b[8 + (at % (b.length - 8))] = v;
        const input = cut % 3 === 0 ? b.subarray(0, cut % b.length) : b;
        typedOnly(() => readComponent(input));
        typedOnly(() => readWasmNames(input));
      }),
      { numRuns: 1_500 },
    );
  });
});

describe("fuzz: wasm section scanner and signature verification", () => {
  it("mutated modules and components: sections or a typed error; verify never throws untyped (800 cases)", async () => {
    const seeds = [await watToWasm(INTERFACE_COMPONENT_WAT), await watToWasm("(module (func (export \"f\")) (@custom \"x\" \"abc\"))")];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), async (which, flips, cut) => {
        const b = seeds[which]!.slice();
        for (const [at, v] of flips) b[at % b.length] = v;
        const input = cut % 2 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
        try {
          await scanWasm(bufferSource(input));
          await verifyBytes(input, []);
        } catch (e) {
          if (!(e instanceof SignFormatError || e instanceof WasmOciError)) throw e;
        }
      }),
      { numRuns: 800 },
    );
  });
});

describe("fuzz: WIT files", () => {
  it("mutations of a valid WIT package parse or fail typed (1,000 cases)", () => {
    const wit = `package ex:demo@0.1.0;\ninterface counter {\n  resource counter { constructor(start: u32); add: func(n: u32) -> u32; }\n  record pair { a: u8, b: list<string> }\n}\nworld w { export counter; }\n`;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: wit.length }), fc.integer({ min: 0, max: 8 }), fc.string({ maxLength: 6 }), (at, del, ins) => {
        typedOnly(() => parseWitFile({ path: "m.wit", text: wit.slice(0, at) + ins + wit.slice(at + del) }));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("fuzz: OCI manifests and indexes", () => {
  const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`);
  const descriptor = fc.record({ mediaType: fc.constantFrom("application/wasm", "application/vnd.wasm.config.v0+json"), digest, size: fc.nat() });

  it("any JSON bytes under any content type: a manifest/index or a typed error (3,000 cases)", () => {
    const types = [undefined, "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json", "application/json", "text/plain"];
    const words = ['"schemaVersion"', "2", '"mediaType"', '"layers"', '"manifests"', '"config"', '"digest"', '"size"', '"sha256:00"', '"application/vnd.oci.image.manifest.v1+json"'];
    fc.assert(
      fc.property(jsonish(words), fc.constantFrom(...types), (text, ct) => {
        typedOnly(() => parseManifest(new TextEncoder().encode(text), ct, "fuzz manifest"));
      }),
      { numRuns: 3_000 },
    );
  });

  it("generated manifests parse back to what was written (500 cases)", () => {
    fc.assert(
      fc.property(descriptor, fc.array(descriptor, { minLength: 1, maxLength: 3 }), (config, layers) => {
        const doc = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers };
        const p = parseManifest(new TextEncoder().encode(JSON.stringify(doc)), undefined, "m");
        expect(p.kind).toBe("manifest");
        if (p.kind === "manifest") {
          expect(p.manifest.layers.map((l) => l.digest)).toEqual(layers.map((l) => l.digest));
          expect(p.manifest.config.size).toBe(config.size);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("fuzz: small parsers", () => {
  it("--invoke expressions: an expression or a typed usage error (2,000 cases)", () => {
    const pieces = ["add", "(", ")", ",", "1", '"x"', "ns:pkg/iface@1.0.0", "#", ".", "[", "]", "{}", "null", " "];
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((a) => a.join(""))), (s) => {
        const e = typedOnly(() => parseInvoke(s));
        if (e !== undefined) expect(Array.isArray(e.args)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it("Docker config auth entries: decoded or reported, never thrown (2,000 cases)", () => {
    fc.assert(
      fc.property(fc.record({ auth: fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.base64String({ maxLength: 40 })), { nil: undefined }), username: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }), password: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }) }), (entry) => {
        typedOnly(() => decodeAuthEntry(entry as Parameters<typeof decodeAuthEntry>[0]));
      }),
      { numRuns: 2_000 },
    );
  });
});
