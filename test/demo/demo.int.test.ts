import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { endpoints } from '../support/kafka.js';
import { ROOT } from '../support/spawn.js';

// README's first command must keep working: run the built demo against the test servers.
describe('npm run demo', () => {
  it('suspends the job on the bad record, resumes on the fixed worker, and verifies every total', async () => {
    const { brokers, registryUrl } = endpoints();
    const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['dist/demo/main.js'], {
        cwd: ROOT,
        env: {
          ...process.env,
          SLUICE_BROKERS: brokers.join(','),
          SLUICE_REGISTRY_URL: registryUrl,
        },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(/join\(\) rejected with JobSuspendedError/);
    expect(result.out).toMatch(/error {3}TypeError: order 5000 has no amount/);
    expect(result.out).toMatch(/0 after it \(the job is frozen\)/);
    expect(result.out).toMatch(/Verified: every total is exact/);
  }, 180_000);
});
