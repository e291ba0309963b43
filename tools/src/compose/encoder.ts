/**
 * Encodes a CompositionGraph into a component binary. (Being written: see graph.ts.)
 */
import type { CompositionGraph, EncodeOptions } from "./graph.ts";
import { CompositionError } from "./graph.ts";

export async function encodeGraph(_graph: CompositionGraph, _options: EncodeOptions): Promise<Uint8Array> {
  throw new CompositionError("NOT_IMPLEMENTED", "graph encoding is not implemented yet");
}
