import { isSluiceError } from '../domain/errors.js';

/** Output settings every command shares. */
export interface OutputOptions {
  json?: boolean;
}

/** Prints a result: JSON on stdout for scripts, or the human rendering. */
export function emit(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/** Progress of long work goes to stderr, so `--json` output on stdout stays parseable. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Exit codes: 1 for a failed or rejected operation, 2 for a usage mistake. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Reports an error in the requested form and returns the exit code to use. */
export function reportError(err: unknown, json: boolean): number {
  const code = isSluiceError(err) ? err.code : 'SLUICE_UNEXPECTED';
  const message = err instanceof Error ? err.message : String(err);
  const details = isSluiceError(err) ? err.details : {};
  if (json)
    process.stdout.write(`${JSON.stringify({ error: { code, message, details } }, null, 2)}\n`);
  else process.stderr.write(`error ${code}: ${message}\n`);
  return isSluiceError(err, 'SLUICE_USAGE') ? EXIT_USAGE : EXIT_FAILURE;
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
