import { appendFile, mkdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { composeChunks, composeFile } from "../../tools/src/cli/commands/compose.ts";
import { concatChunks, digestChunks, InputChangedError, writeChunksAtomic, type Chunk } from "../../tools/src/compose/chunks.ts";
import { readComponentFile } from "../../tools/src/component/skeleton.ts";
import { packageFromFile } from "../../tools/src/component/package.ts";
import { Reader, Writer } from "../../tools/src/component/binary.ts";
import { Types } from "../../tools/src/component/types.ts";
import { CompositionGraph } from "../../tools/src/compose/graph.ts";
import { plug, type PlugInput } from "../../tools/src/compose/plug.ts";
import { interfaceComponent, pseudoRandomBytes } from "../helpers/wasm-fixtures.ts";
import { listFiles, makeTmp, type Tmp } from "../helpers/tmp.ts";
import { createHash } from "node:crypto";
import { cliBuilt, runCli } from "../helpers/cli.ts";

/**
 * Large dependencies are read as skeletons and copied from their files into the output
 * (component/skeleton.ts, compose/chunks.ts): the output must be byte for byte what reading
 * them whole gives, in every mode.
 */

function customSection(name: string, payload: Uint8Array): Uint8Array {
  const body = new Writer().str(name).raw(payload);
  return new Writer().section(0, body).bytes().slice();
}

/** The component with a custom section appended at its top level. */
function padTopLevel(component: Uint8Array, size: number, seed: string): Uint8Array {
  return Buffer.concat([component, customSection("padding", pseudoRandomBytes(size, seed))]);
}

/** The component with its first core module grown by a custom section inside the module. */
function padFirstModule(component: Uint8Array, size: number, seed: string): Uint8Array {
  const r = new Reader(component, 8);
  const parts: Uint8Array[] = [component.subarray(0, 8)];
  let padded = false;
  while (!r.done) {
    const start = r.pos;
    const id = r.u8();
    const len = r.u32();
    const body = component.subarray(r.pos, r.pos + len);
    r.pos += len;
    if (id === 1 && !padded) {
      padded = true;
      const module = Buffer.concat([body, customSection("module-padding", pseudoRandomBytes(size, seed))]);
      parts.push(new Writer().byte(1).u32(module.length).bytes().slice(), module);
    } else parts.push(component.subarray(start, r.pos));
  }
  expect(padded).toBe(true);
  return Buffer.concat(parts);
}

/** Exports its core module as an item: typing it needs the module's own sections. */
const MODULE_EXPORTER_WAT = `(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (export "add" (func $add))
  (export "m" (core module $m)))`;

const SOCKET_WAT = `(component
  (import "test:demo/greeter@0.1.0" (instance $g (export "run" (func (param "n" u32) (result u32)))))
  (alias export $g "run" (func $run))
  (export "run" (func $run)))`;

const WAC = `package t:app;
let a = new t:custom { ... };
let b = new t:module { ... };
let c = new t:exporter { ... };
export a["test:demo/greeter@0.1.0"] as greeter-a;
export b["test:demo/greeter@0.1.0"] as greeter-b;
export c["add"] as add;
`;

const MiB = 1024 * 1024;
let tmp: Tmp;
let paths: { custom: string; module: string; exporter: string };

beforeAll(async () => {
  tmp = await makeTmp("compose-skeleton");
  const base = await interfaceComponent();
  const exporter = await parse(MODULE_EXPORTER_WAT);
  paths = { custom: tmp.path("deps", "t", "custom.wasm"), module: tmp.path("deps", "t", "module.wasm"), exporter: tmp.path("deps", "t", "exporter.wasm") };
  await mkdir(tmp.path("deps", "t"), { recursive: true });
  // Above the default 1 MiB threshold, so the default path is exercised too.
  await writeFile(paths.custom, padTopLevel(base, 3 * MiB / 2, "custom"));
  await writeFile(paths.module, padTopLevel(padFirstModule(base, 3 * MiB / 2, "module"), 1000, "small"));
  await writeFile(paths.exporter, padTopLevel(padFirstModule(exporter, 64 * 1024, "exporter"), 3 * MiB / 2, "exporter-top"));
  await writeFile(tmp.path("app.wac"), WAC);
});

afterAll(async () => {
  await tmp?.cleanup();
});

const compose = (validate: boolean, skeletonThreshold?: number): Promise<Uint8Array> =>
  composeFile({ file: tmp.path("app.wac"), depsDir: tmp.path("deps"), validate, ...(skeletonThreshold !== undefined ? { skeletonThreshold } : {}) });

const isSlice = (c: Chunk): boolean => !(c instanceof Uint8Array);

describe("skeleton reading of large dependencies", () => {
  for (const validate of [false, true]) {
    it(`gives the same output as reading files whole (${validate ? "validated" : "--no-validate"})`, async () => {
      const whole = await compose(validate, Infinity);
      const forced = await compose(validate, 0);
      const byDefault = await compose(validate);
      expect(whole.length).toBeGreaterThan(3 * MiB);
      expect(Buffer.compare(Buffer.from(forced), Buffer.from(whole))).toBe(0);
      expect(Buffer.compare(Buffer.from(byDefault), Buffer.from(whole))).toBe(0);
    });
  }

  it("copies large dependencies from their files: the output holds file slices, written and hashed alike", async () => {
    const chunks = await composeChunks({ file: tmp.path("app.wac"), depsDir: tmp.path("deps"), validate: true, skeletonThreshold: 0 });
    const slices = chunks.filter(isSlice);
    // The exporter needs its module read as an item; validation keeps modules, so all three are slices.
    expect(slices.map((s) => (s as { path: string }).path).sort()).toEqual([paths.custom, paths.exporter, paths.module].sort());
    const out = tmp.path("out", "a.wasm");
    const observed = createHash("sha256");
    await writeChunksAtomic(out, chunks, (p) => observed.update(p));
    const written = await readFile(out);
    expect(Buffer.compare(written, Buffer.from(concatChunks(chunks)))).toBe(0);
    expect(`sha256:${observed.digest("hex")}`).toBe(digestChunks(chunks));
    // Writing again over an existing output replaces it.
    await writeChunksAtomic(out, chunks);
    expect(Buffer.compare(await readFile(out), written)).toBe(0);
  });

  it("reads custom sections and (without validation) core modules as stand-ins", async () => {
    const custom = readComponentFile(paths.custom, { elideModules: true });
    expect(custom.source?.identity.size).toBe((await stat(paths.custom)).size);
    expect(custom.bytes.length).toBeLessThan(64 * 1024);
    const kept = readComponentFile(paths.module, { elideModules: false });
    expect(kept.source?.modulesElided).toBe(false);
    expect(kept.bytes.length).toBeGreaterThan(3 * MiB / 2);
    const elided = readComponentFile(paths.module, { elideModules: true });
    expect(elided.source?.modulesElided).toBe(true);
    expect(elided.bytes.length).toBeLessThan(64 * 1024);
    const pkg = packageFromFile("t:module", undefined, elided, new Types());
    expect(pkg.source?.path).toBe(paths.module);
    // Small files keep the whole-file path.
    expect(readComponentFile(paths.module, { threshold: Infinity }).source).toBeUndefined();
  });

  it("falls back to the whole file when the component uses a core module as an item", async () => {
    const file = readComponentFile(paths.exporter, { threshold: 0, elideModules: true });
    expect(file.source?.modulesElided).toBe(true);
    const pkg = packageFromFile("t:exporter", undefined, file, new Types());
    expect(pkg.source).toBeUndefined();
    expect(pkg.bytes?.length).toBe((await stat(paths.exporter)).size);
    const whole = packageFromFile("t:exporter", undefined, readComponentFile(paths.exporter, { threshold: Infinity }), new Types());
    expect(Buffer.compare(Buffer.from(pkg.bytes!), Buffer.from(whole.bytes!))).toBe(0);
  });

  it("reports an invalid component with offsets in the file, as reading it whole does", async () => {
    const bad = tmp.path("bad.wasm");
    // After the padding, a type section whose only type has an unknown form.
    await writeFile(bad, Buffer.concat([await readFile(paths.custom), Uint8Array.of(0x07, 0x02, 0x01, 0xff)]));
    const message = (threshold: number): string => {
      try {
        packageFromFile("t:bad", undefined, readComponentFile(bad, { threshold, elideModules: true }), new Types());
      } catch (e) {
        return (e as Error).message;
      }
      return expect.fail("the invalid component was read");
    };
    const whole = message(Infinity);
    expect(whole).toMatch(/at offset 0x[0-9a-f]{6}/);
    expect(message(0)).toBe(whole);
  });

  it("refuses to validate a package read without its core modules", async () => {
    const graph = new CompositionGraph();
    const id = graph.registerPackage(packageFromFile("t:module", undefined, readComponentFile(paths.module, { threshold: 0, elideModules: true }), graph.types));
    graph.instantiate(id);
    await expect(graph.encodeChunks({ validate: true })).rejects.toMatchObject({ code: "PACKAGE_NOT_VALIDATABLE" });
  });

  it("plug: the same output with inputs read as skeletons", async () => {
    const socketPath = tmp.path("socket.wasm");
    await writeFile(socketPath, padTopLevel(await parse(SOCKET_WAT), 2 * MiB, "socket"));
    const input = (path: string, threshold: number): PlugInput => {
      const f = readComponentFile(path, { threshold, elideModules: true });
      return f.source === undefined ? { label: path, bytes: f.bytes } : { label: path, bytes: f.bytes, source: f.source };
    };
    const run = async (threshold: number): Promise<Uint8Array> =>
      concatChunks((await plug(input(socketPath, threshold), [input(paths.custom, threshold)], { validate: false })).chunks);
    const forced = await run(0);
    expect(Buffer.compare(Buffer.from(forced), Buffer.from(await run(Infinity)))).toBe(0);
    expect(forced.length).toBeGreaterThan(3 * MiB);
  });
});

describe("the built CLI with large dependencies", () => {
  it.skipIf(!cliBuilt())("compose -o --json (validated and not) and plug -o --json: the output and digest of reading files whole", async () => {
    for (const validate of [true, false]) {
      const out = tmp.path("cli", `compose-${validate}.wasm`);
      const r = await runCli(["compose", tmp.path("app.wac"), "--deps-dir", tmp.path("deps"), "-o", out, "--json", ...(validate ? [] : ["--no-validate"])]);
      expect(r.code, r.stderr).toBe(0);
      const expected = Buffer.from(await compose(validate, Infinity));
      const written = await readFile(out);
      expect(Buffer.compare(written, expected)).toBe(0);
      const summary = JSON.parse(r.stdout) as { size: number; digest: string };
      expect(summary.size).toBe(expected.length);
      expect(summary.digest).toBe(`sha256:${createHash("sha256").update(expected).digest("hex")}`);
    }
    const socketPath = tmp.path("cli", "socket.wasm");
    await writeFile(socketPath, padTopLevel(await parse(SOCKET_WAT), 2 * MiB, "cli-socket"));
    const out = tmp.path("cli", "plugged.wasm");
    const r = await runCli(["plug", socketPath, "-p", paths.custom, "-o", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const whole = (path: string): PlugInput => ({ label: path, bytes: readComponentFile(path, { threshold: Infinity }).bytes });
    const expected = Buffer.from((await plug(whole(socketPath), [whole(paths.custom)], { validate: false })).bytes);
    expect(Buffer.compare(await readFile(out), expected)).toBe(0);
    expect((JSON.parse(r.stdout) as { digest: string }).digest).toBe(`sha256:${createHash("sha256").update(expected).digest("hex")}`);
  }, 60_000);
});

describe("an input that changes between parsing and copying", () => {
  const changed = async (change: (path: string) => Promise<void>): Promise<void> => {
    const dir = await makeTmp("compose-skeleton-changed");
    try {
      const dep = dir.path("deps", "t", "custom.wasm");
      await mkdir(dir.path("deps", "t"), { recursive: true });
      await writeFile(dep, await readFile(paths.custom));
      await writeFile(dir.path("app.wac"), `package t:app;\nlet a = new t:custom { ... };\nexport a["test:demo/greeter@0.1.0"] as greeter-a;\n`);
      const chunks = await composeChunks({ file: dir.path("app.wac"), depsDir: dir.path("deps"), validate: false });
      expect(chunks.some(isSlice)).toBe(true);
      await change(dep);
      const out = dir.path("out.wasm");
      const err = await writeChunksAtomic(out, chunks).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(InputChangedError);
      expect(err).toMatchObject({ code: "INPUT_CHANGED" });
      expect((err as Error).message).toContain(dep);
      // Nothing written, no temp file left behind.
      expect((await listFiles(dir.dir)).filter((f) => !f.startsWith("deps/") && f !== "app.wac")).toEqual([]);
    } finally {
      await dir.cleanup();
    }
  };

  it("fails with INPUT_CHANGED when the file grew", async () => {
    await changed((p) => appendFile(p, Buffer.from([0])));
  });

  it("fails with INPUT_CHANGED when the file was modified in place (same size)", async () => {
    await changed(async (p) => {
      const t = new Date(Date.now() + 60_000);
      await utimes(p, t, t);
    });
  });

  it("fails with INPUT_CHANGED when the file was replaced", async () => {
    await changed(async (p) => {
      const bytes = await readFile(p);
      await rm(p);
      await writeFile(p, bytes);
    });
  });
});
