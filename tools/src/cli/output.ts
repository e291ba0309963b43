/**
 * Results go to stdout: one JSON document with --json, otherwise short human lines.
 * Everything else (progress, logs) goes to stderr through util/log.ts.
 */
// A reader that closes early (`wasm-oci show ... | head`) is not a failure of ours.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function printResult(json: boolean | undefined, value: unknown, human: () => string | string[]): void {
  if (json) {
    printJson(value);
    return;
  }
  const text = human();
  for (const line of Array.isArray(text) ? text : [text]) printLine(line);
}
