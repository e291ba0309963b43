import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { resolveDocument } from "../../tools/src/wac/resolve.ts";
import { packageFromBytes } from "../../tools/src/component/package.ts";
import { WasmOciError } from "../../tools/src/util/errors.ts";

/**
 * The reference implementation's encoding fixtures: each ok case is encoded with its
 * dependencies imported (`define_components: false`, as the reference harness does),
 * printed with wasm-tools through jco and compared with the expected WAT exactly, after
 * dropping the `processed-by "wac-parser"` producers line on both sides. Fail cases must be
 * rejected (at resolution or at encoding).
 */
const root = fileURLToPath(new URL("../../../shared/conformance/wac/crates/wac-parser/tests/encoding", import.meta.url));
const present = existsSync(root);
const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".wac")).sort() : []);
const counts = { passed: 0, total: 0 };

type WasmTools = typeof import("@bytecodealliance/jco-transpile/wasm-tools");
let tools: Promise<WasmTools> | undefined;
const wasmTools = () => (tools ??= import("@bytecodealliance/jco-transpile/wasm-tools"));

/** Drops the producers block that names the reference tool (and an emptied `@producers`). */
function normalise(wat: string): string {
  const lines = wat.replace(/\r\n/g, "\n").split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === "(@producers" && /\(processed-by "(wac-parser|wasm-oci)"/.test(lines[i + 1] ?? "") && (lines[i + 2] ?? "").trim() === ")") {
      i += 2;
      continue;
    }
    if (/^\s*\(processed-by "(wac-parser|wasm-oci)" "[^"]*"\)\s*$/.test(l)) continue;
    out.push(l);
  }
  return out.join("\n").trimEnd();
}

async function encodeCase(dir: string, file: string): Promise<Uint8Array> {
  const text = readFileSync(join(dir, file), "utf8");
  const { graph } = await resolveDocument(
    { path: file, text },
    { depsDir: join(dir, file.slice(0, -4)), loadComponent: ({ name, version, bytes, types }) => packageFromBytes(name, version, bytes, types) },
  );
  return graph.encode({ defineComponents: false, validate: false, processor: { name: "wac-parser", version: "0.10.1" } });
}

describe.skipIf(!present)("wac-parser conformance: encoding", () => {
  afterAll(() => {
    console.log(`encoding: ${counts.passed}/${counts.total}`);
  });
  for (const f of list(root)) {
    counts.total++;
    it(`ok: ${f}`, async () => {
      const bytes = await encodeCase(root, f);
      const wat = await (await wasmTools()).print(bytes);
      const expected = readFileSync(join(root, `${f}.result`), "utf8");
      expect(normalise(wat)).toBe(normalise(expected));
      counts.passed++;
    });
  }
  for (const f of list(join(root, "fail"))) {
    counts.total++;
    it(`fail: ${f}`, async () => {
      let err: unknown;
      try {
        await encodeCase(join(root, "fail"), f);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WasmOciError);
      // An encoder that is not there yet must not count as a correct rejection.
      expect((err as WasmOciError).code).not.toBe("NOT_IMPLEMENTED");
      counts.passed++;
    });
  }
});
