/**
 * The `wasm_component_test` targets of a BUILD file: which component each one calls, with which
 * invocation, and the answer it expects. The demo runs the composed apps with exactly these, so
 * what it prints cannot drift from what `bazel test` checks.
 */

export interface ComponentTest {
  /** The test target's name. */
  name: string;
  /** The component label's target name (`:secure_distributed_app` -> `secure_distributed_app`). */
  component: string;
  invoke: string;
  expect: string;
}

/** A Starlark string literal's body ("a \"b\"") -> its value. Only plain escapes occur in BUILD files. */
function starlarkString(body: string): string {
  return JSON.parse(`"${body}"`) as string;
}

/** Every `wasm_component_test(...)` of `buildFile` with a same-package component, invoke and expect. */
export function componentTests(buildFile: string): ComponentTest[] {
  const out: ComponentTest[] = [];
  // A call ends at the first ")" alone at the start of a line (buildifier's layout).
  for (const call of buildFile.matchAll(/^wasm_component_test\(\n([\s\S]*?)^\)/gm)) {
    const attrs: Record<string, string> = {};
    for (const a of (call[1] ?? "").matchAll(/^\s*(\w+) = "((?:[^"\\\n]|\\.)*)",?\s*$/gm)) {
      attrs[a[1] as string] = starlarkString(a[2] as string);
    }
    const { name, component, invoke, expect } = attrs;
    if (name === undefined || component === undefined || invoke === undefined || expect === undefined) continue;
    if (!component.startsWith(":")) continue;
    out.push({ name, component: component.slice(1), invoke, expect });
  }
  return out;
}
