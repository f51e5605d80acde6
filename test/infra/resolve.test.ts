import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { resolveInfra } from '../../src/infra/index.js';

/** The usage error a resolve refuses with before it starts anything. */
async function refusal(start: Promise<unknown>): Promise<Error> {
  const err = await start.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSluiceError(err, 'SLUICE_USAGE'), String(err)).toBe(true);
  return err as Error;
}

describe('resolveInfra with brokerCount', () => {
  // A state folder of its own: none of these may touch instances others run.
  const env = { ...process.env, SLUICE_STATE_DIR: '/nonexistent/sluice-resolve-test' };

  it.each([0, 6, 2.5, Number.NaN])('refuses %s brokers, naming the range', async (brokerCount) => {
    const err = await refusal(resolveInfra({ brokerCount, env }));
    expect(err.message).toContain('from 1 to 5');
  });

  it('refuses a cluster with SASL brokers', async () => {
    const err = await refusal(
      resolveInfra({
        brokerCount: 3,
        brokerSecurity: { sasl: { username: 'u', password: 'p' } },
        env,
      }),
    );
    expect(err.message).toContain('plaintext brokers only');
  });

  it('starts a cluster only as a private, owned instance from Java', async () => {
    for (const opts of [{ mode: 'shared' as const }, { strategy: 'docker' as const }]) {
      const err = await refusal(resolveInfra({ brokerCount: 3, ...opts, env }));
      expect(err.message).toContain('3-broker cluster');
    }
  });
});
