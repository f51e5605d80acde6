import { describe, expect, it } from 'vitest';
import { EXIT_CODES, exitCodeFor } from '../../../src/cli/exit-codes.js';
import { buildProgram } from '../../../src/cli/main.js';
import { jsonError } from '../../../src/cli/output.js';
import { JobPurgedError } from '../../../src/domain/job-errors.js';

/** What `sluice <name> --help` prints, help text after the options included. */
function helpOf(name: string): string {
  const cmd = buildProgram().commands.find((c) => c.name() === name);
  if (!cmd) throw new Error(`no command ${name}`);
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

describe('sluice purge', () => {
  it('says in its help what is deleted at once, what compaction deletes later, and what is refused', () => {
    const help = helpOf('purge');
    expect(help).toContain('Usage: sluice purge [options] <job>');
    expect(help).toContain('asks no confirmation');
    expect(help).toContain('JobPurged event');
    expect(help).toContain('min.compaction.lag.ms');
    expect(help).toContain('one\n    day by default on <ns>.jobs');
    expect(help).toContain('COMPLETED, FAILED or CANCELLED');
    expect(help).toContain('sluice snapshots delete');
    expect(help).toContain('--json');
  });

  it('reports a purged job as not found (exit code 3), saying by whom and when', () => {
    const err = new JobPurgedError('3f2a', {
      name: 'totals',
      at: Date.UTC(2026, 0, 2),
      issuedBy: 'ops',
    });
    expect(exitCodeFor(err)).toBe(EXIT_CODES.UNKNOWN_JOB);
    expect(jsonError(err)).toMatchObject({
      error: {
        code: 'SLUICE_JOB_NOT_FOUND',
        details: { jobId: '3f2a', purged: true, purgedBy: 'ops', purgedAt: Date.UTC(2026, 0, 2) },
      },
    });
    expect(err.message).toContain(
      'Job "totals" (3f2a) was purged on 2026-01-02T00:00:00.000Z by ops',
    );
  });
});
