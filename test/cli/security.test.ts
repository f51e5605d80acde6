import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, runTs, type RunResult } from '../support/spawn.js';

// The CLI's own handling of security settings, before any server is involved: mistakes are
// reported with a code and an exit status, and no password ever reaches stdout or stderr.
// (test/security/sasl.int.test.ts does the same against a real SASL broker.)

const SECRET = 'cli-secret-0b9e';
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function sluice(args: string[], env: Record<string, string>): Promise<RunResult> {
  const run = await runTs('src/cli/main.ts', args, {
    ...childEnv(env),
    SLUICE_LOG_LEVEL: 'debug',
  });
  expect(run.stdout + run.stderr).not.toContain(SECRET);
  return run;
}

function errorOf(run: RunResult): { code: string; message: string } {
  return (JSON.parse(run.stdout) as { error: { code: string; message: string } }).error;
}

describe('sluice security settings', () => {
  it('refuses a password without a user and mechanism, saying what to add', async () => {
    const run = await sluice(['jobs', '--json'], { SLUICE_SASL_PASSWORD: SECRET });
    expect(run.code).toBe(1);
    const error = errorOf(run);
    expect(error.code).toBe('SLUICE_CONFIG_INVALID');
    expect(error.message).toContain('the username is missing; give --sasl-username');
    expect(error.message).toContain('the mechanism is missing; give --sasl-mechanism');
  });

  it('names the bad keys of a config file without printing its values', async () => {
    const config = file(
      'bad.json',
      JSON.stringify({ sasl: { mechanism: 'plain', username: 'u', pasword: SECRET } }),
    );
    const run = await sluice(['--config', config, 'jobs', '--json'], {});
    expect(run.code).toBe(1);
    expect(errorOf(run)).toMatchObject({ code: 'SLUICE_CONFIG_INVALID' });
    expect(errorOf(run).message).toContain('unknown key(s) "pasword" at sasl');
  });

  it('wants named servers for secured settings, and says so as a usage mistake', async () => {
    const run = await sluice(
      [
        'status',
        'some-job',
        '--sasl-mechanism',
        'scram-sha-256',
        '--sasl-username',
        'alice',
        '--sasl-password-file',
        file('pw', `${SECRET}\n`),
      ],
      { SLUICE_STATE_DIR: dir },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'error SLUICE_USAGE: TLS, SASL, registry credentials or a registry CA are set',
    );
  });
});
