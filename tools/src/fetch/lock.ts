/**
 * The lock file `fetch` writes: what every component resolved to (manifest and component
 * digests, policy layer), and a fingerprint of the checks it passed. A later run whose
 * manifest entry, checks and files on disk still match a lock entry sends no blob request.
 */
import { READ_LIMITS, readTextFile } from "../util/bounded-read.ts";
import * as z from "zod";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { WasmOciError } from "../util/errors.ts";

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/);

export const lockEntrySchema = z.object({
  name: z.string(),
  uri: z.string(),
  /** SHA-256 of the component bytes (DIR/<name>.wasm). */
  digest,
  size: z.number().int().nonnegative(),
  /** oci:// only: the image manifest the URI resolved to. */
  manifestDigest: digest.optional(),
  /** oci:// only: host/repo@manifestDigest, a reference that can never move. */
  resolved: z.string().optional(),
  /** The policy layer written as DIR/<name>.policy.yaml, if the image has one. */
  policy: z.object({ digest, mediaType: z.string() }).optional(),
  /** What was checked (digest pin, signature key, security policy file): a change re-fetches. */
  checks: z.string(),
});
export type LockEntry = z.infer<typeof lockEntrySchema>;

export const lockFileSchema = z.object({
  lockfileVersion: z.literal(1),
  components: z.array(lockEntrySchema),
});
export type LockFile = z.infer<typeof lockFileSchema>;

/** The lock file's entries by name; a missing file is an empty lock, a broken one an error. */
export async function readLock(path: string): Promise<Map<string, LockEntry>> {
  let text: string;
  try {
    text = await readTextFile(path, READ_LIMITS.configFile, "BAD_LOCK_FILE", "lock file");
  } catch {
    return new Map();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WasmOciError("BAD_LOCK_FILE", `${path} is not valid JSON (${(e as Error).message}); delete it to fetch everything again`);
  }
  const r = lockFileSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new WasmOciError("BAD_LOCK_FILE", `${path}: ${i?.path.join(".") || "(root)"}: ${i?.message}; delete it to fetch everything again`);
  }
  return new Map(r.data.components.map((c) => [c.name, c]));
}

export async function writeLock(path: string, entries: LockEntry[]): Promise<void> {
  const lock: LockFile = { lockfileVersion: 1, components: [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  await writeFileAtomic(path, `${JSON.stringify(lock, null, 2)}\n`);
}
