import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { authorize, hostAllowed, TOKEN_COOKIE } from '../../src/console/auth.js';
import { compileConsoleOptions } from '../../src/console/options.js';

const TOKEN = 't'.repeat(32);

function req(url: string, headers: Record<string, string> = {}): IncomingMessage {
  return { url, headers } as unknown as IncomingMessage;
}

const basic = (user: string, pw: string): string =>
  `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

describe('authorize', () => {
  it('lets everyone on this machine in when no credentials are set', () => {
    expect(authorize(req('/'), compileConsoleOptions({}))).toEqual({ ok: true, user: null });
  });

  it('takes the token as a bearer header, the cookie or ?token=, and nothing else', () => {
    const o = compileConsoleOptions({ host: '0.0.0.0', token: TOKEN });
    expect(authorize(req('/', { authorization: `Bearer ${TOKEN}` }), o).ok).toBe(true);
    expect(authorize(req('/', { cookie: `a=b; ${TOKEN_COOKIE}=${TOKEN}` }), o).ok).toBe(true);
    expect(authorize(req(`/?token=${TOKEN}`), o).ok).toBe(true);
    expect(authorize(req('/'), o)).toEqual({ ok: false, challenge: null });
    expect(authorize(req('/', { authorization: `Bearer ${TOKEN}x` }), o).ok).toBe(false);
    expect(authorize(req('/?token=nope'), o).ok).toBe(false);
  });

  it('takes basic credentials, says who logged in, and asks for them otherwise', () => {
    const o = compileConsoleOptions({
      host: '0.0.0.0',
      basic: { username: 'oncall', password: 'p:w' },
    });
    expect(authorize(req('/', { authorization: basic('oncall', 'p:w') }), o)).toEqual({
      ok: true,
      user: 'oncall',
    });
    const refused = authorize(req('/', { authorization: basic('oncall', 'p') }), o);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.challenge).toMatch(/^Basic realm=/);
    expect(authorize(req(`/?token=${TOKEN}`), o).ok).toBe(false);
  });
});

describe('hostAllowed', () => {
  it('without credentials, answers only to the names of this machine (no DNS rebinding)', () => {
    const o = compileConsoleOptions({});
    for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'localhost'])
      expect(hostAllowed(req('/', { host }), o), host).toBe(true);
    for (const host of ['evil.example:8080', 'evil.example', ''])
      expect(hostAllowed(req('/', { host }), o), host).toBe(false);
    const token = compileConsoleOptions({ host: '0.0.0.0', token: TOKEN });
    expect(hostAllowed(req('/', { host: 'console.example:8080' }), token)).toBe(true);
  });
});
