import { isSluiceError } from '../domain/errors.js';
import { redactText, stringifyRedacted } from '../observability/redact.js';
import { exitCodeFor, type ExitCode } from './exit-codes.js';

// Everything below goes through redaction (redact.ts): a URL with a password in it, a private
// key or a field named like a secret is printed redacted, whichever command printed it.

/** Output settings every command shares. */
export interface OutputOptions {
  json?: boolean;
}

/** Prints a result: JSON on stdout for scripts, or the human rendering. */
export function emit(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${stringifyRedacted(value, 2)}\n`);
  else process.stdout.write(`${redactText(human())}\n`);
}

/**
 * Prints one item of a stream: with `--json`, one compact JSON object per line (NDJSON), so a
 * reader can parse each line as it arrives; otherwise the human line.
 */
export function emitLine(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) jsonLine(value);
  else process.stdout.write(`${redactText(human())}\n`);
}

/** One compact JSON object on one line of stdout: what long-running commands print with `--json`. */
export function jsonLine(value: unknown): void {
  process.stdout.write(`${stringifyRedacted(value)}\n`);
}

/** Progress of long work goes to stderr, so `--json` output on stdout stays parseable. */
export function progress(message: string): void {
  process.stderr.write(`${redactText(message)}\n`);
}

/**
 * The `--json` shape of every error, whatever the command: `{ "error": { code, message,
 * details } }`. `code` is a stable SLUICE_… code (SLUICE_UNEXPECTED for a bug), `details` an
 * object of machine-readable facts (possibly empty).
 */
export interface JsonError {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/** The {@link JsonError} for any thrown value. */
export function jsonError(err: unknown): JsonError {
  return {
    error: {
      code: isSluiceError(err) ? err.code : 'SLUICE_UNEXPECTED',
      message: err instanceof Error ? err.message : String(err),
      details: isSluiceError(err) ? err.details : {},
    },
  };
}

/** Reports an error in the requested form and returns the exit code to use. */
export function reportError(err: unknown, json: boolean): ExitCode {
  if (json) process.stdout.write(`${stringifyRedacted(jsonError(err), 2)}\n`);
  else {
    const { code, message } = jsonError(err).error;
    process.stderr.write(`error ${code}: ${redactText(message)}\n`);
  }
  return exitCodeFor(err);
}

/** Left-aligned columns for human tables. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}
