/**
 * Component values as JSON: jco gives BigInt for 64-bit integers, Uint8Array-like typed arrays for
 * list<u8>, Map-free plain objects for records. This makes them printable and comparable.
 */
import { RESOURCE_MARK } from "./run-worker.ts";

/** jco names a resource's class in PascalCase: `http-client` is HttpClient. */
function witName(className: string): string {
  return className.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

export function toJsonValue(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v === undefined) return null;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, (x) => toJsonValue(x));
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === "object") {
    // A resource handle prints as what it is: {"$resource": "counter"} ($ cannot start a WIT field name).
    const mark = (v as Record<string, unknown>)[RESOURCE_MARK];
    if (typeof mark === "string") return { $resource: witName(mark) };
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonValue(x);
    return out;
  }
  return v;
}

/** JSON with sorted keys, so that equal values have equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
