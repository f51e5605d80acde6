import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { codeFingerprint } from '../../src/node/fingerprint.js';
import { Worker } from '../../src/node/worker.js';

describe('Worker options', () => {
  it.each([-1, 65536, 1.5, Number.NaN])('refuses metricsPort %s before connecting', (port) => {
    let thrown: unknown;
    try {
      new Worker({
        brokers: ['127.0.0.1:1'],
        registryUrl: 'http://127.0.0.1:1',
        metricsPort: port,
      });
    } catch (err) {
      thrown = err;
    }
    expect(isSluiceError(thrown, 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect((thrown as Error).message).toContain(`not ${port}`);
  });

  it('refuses a retry policy that cannot work before connecting', () => {
    let thrown: unknown;
    try {
      new Worker({
        brokers: ['127.0.0.1:1'],
        registryUrl: 'http://127.0.0.1:1',
        retry: { initialMs: 2000, maxMs: 1000 },
      });
    } catch (err) {
      thrown = err;
    }
    expect(isSluiceError(thrown, 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect((thrown as Error).message).toContain('retry.maxMs must be at least the first delay');
  });

  it('has no metrics port until started, and none at all without the option', () => {
    const opts = { brokers: ['127.0.0.1:1'], registryUrl: 'http://127.0.0.1:1' };
    expect(new Worker({ ...opts, metricsPort: 0 }).metricsPort).toBeUndefined();
    expect(new Worker(opts).metricsPort).toBeUndefined();
  });
});

describe('Worker.register', () => {
  const opts = { brokers: ['127.0.0.1:1'], registryUrl: 'http://127.0.0.1:1' };

  it("fingerprints the factory's own source with a version, or the source given; nothing without either", () => {
    const factory = (): never => {
      throw new Error('never built here');
    };
    const worker = new Worker(opts)
      .register('p', factory)
      .register('q', factory, { version: '7' })
      .register('r', factory, { source: 'module text' });
    // 'p' has none: the text of a closure cannot tell a fix from the bug (see register).
    expect(worker.fingerprints).toEqual({
      q: codeFingerprint({ pipeline: 'q', source: factory.toString(), version: '7' }),
      r: codeFingerprint({ pipeline: 'r', source: 'module text' }),
    });
  });
});
