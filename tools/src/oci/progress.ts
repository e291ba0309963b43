/**
 * A one-line transfer progress bar on stderr, drawn only when stderr is a terminal so logs and
 * CI output stay clean. Redraws are throttled.
 */
export interface Progress {
  add(bytes: number): void;
  done(): void;
}

const MIN_BAR_BYTES = 4 * 1024 * 1024;
const noop: Progress = { add() {}, done() {} };

function mib(n: number): string {
  return (n / (1024 * 1024)).toFixed(1);
}

export function progressBar(label: string, total: number | undefined, stream: NodeJS.WriteStream = process.stderr): Progress {
  // Small blobs finish before a bar is worth drawing (and parallel bars would overwrite each other).
  if (!stream.isTTY || (total !== undefined && total < MIN_BAR_BYTES)) return noop;
  let sent = 0;
  let last = 0;
  const width = 24;
  const draw = (): void => {
    const frac = total !== undefined && total > 0 ? Math.min(1, sent / total) : 0;
    const filled = Math.round(frac * width);
    const bar = total !== undefined ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.round(frac * 100)}%` : "";
    const size = total !== undefined ? `${mib(sent)}/${mib(total)} MiB` : `${mib(sent)} MiB`;
    stream.write(`\r\x1b[K${label} ${bar} ${size}`);
  };
  return {
    add(bytes: number) {
      sent += bytes;
      const now = Date.now();
      if (now - last > 100) {
        last = now;
        draw();
      }
    },
    done() {
      draw();
      stream.write("\n");
    },
  };
}
