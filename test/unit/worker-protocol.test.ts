/**
 * The persistent worker's pieces that need no Bazel: framing of JSON work requests as Bazel 4.x
 * (pretty or compact, no separator) and 5+ (one per line) send them, request parsing with unknown
 * fields, flagfiles and action options, and the warm wasm-tools instance being replaced after a
 * real wasm-tools abort (the test hook of util/wasm-tools.ts makes the call abort).
 */
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeResponse, JsonObjectFramer, parseRequest } from "../../tools/src/worker/protocol.ts";
import { actionSucceeded, expandFlagfiles, parseActionOptions } from "../../tools/src/cli/action.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";

describe("JSON work request framing", () => {
  it("splits compact, pretty and newline-delimited requests, across any chunk boundary", () => {
    const a = `{"arguments":["compose","a } { \\" b","x"],"requestId":3}`;
    const b = `{\n  "arguments": ["sign", "ü"],\n  "inputs": [{"path": "x", "digest": "AAE="}]\n}`;
    const c = `{"requestId":7,"cancel":true}\n`;
    const stream = Buffer.from(`${a}${b}\n${c}`);
    for (let split = 1; split < stream.length; split += 7) {
      const f = new JsonObjectFramer();
      const got = [...f.push(stream.subarray(0, split)), ...f.push(stream.subarray(split))];
      expect(got.map((t) => JSON.parse(t))).toEqual([JSON.parse(a), JSON.parse(b), JSON.parse(c)]);
      expect(f.idle).toBe(true);
    }
  });

  it("rejects text outside an object", () => {
    expect(() => new JsonObjectFramer().push(Buffer.from("[1]"))).toThrow(/expected '\{'/);
  });

  it("reads defaults, proto field names and unknown fields", () => {
    expect(parseRequest("{}")).toEqual({ arguments: [], inputs: [], requestId: 0, cancel: false, verbosity: 0, sandboxDir: "" });
    const r = parseRequest(`{"arguments":["a"],"request_id":4,"verbosity":10,"somethingNew":{"x":1},"sandboxDir":"s"}`);
    expect(r).toMatchObject({ arguments: ["a"], requestId: 4, verbosity: 10, sandboxDir: "s" });
    expect(() => parseRequest(`{"arguments":"not a list"}`)).toThrow();
  });

  it("writes one response per line with camelCase fields", () => {
    expect(encodeResponse({ exitCode: 1, output: "a\nb", requestId: 2 })).toBe(`{"exitCode":1,"output":"a\\nb","requestId":2}\n`);
  });
});

describe("flagfiles and action options", () => {
  let tmp: Tmp;
  beforeAll(async () => {
    tmp = await makeTmp("flagfile");
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it("expands @FILE into one argument per line, keeping spaces and empty arguments", async () => {
    await writeFile(tmp.path("p"), "sign\n-i\na b.wasm\n\n--json\n");
    expect(await expandFlagfiles(["--stdout-file", "r.txt", `@${tmp.path("p")}`])).toEqual(["--stdout-file", "r.txt", "sign", "-i", "a b.wasm", "", "--json"]);
    await expect(expandFlagfiles([`@${tmp.path("missing")}`])).rejects.toMatchObject({ code: "FLAGFILE_UNREADABLE" });
  });

  it("takes action options from the start and the end only", () => {
    expect(parseActionOptions(["--stdout-file", "r", "--copy-on-success", "a", "b", "verify", "-i", "x"])).toEqual({
      stdoutFile: "r",
      copy: { src: "a", dst: "b" },
      args: ["verify", "-i", "x"],
    });
    expect(parseActionOptions(["verify", "-i", "x", "--stdout-file", "r", "--copy-on-success", "a", "b"])).toEqual({
      stdoutFile: "r",
      copy: { src: "a", dst: "b" },
      args: ["verify", "-i", "x"],
    });
    expect(parseActionOptions(["show", "--stdout-file", "r", "-i", "x"]).args).toEqual(["show", "--stdout-file", "r", "-i", "x"]);
    expect(() => parseActionOptions(["--copy-on-success", "a"])).toThrow(/SRC and DST/);
    expect(() => parseActionOptions(["--stdout-file", "a", "x", "--stdout-file", "b"])).toThrow(/twice/);
    const verdict = parseActionOptions(["policy", "check", "--stdout-file", "d.json", "--exit-code-file", "d.code"]);
    expect(verdict).toEqual({ stdoutFile: "d.json", exitCodeFile: "d.code", args: ["policy", "check"] });
    expect([0, 1, 2].map((c) => actionSucceeded(verdict, c))).toEqual([true, true, false]);
    expect([0, 1].map((c) => actionSucceeded(parseActionOptions(["verify"]), c))).toEqual([true, false]);
  });
});

describe("warm wasm-tools instance", () => {
  it("is replaced after wasm-tools aborts, and the next call gets a working one", async () => {
    process.env["WASM_OCI_TEST_WASM_TOOLS_ABORT"] = "ABORT-HERE";
    const { WarmWasmToolsHost } = await import("../../tools/src/util/wasm-tools.ts");
    const host = new WarmWasmToolsHost();
    try {
      const good = (await host.call("parse", ["(component)"])) as Uint8Array;
      expect(host.started).toBe(1);
      // An ordinary error (a ComponentError) keeps the instance.
      await expect(host.call("parse", ["(component"])).rejects.toThrow();
      expect(host.started).toBe(1);
      // The abort is a trap inside wasm-tools, not a ComponentError: the instance is replaced.
      await expect(host.call("parse", ["(component) ;; ABORT-HERE"])).rejects.toThrow(/unreachable/);
      expect(host.started).toBe(2);
      expect(Buffer.from((await host.call("parse", ["(component)"])) as Uint8Array).equals(Buffer.from(good))).toBe(true);
      expect(host.started).toBe(2);
    } finally {
      await host.close();
      delete process.env["WASM_OCI_TEST_WASM_TOOLS_ABORT"];
    }
  });
});
