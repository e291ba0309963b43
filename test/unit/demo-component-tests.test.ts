/**
 * tools/demo/component-tests.ts: the demo runs each composed app with the invocation of its
 * wasm_component_test, read from the BUILD file.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { componentTests } from "../../tools/demo/component-tests.ts";
import { REPO_ROOT } from "../helpers/cli.ts";

describe("componentTests", () => {
  it("reads name, component, invoke and expect with Starlark escapes undone", () => {
    const build = [
      "wasm_component_test(",
      '    name = "app_test",',
      '    component = ":app",',
      '    expect = "\\"token(a) -> data(b)\\"",',
      '    invoke = "handle(\\"a\\", \\"b\\")",',
      ")",
      "",
      "wasm_component_test(",
      '    name = "other_package_test",',
      '    component = "//elsewhere:app",',
      '    expect = "1",',
      '    invoke = "f()",',
      ")",
      "",
      "wasm_component_test(",
      '    name = "no_expect_test",',
      '    component = ":app",',
      '    invoke = "f()",',
      ")",
    ].join("\n");
    expect(componentTests(build)).toEqual([{ name: "app_test", component: "app", invoke: 'handle("a", "b")', expect: '"token(a) -> data(b)"' }]);
  });

  it("finds the featured app's test in examples/wac_oci_composition/BUILD.bazel", () => {
    const tests = componentTests(readFileSync(join(REPO_ROOT, "examples", "wac_oci_composition", "BUILD.bazel"), "utf8"));
    const secure = tests.find((t) => t.component === "secure_distributed_app");
    expect(secure?.invoke).toMatch(/^handle\(/);
    expect(secure?.expect).toMatch(/^".*"$/);
    // One entry per wasm_component_test of the file.
    const calls = readFileSync(join(REPO_ROOT, "examples", "wac_oci_composition", "BUILD.bazel"), "utf8").match(/^wasm_component_test\(/gm) ?? [];
    expect(tests.length).toBe(calls.length);
  });
});
