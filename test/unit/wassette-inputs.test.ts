/**
 * The inputs of the wassette features, parsed without a registry: fetch manifests (wassette's
 * shape, errors naming file:line:col), URL references (file:// and https:// with their sha256
 * pin) and runwasi image names.
 */
import { describe, expect, it } from "vitest";
import { defaultName, loadComponentsManifest } from "../../tools/src/fetch/manifest.ts";
import { parseUrlReference } from "../../tools/src/oci/url-source.ts";
import { runwasiTag } from "../../tools/src/oci/runwasi-image.ts";
import { makeTmp } from "../helpers/tmp.ts";
import { writeFixture } from "../helpers/wasm-fixtures.ts";

const D = `sha256:${"a".repeat(64)}` as const;
const E = `sha256:${"b".repeat(64)}` as const;

async function manifest(text: string) {
  const tmp = await makeTmp("fetch-manifest");
  try {
    return await loadComponentsManifest(await writeFixture(tmp.dir, "components.yaml", Buffer.from(text)));
  } finally {
    await tmp.cleanup();
  }
}

describe("fetch manifests", () => {
  it("reads wassette's shape; names default to the repository's or file's last part; permissions verbatim", async () => {
    const m = await manifest(`version: 1
components:
  - uri: oci://ghcr.io/microsoft/get-weather-js:1.2.3
    permissions:
      network: { allow: [ { host: api.example.com } ] }
  - uri: file:///opt/components/time-server.wasm
    digest: ${D}
    retry_policy: { attempts: 3, backoff: { type: linear, increment_ms: 10 } }
  - uri: https://example.com/c/fetch.wasm@${E}
    name: fetcher
    signature: { public_key: keys/pub.key }
`);
    expect(m.components.map((c) => [c.name, c.scheme, c.digest])).toEqual([
      ["get-weather-js", "oci", undefined],
      ["time-server", "file", D],
      ["fetcher", "https", undefined],
    ]);
    expect(m.components[0]?.permissions).toEqual({ network: { allow: [{ host: "api.example.com" }] } });
    expect(m.components[1]?.permissions).toBeNull();
    expect(m.components[2]?.signature).toMatchObject({ type: "embedded" });
    expect(m.components[2]?.signature?.publicKey).toMatch(/\/keys\/pub\.key$/);
    expect(defaultName("oci://127.0.0.1:5000/a/b/app@" + D)).toBe("app");
    expect(defaultName("oci://127.0.0.1:5000/app:v1")).toBe("app");
  });

  it("refuses with the file, line and field: typos, bad digests, duplicates, missing pins, version 2, YAML errors", async () => {
    await expect(manifest("components:\n  - uri: oci://h.io/a:1\n    permisions: {}\n")).rejects.toThrow(/components\.yaml:2:\d+: components\.0: Unrecognized key: "permisions"/);
    await expect(manifest("components:\n  - uri: oci://h.io/a:1\n    digest: sha256:abc\n")).rejects.toThrow(/components\.yaml:3:13: components\.0\.digest: expected sha256:/);
    await expect(manifest("components:\n  - uri: oci://h.io/a:1\n  - uri: oci://h.io/x/a:2\n")).rejects.toThrow(/components\.1: name "a" is also used by components\.0/);
    await expect(manifest("components:\n  - uri: file:///x/a.wasm\n")).rejects.toThrow(/a file:\/\/ component needs digest/);
    await expect(manifest(`components:\n  - uri: https://h/a.wasm\n    digest: ${D}\n    signature: { public_key: k, type: detached }\n`)).rejects.toThrow(/detached needs an oci:\/\/ component/);
    await expect(manifest("version: 2\ncomponents:\n  - uri: oci://h.io/a:1\n")).rejects.toThrow(/:1:\d+: version: only version 1 is supported/);
    await expect(manifest("components:\n  - uri: ftp://h/a.wasm\n")).rejects.toThrow(/components\.0\.uri: expected oci:\/\//);
    await expect(manifest("components: []\n")).rejects.toThrow(/declare at least one component/);
    await expect(manifest("components:\n  - uri: [oops\n")).rejects.toThrow(/components\.yaml:\d+:\d+: not valid YAML/);
  });
});

describe("URL references", () => {
  it("file:// and https:// with the pin in the reference or from --digest", () => {
    expect(parseUrlReference(`file:///opt/a.wasm@${D}`)).toEqual({ kind: "file", url: "file:///opt/a.wasm", path: "/opt/a.wasm", digest: D });
    expect(parseUrlReference("https://h.example/c/a.wasm", D)).toEqual({ kind: "https", url: "https://h.example/c/a.wasm", digest: D });
  });

  it("refuses: no pin, conflicting pins, plain http, a relative or remote file URL, credentials in the URL", () => {
    expect(() => parseUrlReference("https://h.example/a.wasm")).toThrow(/needs the sha256 digest of the component/);
    expect(() => parseUrlReference(`https://h.example/a.wasm@${D}`, E)).toThrow(/contradicts/);
    expect(() => parseUrlReference(`http://h.example/a.wasm@${D}`)).toThrow(/plain http:\/\/ is not accepted/);
    expect(() => parseUrlReference(`file://server/share/a.wasm@${D}`)).toThrow(/names a local file/);
    expect(() => parseUrlReference(`https://u:p@h.example/a.wasm@${D}`)).toThrow(/credentials in a URL/);
    expect(() => parseUrlReference("https://h.example/a.wasm@sha256:ABC")).toThrow(/64 lowercase hex/);
  });
});

describe("runwasi image names", () => {
  it("NAME:TAG gives its tag; no tag, a digest or a layout is refused", () => {
    expect(runwasiTag("localhost:5000/app:v1")).toBe("v1");
    expect(runwasiTag("ghcr.io/acme/app:1.0")).toBe("1.0");
    expect(() => runwasiTag("localhost:5000/app")).toThrow(/the tag is missing/);
    expect(() => runwasiTag(`localhost:5000/app:v1@${D}`)).toThrow(/has no digest/);
    expect(() => runwasiTag("oci-layout:/x:v1")).toThrow(/not an oci-layout/);
    expect(() => runwasiTag("localhost:5000/App:v1")).toThrow(/must be lowercase/);
  });
});
