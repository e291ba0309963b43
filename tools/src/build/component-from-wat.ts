/**
 * Builds a component from a core module (WAT text or binary) and a WIT world, the way
 * `wasm-tools component embed` + `component new` do, through jco's wasm-tools. The result is
 * validated: componentNew validates the whole component (core function bodies included) and
 * componentWit decodes its component-level types back.
 */
import { UsageError, WasmOciError } from "../util/errors.ts";

import { wasmTools, type WasmTools } from "../util/wasm-tools.ts";

export type StringEncoding = "utf8" | "utf16" | "compact-utf16";

export interface ComponentBuildInput {
  /** Core module: WAT text, or the bytes of a binary module (or of WAT text). */
  readonly core: string | Uint8Array;
  /** Where the core module came from, for messages. */
  readonly coreName: string;
  readonly witSource: string;
  /** Where the WIT came from, for messages. */
  readonly witName: string;
  /** World of the WIT package the module implements. */
  readonly world: string;
  readonly stringEncoding?: StringEncoding;
}

export interface BuiltComponent {
  readonly bytes: Uint8Array;
  /** The component's WIT as decoded back from the binary. */
  readonly wit: string;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

function isBinary(data: Uint8Array): boolean {
  return data.length >= 8 && WASM_MAGIC.every((b, i) => data[i] === b);
}

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  return String(e);
}

/**
 * jco reports WAT syntax errors as a Rust Debug dump holding the source line, the column and the
 * kind; turn that into `file:line:col: what` with a caret under the spot.
 */
export function describeWatError(raw: string, file: string): string {
  const m = /line: (\d+), col: (\d+), snippet: "((?:[^"\\]|\\.)*)".*?kind: (?:Custom\("((?:[^"\\]|\\.)*)"\)|(\w+))/s.exec(raw);
  if (!m) return `${file}: ${raw}`;
  const line = Number(m[1]) + 1;
  const col = Number(m[2]);
  const snippet = m[3]!.replace(/\\"/g, '"').replace(/\\\\/g, "\\");
  const what = (m[4] ?? m[5] ?? "syntax error").replace(/\\"/g, '"');
  return `${file}:${line}:${col + 1}: ${what}\n  ${snippet}\n  ${" ".repeat(col)}^`;
}

async function coreModule(input: ComponentBuildInput, t: WasmTools): Promise<Uint8Array> {
  if (input.core instanceof Uint8Array && isBinary(input.core)) return input.core;
  const text = typeof input.core === "string" ? input.core : new TextDecoder().decode(input.core);
  try {
    return await t.parse(text);
  } catch (e) {
    throw new UsageError(`invalid WAT: ${describeWatError(message(e), input.coreName)}`, "INVALID_WAT");
  }
}

/**
 * jco's componentNew message is `SUMMARY\n$DETAIL` followed by the same text again; DETAIL (with
 * its "Caused by" list) says what is wrong, so keep one copy of it on one line.
 */
export function componentNewCauses(raw: string): string {
  const first = raw.split("\n")[0]!;
  let rest = raw.startsWith(`${first}\n$`) ? raw.slice(first.length + 2) : raw;
  const again = rest.lastIndexOf(` ${first}`);
  if (again > 0) rest = rest.slice(0, again);
  return rest
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && l !== "Caused by:")
    .map((l) => l.replace(/^\d+: /, ""))
    .join(": ");
}

export async function buildComponent(input: ComponentBuildInput): Promise<BuiltComponent> {
  const t = await wasmTools();
  const core = await coreModule(input, t);
  let embedded: Uint8Array;
  try {
    embedded = await t.componentEmbed({
      binary: core,
      witSource: input.witSource,
      world: input.world,
      stringEncoding: input.stringEncoding ?? "utf8",
    });
  } catch (e) {
    throw new UsageError(`${input.witName} (world ${input.world}): ${message(e)}`, "INVALID_WIT");
  }
  let bytes: Uint8Array;
  try {
    bytes = await t.componentNew(embedded);
  } catch (e) {
    const text = componentNewCauses(message(e));
    throw new WasmOciError("COMPONENT_NEW_FAILED", `${input.coreName} does not implement world ${input.world} of ${input.witName}: ${text}`, { cause: e });
  }
  let wit: string;
  try {
    wit = await t.componentWit(bytes);
  } catch (e) {
    throw new WasmOciError("COMPONENT_INVALID", `the component built from ${input.coreName} does not validate: ${message(e)}`, { cause: e });
  }
  return { bytes, wit };
}
