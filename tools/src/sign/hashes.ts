import { createHash } from "node:crypto";
import { isDelimiter, PieceStreamer, sectionPieces, type SectionInfo } from "./sections.ts";
import type { ByteSource } from "./source.ts";

export interface HashWalk {
  /** Hash after each `signature_delimiter` section (the delimiter included), by section index. */
  atDelimiters: Array<{ index: number; hash: Uint8Array }>;
  /** Hash of everything. */
  final: Uint8Array;
  /** True when the last section is a delimiter (false when there are no sections). */
  endsOnDelimiter: boolean;
}

/**
 * One rolling SHA-256 over the given sections, never reset, with a snapshot at every delimiter.
 * `normalize` hashes sections as wasmsign2 re-serializes them (minimal varints); without it the
 * exact file bytes are hashed.
 */
export async function hashSections(
  src: ByteSource,
  sections: readonly SectionInfo[],
  normalize: boolean,
  /** Also receives every hashed byte, in order (to write the output in the same pass). */
  tee?: (chunk: Uint8Array) => Promise<void>,
): Promise<HashWalk> {
  const hash = createHash("sha256");
  const streamer = new PieceStreamer(
    src,
    tee === undefined
      ? (chunk) => {
          hash.update(chunk);
        }
      : async (chunk) => {
          hash.update(chunk);
          await tee(chunk);
        },
  );
  const atDelimiters: HashWalk["atDelimiters"] = [];
  let lastWasDelimiter = false;
  for (const s of sections) {
    for (const p of sectionPieces(s, normalize)) await streamer.add(p);
    lastWasDelimiter = isDelimiter(s);
    if (lastWasDelimiter) {
      await streamer.flush();
      atDelimiters.push({ index: s.index, hash: new Uint8Array(hash.copy().digest()) });
    }
  }
  await streamer.flush();
  return { atDelimiters, final: new Uint8Array(hash.digest()), endsOnDelimiter: lastWasDelimiter };
}

/** The hash list a signer signs: one per delimiter, plus a final one unless the module ends on a delimiter. */
export function signedHashList(walk: HashWalk): Uint8Array[] {
  const out = walk.atDelimiters.map((d) => d.hash);
  if (!walk.endsOnDelimiter) out.push(walk.final);
  return out;
}
