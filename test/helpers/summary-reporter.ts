import type { Reporter } from "vitest/reporters";
import type { RunnerTask, RunnerTestFile } from "vitest";

/**
 * Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary,
 * so CI systems that read closing lines count tests without parsing vitest's format.
 */
export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const visit = (t: RunnerTask): void => {
      if (t.type === "suite") {
        for (const c of t.tasks) visit(c);
        if (t.tasks.length === 0 && t.result?.state === "fail") failed++;
        return;
      }
      const s = t.result?.state;
      if (s === "pass") passed++;
      else if (s === "fail") failed++;
      else skipped++;
    };
    for (const f of files) visit(f);
    failed += errors.length;
    // Defer past the default reporter's summary, which is written in the same hook.
    setImmediate(() => process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`));
  }
}
