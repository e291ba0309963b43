/**
 * One differential case: the same composition made by `wasm-oci` and by `wac`, judged by the
 * reference tools. Both must accept or both reject; accepted outputs must pass `wasm-tools
 * validate`, read as the same WIT (`wasm-tools component wit`), and answer every call the same in
 * wasmtime and in jco (`wasm-oci run`). Where wac's bytes are the reference, ours must be identical
 * once the top-level `producers` section (which names the tool) is dropped.
 *
 *   const tally = new Tally("compose fixtures");
 *   const r = await differential({ name, compose: { command: "compose", args }, calls }, dir, tally);
 *   expect(r.problems).toEqual([]);
 *   afterAll(() => tally.print());
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Reader } from "../../../tools/src/component/binary.ts";
import {
  composeOurs, composeWac, runJco, runWasmtime, validate, witOf, type Answer, type ComposeArgs, type Outcome,
} from "./tools.ts";

export interface Call {
  /** `fn(args)` or `ns:pkg/iface#fn(args)`, arguments JSON. */
  invoke: string;
  /** The answer when the case knows it; otherwise the four runs only have to agree. */
  expect?: unknown;
}

export interface CaseSpec {
  name: string;
  compose: ComposeArgs;
  calls?: Call[];
  /** wac's bytes are the reference: ours must be identical after dropping `producers`. */
  bytesReference?: boolean;
  /** The Node that runs jco (`wasm-oci run`), when this one cannot compile the components. */
  jcoNode?: string;
}

export type Verdict = "identical" | "equivalent" | "both-rejected" | "difference";

export interface CaseResult {
  verdict: Verdict;
  problems: string[];
  ours: Outcome;
  wac: Outcome;
}

/** Counts of one suite, printed at its end. */
export class Tally {
  cases = 0;
  identical = 0;
  equivalent = 0;
  bothRejected = 0;
  readonly differences: string[] = [];
  constructor(readonly label: string) {}

  add(name: string, r: CaseResult): void {
    this.cases++;
    if (r.verdict === "identical") this.identical++;
    else if (r.verdict === "equivalent") this.equivalent++;
    else if (r.verdict === "both-rejected") this.bothRejected++;
    else this.differences.push(`${name}: ${r.problems.join("; ")}`);
  }

  print(): void {
    const lines = [
      `differential ${this.label}: ${this.cases} cases run, ${this.identical} identical, ${this.equivalent} equivalent, ` +
        `${this.bothRejected} rejected by both, ${this.differences.length} differences`,
      ...this.differences.map((d) => `  difference: ${d}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }
}

/** The component without its top-level custom sections named `producers`. */
export function dropProducers(bytes: Uint8Array): Uint8Array {
  const r = new Reader(bytes, 8);
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  while (!r.done) {
    const start = r.pos;
    const id = r.u8();
    const size = r.u32();
    const body = r.pos;
    r.pos = body + size;
    if (id === 0 && new Reader(bytes, body, body + size).name() === "producers") continue;
    keep.push(bytes.subarray(start, body + size));
  }
  return Buffer.concat(keep);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

function show(a: Answer): string {
  return a.ok ? JSON.stringify(a.value) : `error(${a.error.split("\n").pop()})`;
}

export async function differential(spec: CaseSpec, dir: string, tally?: Tally): Promise<CaseResult> {
  const oursOut = join(dir, `${spec.name}.ours.wasm`);
  const wacOut = join(dir, `${spec.name}.wac.wasm`);
  const [ours, wac] = await Promise.all([composeOurs(spec.compose, oursOut), composeWac(spec.compose, wacOut)]);
  const problems: string[] = [];
  let verdict: Verdict;
  if (!ours.ok && !wac.ok) verdict = "both-rejected";
  else if (!ours.ok || !wac.ok) {
    problems.push(ours.ok ? `wac rejects what we accept: ${(wac as { error: string }).error}` : `we reject what wac accepts: ${ours.error}`);
    verdict = "difference";
  } else {
    await writeFile(oursOut, ours.bytes);
    await writeFile(wacOut, wac.bytes);
    const identical = sameBytes(dropProducers(ours.bytes), dropProducers(wac.bytes));
    if (spec.bytesReference === true && !identical) problems.push("bytes differ from wac's (producers dropped)");
    const [vOurs, vWac] = await Promise.all([validate(oursOut), validate(wacOut)]);
    if (vOurs !== undefined) problems.push(`ours fails wasm-tools validate: ${vOurs}`);
    if (vWac !== undefined) problems.push(`wac's fails wasm-tools validate: ${vWac}`);
    if (!identical) {
      const [wOurs, wWac] = await Promise.all([witOf(oursOut), witOf(wacOut)]);
      if (wOurs.wit !== wWac.wit || wOurs.error !== wWac.error) {
        problems.push(`component wit differs:\n--- ours\n${wOurs.wit ?? wOurs.error}\n--- wac\n${wWac.wit ?? wWac.error}`);
      }
    }
    for (const call of spec.calls ?? []) {
      // Identical bytes run identically: one of them is enough in each runtime.
      const files = identical ? [oursOut] : [oursOut, wacOut];
      const answers: Array<[string, Answer]> = [];
      for (const f of files) {
        const who = f === oursOut ? "ours" : "wac's";
        answers.push([`${who} in wasmtime`, await runWasmtime(f, call.invoke)]);
        answers.push([`${who} in jco`, await runJco(f, call.invoke, spec.jcoNode)]);
      }
      const want = "expect" in call ? JSON.stringify(call.expect) : show(answers[0]![1]);
      const wrong = answers.filter(([, a]) => !a.ok || JSON.stringify(a.value) !== want);
      if (wrong.length > 0) problems.push(`${call.invoke}: expected ${want}; ${answers.map(([w, a]) => `${w} ${show(a)}`).join(", ")}`);
    }
    verdict = problems.length > 0 ? "difference" : identical ? "identical" : "equivalent";
  }
  const result: CaseResult = { verdict, problems, ours, wac };
  tally?.add(spec.name, result);
  return result;
}
