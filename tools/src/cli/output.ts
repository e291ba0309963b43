/**
 * Results go to stdout: one JSON document with --json, otherwise short human lines.
 * Everything else (progress, logs) goes to stderr through util/log.ts.
 */
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
