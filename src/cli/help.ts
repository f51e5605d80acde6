import type { Command } from 'commander';

/** The `--json` shape of commands that act on a job. */
export const SUMMARY_JSON =
  '{ "jobId": string, "name": string, "status": JobStatus } (the status after the command)';

/** One example of a command line and what it does. */
export type Example = [commandLine: string, what: string];

/**
 * Adds `--json` and the help text after the options: what `--json` prints, then examples. The
 * shape is written next to the flag so it is documented where a script author looks, and kept
 * stable: fields may be added, never renamed or removed.
 */
export function documented(cmd: Command, json: string, list: Example[]): Command {
  cmd.option('--json', 'print machine-readable JSON (shape below)');
  const lines = [
    '',
    'JSON output (--json):',
    ...json.split('\n').map((l) => `  ${l}`),
    '  On error: { "error": { "code", "message", "details" } } (see `sluice --help` for exit codes).',
  ];
  if (list.length > 0) {
    lines.push('', 'Examples:');
    for (const [commandLine, what] of list) lines.push(`  $ ${commandLine}`, `      ${what}`);
  }
  return cmd.addHelpText('after', lines.join('\n'));
}
