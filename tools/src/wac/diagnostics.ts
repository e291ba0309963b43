import { WasmOciError } from "../util/errors.ts";

/** A source text and the name it is reported under (a path, or `<input>`). */
export interface Source {
  readonly path: string;
  readonly text: string;
}

/** Half-open byte range [start, end) into a Source's text (UTF-16 offsets). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface LineCol {
  /** 1-based */
  readonly line: number;
  /** 1-based, in characters */
  readonly column: number;
}

export function lineColOf(text: string, offset: number): LineCol {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * Renders `path:line:col: message`, the offending source line and a caret run under the
 * span, so a user can find the problem without counting characters.
 */
export function renderDiagnostic(source: Source, span: Span, message: string): string {
  const { line, column } = lineColOf(source.text, span.start);
  const lineStart = source.text.lastIndexOf("\n", span.start - 1) + 1;
  let lineEnd = source.text.indexOf("\n", lineStart);
  if (lineEnd < 0) lineEnd = source.text.length;
  const lineText = source.text.slice(lineStart, lineEnd).replace(/\r$/, "");
  const caretLen = Math.max(1, Math.min(span.end, lineEnd) - span.start);
  const gutter = String(line);
  const pad = " ".repeat(gutter.length);
  // Tabs before the caret are kept as tabs so the caret lines up in a terminal.
  const lead = lineText.slice(0, column - 1).replace(/[^\t]/g, " ");
  return [
    `${source.path}:${line}:${column}: ${message}`,
    `${pad} |`,
    `${gutter} | ${lineText}`,
    `${pad} | ${lead}${"^".repeat(caretLen)}`,
  ].join("\n");
}

/**
 * An error tied to a position in a WAC or WIT source. `code` distinguishes syntax errors
 * (WAC_SYNTAX / WIT_SYNTAX) from resolution errors (WAC_RESOLUTION / WIT_RESOLUTION).
 */
export class SourceError extends WasmOciError {
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly span: Span;
  readonly shortMessage: string;

  constructor(code: string, source: Source, span: Span, message: string) {
    const { line, column } = lineColOf(source.text, span.start);
    super(code, renderDiagnostic(source, span, message), {
      exitCode: 1,
      details: { file: source.path, line, column },
    });
    this.name = "SourceError";
    this.path = source.path;
    this.line = line;
    this.column = column;
    this.span = span;
    this.shortMessage = message;
  }
}
