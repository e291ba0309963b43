/**
 * Bazel's persistent worker protocol, JSON form (bazelbuild/bazel
 * src/main/protobuf/worker_protocol.proto, printed by protobuf's JsonFormat: lowerCamelCase
 * names, default values omitted). Requests arrive as concatenated JSON objects: Bazel 4.x prints
 * them without a separator (newline-delimited only from 5.0), so they are framed by nesting depth,
 * not by lines. Unknown fields are ignored, as the protocol requires.
 */
import { StringDecoder } from "node:string_decoder";
import { z } from "zod";

const InputSchema = z.object({ path: z.string().default(""), digest: z.string().default("") });

/** JsonFormat also accepts the proto field names; so do we. */
const RawRequestSchema = z.object({
  arguments: z.array(z.string()).optional(),
  inputs: z.array(InputSchema).optional(),
  requestId: z.number().int().optional(),
  request_id: z.number().int().optional(),
  cancel: z.boolean().optional(),
  verbosity: z.number().int().optional(),
  sandboxDir: z.string().optional(),
  sandbox_dir: z.string().optional(),
});

export const WorkRequestSchema = RawRequestSchema.transform((r) => ({
  arguments: r.arguments ?? [],
  inputs: r.inputs ?? [],
  requestId: r.requestId ?? r.request_id ?? 0,
  cancel: r.cancel ?? false,
  verbosity: r.verbosity ?? 0,
  sandboxDir: r.sandboxDir ?? r.sandbox_dir ?? "",
}));
export type WorkRequest = z.infer<typeof WorkRequestSchema>;

export const WorkResponseSchema = z.object({
  exitCode: z.number().int(),
  output: z.string(),
  requestId: z.number().int(),
  wasCancelled: z.boolean().optional(),
});
export type WorkResponse = z.infer<typeof WorkResponseSchema>;

/** One response, one line (Bazel's reader takes concatenated objects; newer ones want lines). */
export function encodeResponse(r: WorkResponse): string {
  return `${JSON.stringify(WorkResponseSchema.parse(r))}\n`;
}

/** Splits a byte stream into top-level JSON object texts, whatever whitespace separates them. */
export class JsonObjectFramer {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Offset in `pending` up to which the state above has been computed. */
  private scanned = 0;

  /** Feeds bytes; returns the complete objects they finish. Throws on text outside an object. */
  push(chunk: Buffer): string[] {
    this.pending += this.decoder.write(chunk);
    const out: string[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.pending.length; i++) {
      const c = this.pending.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          start = i + 1;
          continue;
        }
        if (c !== 0x7b) throw new Error(`work request stream: expected '{' at ${JSON.stringify(this.pending.slice(i, i + 40))}`);
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.pending.slice(start, i + 1));
          start = i + 1;
        }
      }
    }
    this.pending = this.pending.slice(start);
    this.scanned = this.pending.length;
    return out;
  }

  /** True when no partial object is buffered. */
  get idle(): boolean {
    return this.pending.trim() === "";
  }
}

export function parseRequest(text: string): WorkRequest {
  return WorkRequestSchema.parse(JSON.parse(text));
}
