import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bool, guarantee, integer, jsonValue, keyValues } from '../../src/cli/parse.js';
import { isSluiceError } from '../../src/domain/errors.js';

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_USAGE')) return err.message;
    throw err;
  }
  throw new Error('expected SLUICE_USAGE');
}

describe('flag values', () => {
  it('parse what the help promises', () => {
    expect(guarantee('exactly-once')).toBe('EXACTLY_ONCE');
    expect(guarantee('AT_LEAST_ONCE')).toBe('AT_LEAST_ONCE');
    expect(keyValues(['a=1', 'url=http://x?y=z'])).toEqual({ a: '1', url: 'http://x?y=z' });
    expect(integer('--snapshot-interval', '2000')).toBe(2000);
    expect(bool('--suspend-on-failure', 'false')).toBe(false);
  });

  it('refuse anything else as a usage error naming the flag and the value', () => {
    expect(usage(() => guarantee('twice'))).toContain('--guarantee "twice"');
    expect(usage(() => keyValues(['=x']))).toContain('--arg "=x"');
    expect(usage(() => integer('--snapshot-interval', '2s'))).toContain('--snapshot-interval "2s"');
    expect(usage(() => bool('--suspend-on-failure', 'yes'))).toContain(
      '"yes" is not true or false',
    );
  });
});

describe('jsonValue', () => {
  it('reads JSON inline or from @file, and names the flag when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-json-'));
    writeFileSync(join(dir, 'p.json'), '{"budget":{"maxRecords":1,"windowMs":5}}');
    expect(jsonValue('--error-policy', '{"actions":[]}')).toEqual({ actions: [] });
    expect(jsonValue('--error-policy', `@${join(dir, 'p.json')}`)).toEqual({
      budget: { maxRecords: 1, windowMs: 5 },
    });
    for (const raw of ['{actions:', `@${join(dir, 'missing.json')}`]) {
      const err = (() => {
        try {
          jsonValue('--error-policy', raw);
        } catch (e) {
          return e;
        }
      })();
      expect(isSluiceError(err, 'SLUICE_USAGE')).toBe(true);
      expect((err as Error).message).toMatch(/^--error-policy /);
    }
  });
});
