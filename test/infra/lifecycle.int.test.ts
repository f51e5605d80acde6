import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { reapStale, type InstanceState } from '../../src/infra/instance.js';
import { isAlive } from '../../src/infra/process.js';
import { probeBroker } from '../../src/infra/probe.js';
import { childEnv, firstLine, runCli, spawnTs } from '../support/spawn.js';

// Each test here starts its own local servers in a private state folder (SLUICE_STATE_DIR),
// sharing only the download cache, so they never touch the servers the rest of the suite uses.

const stateDirs: string[] = [];
function privateStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-'));
  stateDirs.push(dir);
  return dir;
}
afterAll(() => stateDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function onlyInstance(stateDir: string): InstanceState {
  const [name] = readdirSync(stateDir);
  expect(name).toBeDefined();
  return JSON.parse(
    readFileSync(join(stateDir, name ?? '', 'state.json'), 'utf8'),
  ) as InstanceState;
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('servers owned by a process', () => {
  it('are stopped and removed by the watchdog when the owner is killed with SIGKILL', async () => {
    const stateDir = privateStateDir();
    const child = spawnTs(
      'test/support/hold-infra.ts',
      [],
      childEnv({ SLUICE_STATE_DIR: stateDir, SLUICE_INFRA: 'java' }),
    );
    const endpoints = JSON.parse(await firstLine(child, 150_000)) as { brokers: string[] };
    const state = onlyInstance(stateDir);
    expect(state.pids).toHaveLength(2);
    expect(await probeBroker(endpoints.brokers)).toBe(1);

    child.kill('SIGKILL');
    await until(
      'the servers to stop',
      () => state.pids.every((pid) => !isAlive(pid, state.dir)),
      30_000,
    );
    await until('the instance folder to go', () => !existsSync(state.dir), 10_000);
  });

  it('are reaped by the next start when the owner and its watchdog were both killed', async () => {
    const stateDir = privateStateDir();
    const child = spawnTs(
      'test/support/hold-infra.ts',
      [],
      childEnv({ SLUICE_STATE_DIR: stateDir, SLUICE_INFRA: 'java' }),
    );
    await firstLine(child, 150_000);
    const state = onlyInstance(stateDir);
    expect(state.watchdog).toBeTypeOf('number');
    process.kill(state.watchdog ?? 0, 'SIGKILL');
    child.kill('SIGKILL');
    await sleep(500);
    expect(state.pids.every((pid) => isAlive(pid, state.dir))).toBe(true);

    await reapStale({ ...process.env, SLUICE_STATE_DIR: stateDir });
    expect(state.pids.some((pid) => isAlive(pid, state.dir))).toBe(false);
    expect(existsSync(state.dir)).toBe(false);
  });
});

describe('sluice infra up | status | down', () => {
  it('starts shared servers, reports the same endpoints twice, and stops them', async () => {
    const env = childEnv({ SLUICE_STATE_DIR: privateStateDir(), SLUICE_INFRA: 'java' });
    const cli = (...args: string[]) => runCli(args, env);

    const before = await cli('infra', 'status', '--json');
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout)).toMatchObject({ running: false });

    const up = await cli('infra', 'up', '--json');
    expect(up.code, up.stderr).toBe(0);
    const first = JSON.parse(up.stdout) as {
      brokers: string[];
      registryUrl: string;
      source: string;
    };
    expect(first.source).toBe('java');
    expect(first.brokers[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(first.registryUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/);
    expect(await probeBroker(first.brokers)).toBe(1);

    const again = await cli('infra', 'up', '--json');
    expect(JSON.parse(again.stdout)).toEqual({ ...first, source: 'running' });
    const status = await cli('infra', 'status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({
      running: true,
      brokers: first.brokers,
      registryUrl: first.registryUrl,
      source: 'running',
      security: {},
    });

    const state = onlyInstance(env.SLUICE_STATE_DIR ?? '');
    const down = await cli('infra', 'down', '--json');
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toEqual({ stopped: true });
    expect(state.pids.some((pid) => isAlive(pid, state.dir))).toBe(false);

    const after = await cli('infra', 'status', '--json');
    expect(after.code).toBe(1);
  });

  it('exits non-zero with a JSON error for a malformed endpoint', async () => {
    const res = await runCli(
      ['infra', 'up', '--json', '--brokers', 'PLAINTEXT://x:9092', '--registry', 'http://r'],
      childEnv({}),
    );
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({ error: { code: 'SLUICE_INFRA_BAD_ENDPOINT' } });
  });
});
