/**
 * Deeply nested JSON is refused with a usage error (exit 2) naming where (issue 12, finding 7): a
 * registry config nested 3,000 deep overflowed the stack in the inline-secret search (exit 1 and
 * a stack trace).
 */
import { describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { jsonDepthExceeded } from "../../tools/src/config/json-position.ts";
import { makeTmp } from "../helpers/tmp.ts";
import { cliBuilt, hermeticEnv, runCli } from "../helpers/cli.ts";

const nested = (depth: number): string => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

describe("jsonDepthExceeded", () => {
  it("counts brackets outside strings only", () => {
    expect(jsonDepthExceeded('{"a":[[1]]}', 3)).toBeUndefined();
    expect(jsonDepthExceeded('{"a":[[1]]}', 2)).toBe(6);
    expect(jsonDepthExceeded(`{"k":"${"[".repeat(100)}\\"{{{{"}`, 1)).toBeUndefined();
  });
});

describe.skipIf(!cliBuilt())("deep JSON from the CLI", () => {
  it("config validate: a registry config nested 3,000 deep exits 2 with the position", async () => {
    const tmp = await makeTmp("deep-json");
    try {
      const file = tmp.path("registries.json");
      await writeFile(file, `{"registries":[{"name":"x","type":"oci","host":"x.io","extra":${nested(3000)}}]}`);
      const r = await runCli(["config", "validate", file], { env: hermeticEnv(tmp.dir) });
      expect(r.stderr).not.toMatch(/RangeError|Maximum call stack|\n\s+at /);
      expect(r.stderr).toMatch(/nested deeper than 64 levels at line:column 1:\d+ \[CONFIG_TOO_DEEP\]/);
      expect(r.code).toBe(2);
    } finally {
      await tmp.cleanup();
    }
  });

  it("policy validate: a policy nested 3,000 deep exits 2", async () => {
    const tmp = await makeTmp("deep-json");
    try {
      const file = tmp.path("policy.json");
      await writeFile(file, `{"keys":${nested(3000)}}`);
      const r = await runCli(["policy", "validate", file], { env: hermeticEnv(tmp.dir) });
      expect(r.stderr).toMatch(/nested deeper than 64 levels/);
      expect(r.code).toBe(2);
    } finally {
      await tmp.cleanup();
    }
  });
});
