import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleIssuedBy, consoleOptionsOf } from '../../../src/cli/commands/console.js';
import { isSluiceError } from '../../../src/domain/errors.js';
import { exitCodeFor } from '../../../src/cli/exit-codes.js';

const flags = { port: '0', host: '0.0.0.0' };
const dir = mkdtempSync(join(tmpdir(), 'console-flags-'));
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

function failure(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('sluice console flags', () => {
  it('reads the token from its file or the environment, never from the command line', () => {
    const token = 'f'.repeat(32);
    expect(consoleOptionsOf({ ...flags, tokenFile: file('t', `${token}\n`) }, {}).token).toBe(
      token,
    );
    expect(consoleOptionsOf(flags, { SLUICE_CONSOLE_TOKEN: token }).token).toBe(token);
  });

  it('reads basic credentials from a user and a password file or the environment', () => {
    const o = consoleOptionsOf(
      { ...flags, user: 'oncall', passwordFile: file('p', 'pw\nignored') },
      {},
    );
    expect(o.basic).toEqual({ username: 'oncall', password: 'pw' });
    const env = consoleOptionsOf(flags, {
      SLUICE_CONSOLE_USER: 'ops',
      SLUICE_CONSOLE_PASSWORD: 'x',
    });
    expect(env.basic).toEqual({ username: 'ops', password: 'x' });
  });

  it('refuses 0.0.0.0 without credentials with exit code 2, and a user without a password', () => {
    const err = failure(() => consoleOptionsOf(flags, {}));
    expect(isSluiceError(err, 'SLUICE_CONSOLE_UNPROTECTED')).toBe(true);
    expect(exitCodeFor(err)).toBe(2);
    expect(
      isSluiceError(
        failure(() => consoleOptionsOf({ ...flags, user: 'ops' }, {})),
        'SLUICE_USAGE',
      ),
    ).toBe(true);
    expect(
      isSluiceError(
        failure(() => consoleOptionsOf({ ...flags, tokenFile: file('e', '\n') }, {})),
        'SLUICE_USAGE',
      ),
    ).toBe(true);
  });

  it('records actions as the given issuer, else console: and the basic user, else the OS user', () => {
    const basic = consoleOptionsOf(flags, {
      SLUICE_CONSOLE_USER: 'ops',
      SLUICE_CONSOLE_PASSWORD: 'x',
    });
    expect(consoleIssuedBy({}, basic, { SLUICE_ISSUED_BY: 'carol' })).toBe('carol');
    expect(consoleIssuedBy({}, basic, {})).toBe('console:ops');
    expect(consoleIssuedBy({}, consoleOptionsOf({ port: '0', host: '127.0.0.1' }, {}), {})).toMatch(
      /^console:.+@.+$/,
    );
  });
});
