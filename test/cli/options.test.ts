import { describe, expect, it } from 'vitest';
import { parsePort, topicOptionsOf } from '../../src/cli/options.js';
import { isSluiceError } from '../../src/domain/errors.js';

function usageError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_USAGE')) return err;
    throw err;
  }
  throw new Error('expected a SLUICE_USAGE error');
}

describe('parsePort', () => {
  it('accepts integers from 0 to 65535', () => {
    expect(parsePort('0', '--metrics-port')).toBe(0);
    expect(parsePort('9464', '--metrics-port')).toBe(9464);
    expect(parsePort('65535', '--metrics-port')).toBe(65535);
  });

  it.each(['65536', '-1', '1.5', 'abc', '', '80x', '1e3', '0x50'])(
    'rejects %j with a usage error naming the value and the flag',
    (bad) => {
      const err = usageError(() => parsePort(bad, '--metrics-port'));
      expect(err.message).toContain(`"${bad}"`);
      expect(err.message).toContain('--metrics-port');
    },
  );
});

describe('topicOptionsOf', () => {
  it('takes each flag, else its variable, else leaves it to the broker', () => {
    expect(topicOptionsOf({}, {})).toEqual({});
    expect(
      topicOptionsOf(
        { replicationFactor: '3' },
        { SLUICE_REPLICATION_FACTOR: '5', SLUICE_MIN_INSYNC_REPLICAS: '2' },
      ),
    ).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(topicOptionsOf({ minInsyncReplicas: '1' }, { SLUICE_MIN_INSYNC_REPLICAS: '2' })).toEqual(
      { minInsyncReplicas: 1 },
    );
    expect(topicOptionsOf({}, { SLUICE_REPLICATION_FACTOR: '' })).toEqual({});
  });

  it.each([
    [{ replicationFactor: '0' }, {}, '--replication-factor', '"0"'],
    [{ replicationFactor: 'three' }, {}, '--replication-factor', '"three"'],
    [{}, { SLUICE_REPLICATION_FACTOR: '1.5' }, 'SLUICE_REPLICATION_FACTOR', '"1.5"'],
    [{ minInsyncReplicas: '-1' }, {}, '--min-insync-replicas', '"-1"'],
    [{}, { SLUICE_MIN_INSYNC_REPLICAS: '40000' }, 'SLUICE_MIN_INSYNC_REPLICAS', '"40000"'],
  ])('refuses %j %j as a usage error naming %s and the value', (g, env, source, value) => {
    const err = usageError(() => topicOptionsOf(g, env));
    expect(err.message).toMatch(new RegExp(`^${source} must be a whole number of replicas`));
    expect(err.message).toContain(value);
  });

  it('refuses more replicas in sync than replicas, naming where each came from', () => {
    const err = usageError(() =>
      topicOptionsOf({ minInsyncReplicas: '3' }, { SLUICE_REPLICATION_FACTOR: '2' }),
    );
    expect(err.message).toContain(
      '--min-insync-replicas (3) must be at most SLUICE_REPLICATION_FACTOR (2)',
    );
  });
});
