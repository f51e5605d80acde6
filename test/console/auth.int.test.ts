import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { LineReader, runSluice, startCli, type CliError } from '../support/cli.js';
import { sluiceEnv, testNamespace, useTopics } from '../support/kafka.js';

// Issue 16: off localhost the console asks who is there. The built CLI refuses to listen on
// 0.0.0.0 without credentials; with a token, a browser gets nothing without it, the page and
// its live stream with it (the link's token kept in a cookie, and gone from the address bar);
// with basic auth, the browser's login, and the actions are recorded as that user.

const ns = testNamespace('console-auth');
await useTopics(ns, []);
const browser = await launchBrowser();
const readers: LineReader[] = [];
afterAll(() => Promise.all(readers.map((r) => r.stop())));

/** `sluice console --host 0.0.0.0 --port 0 --json`, once it prints where it serves. */
async function serve(env: Record<string, string>): Promise<{ port: number; issuedBy: string }> {
  const reader = new LineReader(
    startCli(['console', '--host', '0.0.0.0', '--port', '0', '--json'], sluiceEnv(ns, env)),
  );
  readers.push(reader);
  const line = await reader.waitFor((l) => l.startsWith('{'), 60_000);
  return JSON.parse(line) as { port: number; issuedBy: string };
}

describe('sluice console off localhost', () => {
  it('refuses to start without a token or credentials', async () => {
    const run = await runSluice(
      ['console', '--host', '0.0.0.0', '--port', '0', '--json'],
      sluiceEnv(ns),
    );
    expect(run.code).toBe(2);
    expect((run.json as CliError).error.code).toBe('SLUICE_CONSOLE_UNPROTECTED');
    expect((run.json as CliError).error.message).toContain('0.0.0.0');
  });

  it('with a token: nothing without it, the live page with it', async () => {
    const token = randomBytes(16).toString('hex');
    const { port } = await serve({ SLUICE_CONSOLE_TOKEN: token });
    const base = `http://127.0.0.1:${port}/`;
    const context = await browser.newContext();
    const page = await context.newPage();
    expect((await page.goto(base))?.status()).toBe(401);
    expect((await page.goto(`${base}api/jobs`))?.status()).toBe(401);
    expect((await page.goto(`${base}?token=${'0'.repeat(32)}`))?.status()).toBe(401);

    expect((await page.goto(`${base}?token=${token}`))?.status()).toBe(200);
    expect(page.url()).toBe(base);
    await page.locator('.live.on').waitFor();
    expect(await page.locator('h1').textContent()).toBe('Jobs');
    await context.close();

    const bearer = await fetch(`${base}api/jobs`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(bearer.status).toBe(200);
  });

  it('with basic auth: the browser logs in, and acts as that user', async () => {
    const password = randomBytes(8).toString('hex');
    const { port, issuedBy } = await serve({
      SLUICE_CONSOLE_USER: 'oncall',
      SLUICE_CONSOLE_PASSWORD: password,
    });
    expect(issuedBy).toBe('console:oncall');
    const base = `http://127.0.0.1:${port}/`;
    const anonymous = await fetch(base);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);

    const wrong = await browser.newContext({
      httpCredentials: { username: 'oncall', password: 'nope' },
    });
    expect((await (await wrong.newPage()).goto(base))?.status()).toBe(401);
    await wrong.close();

    const right = await browser.newContext({ httpCredentials: { username: 'oncall', password } });
    const page = await right.newPage();
    expect((await page.goto(base))?.status()).toBe(200);
    await page.locator('.live.on').waitFor();
    await page.locator('#who', { hasText: 'acting as console:oncall' }).waitFor();
    await right.close();
  });
});
