import { describe, expect, it } from 'vitest';
import { parsePort } from '../../src/cli/options.js';
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
