import { describe, expect, it } from 'vitest';
import { metricsPortOf } from '../../../src/cli/commands/worker.js';
import { isSluiceError } from '../../../src/domain/errors.js';

function usageError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_USAGE')) return err;
    throw err;
  }
  throw new Error('expected a SLUICE_USAGE error');
}

describe('metricsPortOf', () => {
  const flags = { coordinator: true };

  it('prefers the flag, falls back to SLUICE_METRICS_PORT, else serves nothing', () => {
    expect(metricsPortOf({ ...flags, metricsPort: '9100' }, { SLUICE_METRICS_PORT: '9200' })).toBe(
      9100,
    );
    expect(metricsPortOf(flags, { SLUICE_METRICS_PORT: '9200' })).toBe(9200);
    expect(metricsPortOf(flags, {})).toBeUndefined();
    expect(metricsPortOf(flags, { SLUICE_METRICS_PORT: '' })).toBeUndefined();
  });

  it('names the environment variable when its value is bad', () => {
    const err = usageError(() => metricsPortOf(flags, { SLUICE_METRICS_PORT: '99999' }));
    expect(err.message).toContain('SLUICE_METRICS_PORT');
    expect(err.message).toContain('"99999"');
  });
});
