// Hand-built modules for the sign tests: bytes are spelled out so the tests do not depend on
// the code under test to produce their inputs.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CORE = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
export const COMPONENT = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

export function section(id: number, payload: number[]): number[] {
  return [id, ...leb(payload.length), ...payload];
}

export function custom(name: string, data: number[]): number[] {
  const n = [...Buffer.from(name, "utf8")];
  return section(0, [...leb(n.length), ...n, ...data]);
}

/** (module (type (func)) (func (type 0)) (export "f" (func 0)) ...) with a custom section. */
export function smallModule(extra: number[] = []): Uint8Array {
  return Uint8Array.from([
    ...CORE,
    ...section(1, [0x01, 0x60, 0x00, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, 0x01, 0x66, 0x00, 0x00]),
    ...section(10, [0x01, 0x02, 0x00, 0x0b]),
    ...custom("hello", [1, 2, 3]),
    ...extra,
  ]);
}

export const RFC8032_SEED = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
export const RFC8032_PK = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex");
export const RFC8032_EMPTY_SIG = Buffer.from(
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  "hex",
);

/** The shared fixture, found the way CI's clone finds it: ../shared from the repository root. */
export const Z_WASM = fileURLToPath(new URL("../../../shared/conformance/wasmsign2/z.wasm", import.meta.url));

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `${prefix}-`));
}
