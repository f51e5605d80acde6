import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { Worker } from '../../src/runtime/worker.js';

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

  it('has no metrics port until started, and none at all without the option', () => {
    const opts = { brokers: ['127.0.0.1:1'], registryUrl: 'http://127.0.0.1:1' };
    expect(new Worker({ ...opts, metricsPort: 0 }).metricsPort).toBeUndefined();
    expect(new Worker(opts).metricsPort).toBeUndefined();
  });
});
