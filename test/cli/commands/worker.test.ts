import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadPipelines,
  metricsPortOf,
  pipelineVersionOf,
  registerPipelines,
  retryOf,
} from '../../../src/cli/commands/worker.js';
import { codeFingerprint } from '../../../src/node/fingerprint.js';
import { Worker } from '../../../src/node/worker.js';
import { DEFAULT_RETRY } from '../../../src/kafka/retry.js';
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

describe('retryOf', () => {
  const flags = { coordinator: true };

  it('takes each setting from its flag, else its variable, else the default', () => {
    expect(retryOf(flags, {})).toEqual(DEFAULT_RETRY);
    expect(
      retryOf(
        { ...flags, retryBudgetMs: '300000' },
        { SLUICE_RETRY_BUDGET_MS: '1000', SLUICE_RETRY_MAX_MS: '8000' },
      ),
    ).toEqual({ initialMs: 250, maxMs: 8000, budgetMs: 300_000 });
    expect(retryOf({ ...flags, retryBudgetMs: '0' }, {}).budgetMs).toBe(0);
  });

  it('names the flag or variable whose value is not a number of milliseconds', () => {
    expect(usageError(() => retryOf({ ...flags, retryBudgetMs: '30s' }, {})).message).toBe(
      '--retry-budget-ms must be a whole number of milliseconds, not "30s".',
    );
    expect(usageError(() => retryOf(flags, { SLUICE_RETRY_INITIAL_MS: '-5' })).message).toContain(
      'SLUICE_RETRY_INITIAL_MS',
    );
  });

  it('refuses settings that make no policy, as a usage error naming both sides', () => {
    const err = usageError(() =>
      retryOf({ ...flags, retryInitialMs: '2000' }, { SLUICE_RETRY_MAX_MS: '1000' }),
    );
    expect(err.message).toBe(
      'SLUICE_RETRY_MAX_MS must be at least the first delay (--retry-initial-ms = 2000 ms), not 1000.',
    );
    expect(usageError(() => retryOf({ ...flags, retryInitialMs: '0' }, {})).message).toBe(
      '--retry-initial-ms must be at least 1 ms, not 0.',
    );
  });
});

describe('the fingerprints of the pipelines `sluice worker` hosts', () => {
  const flags = { coordinator: true };

  it('take the version from --pipeline-version, else SLUICE_PIPELINE_VERSION, else none', () => {
    const env = { SLUICE_PIPELINE_VERSION: 'v2' };
    expect(pipelineVersionOf({ ...flags, pipelineVersion: 'v3' }, env)).toBe('v3');
    expect(pipelineVersionOf(flags, env)).toBe('v2');
    expect(pipelineVersionOf(flags, {})).toBeUndefined();
    expect(pipelineVersionOf(flags, { SLUICE_PIPELINE_VERSION: '' })).toBeUndefined();
  });

  it("hash each pipeline's name, the version and its module file's whole content", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-fp-'));
    const module = (file: string, body: string): string => {
      const path = join(dir, file);
      writeFileSync(path, body);
      return path;
    };
    const helper = 'const rate = 100;\n';
    const body = 'export default { a: (args) => ({ rate }), b: () => ({}) };\n';
    const broken = module('broken.mjs', `${helper}${body}`);
    // The same factories; only a constant outside them changed.
    const fixed = module('fixed.mjs', `${helper.replace('100', '101')}${body}`);
    const fingerprints = async (path: string, version?: string) => {
      const worker = new Worker({ brokers: ['127.0.0.1:1'], registryUrl: 'http://127.0.0.1:1' });
      registerPipelines(worker, await loadPipelines([path]), version);
      return worker.fingerprints;
    };
    const source = `${helper}${body}`;
    expect(await fingerprints(broken)).toEqual({
      a: codeFingerprint({ pipeline: 'a', source }),
      b: codeFingerprint({ pipeline: 'b', source }),
    });
    const before = await fingerprints(broken);
    const after = await fingerprints(fixed);
    expect(after.a).not.toBe(before.a);
    expect((await fingerprints(broken, 'v2')).a).toBe(
      codeFingerprint({ pipeline: 'a', source, version: 'v2' }),
    );
  });
});
