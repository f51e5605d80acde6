import { describe, expect, it } from 'vitest';
import { codeOf } from '../support/errors.js';
import { compileConsoleOptions, isLoopback } from '../../src/console/options.js';

const TOKEN = 'a'.repeat(32);

describe('compileConsoleOptions', () => {
  it('binds to 127.0.0.1:8080 by default, with no credentials needed', () => {
    expect(compileConsoleOptions({})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      token: undefined,
      basic: undefined,
    });
  });

  it('refuses any address other machines reach without a token or credentials', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'console.example.com'])
      expect(
        codeOf(() => compileConsoleOptions({ host })),
        host,
      ).toBe('SLUICE_CONSOLE_UNPROTECTED');
    expect(compileConsoleOptions({ host: '0.0.0.0', token: TOKEN }).token).toBe(TOKEN);
    expect(
      compileConsoleOptions({ host: '0.0.0.0', basic: { username: 'ops', password: 'pw' } }).basic,
    ).toEqual({ username: 'ops', password: 'pw' });
  });

  it('refuses a short token, a bad port and empty basic credentials', () => {
    expect(codeOf(() => compileConsoleOptions({ token: 'short' }))).toBe('SLUICE_USAGE');
    expect(codeOf(() => compileConsoleOptions({ port: 70_000 }))).toBe('SLUICE_USAGE');
    expect(codeOf(() => compileConsoleOptions({ basic: { username: 'a:b', password: 'x' } }))).toBe(
      'SLUICE_USAGE',
    );
    expect(codeOf(() => compileConsoleOptions({ basic: { username: 'a', password: '' } }))).toBe(
      'SLUICE_USAGE',
    );
  });
});

describe('isLoopback', () => {
  it('knows the addresses only this machine reaches', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].map(isLoopback)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['0.0.0.0', '::', '192.168.1.1', '128.0.0.1'].map(isLoopback)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
