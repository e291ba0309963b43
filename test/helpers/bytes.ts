/**
 * Comparing file contents in tests. vitest's deep equality walks a Buffer element by element
 * (about 10 s for 1 MiB under load), so compare a short identity instead: length and SHA-256.
 *
 *   expect(bytesId(await readFile(out))).toBe(bytesId(original));
 */
import { createHash } from "node:crypto";

export function bytesId(bytes: Uint8Array): string {
  return `${bytes.length} bytes sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
