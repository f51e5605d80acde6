import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { JobRow, StreamMessage } from '../../src/console/api-types.js';
import { endpoints } from '../support/kafka.js';
import { ROOT } from '../support/spawn.js';

/** Everything a console's event stream sends until the console closes it. */
async function followStream(url: string): Promise<StreamMessage[]> {
  const res = await fetch(`${url}api/events`);
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
    text += decoder.decode(chunk, { stream: true });
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => JSON.parse(frame.slice('data: '.length)) as StreamMessage);
}

// README's first command must keep working: run the built demo against the test servers. While
// it runs, the console it serves lists its job and streams the job's suspension and resume.
describe('npm run demo', () => {
  it('suspends the job on the bad record, resumes on the fixed worker, and verifies every total', async () => {
    const { brokers, registryUrl } = endpoints();
    let stream: Promise<StreamMessage[]> | undefined;
    let listed: Promise<JobRow[]> | undefined;
    let consoleUrl = '';
    const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['dist/demo/main.js'], {
        cwd: ROOT,
        env: {
          ...process.env,
          SLUICE_BROKERS: brokers.join(','),
          SLUICE_REGISTRY_URL: registryUrl,
          SLUICE_DEMO_CONSOLE_PORT: '0',
        },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const url = /Console: (http:\/\/\S+\/)/.exec(out)?.[1];
        if (url && !stream) {
          consoleUrl = url;
          stream = followStream(url);
        }
        if (url && !listed && out.includes('2. Submitted job'))
          listed = fetch(`${url}api/jobs`).then((r) => r.json() as Promise<JobRow[]>);
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(/join\(\) rejected with JobSuspendedError/);
    expect(result.out).toMatch(/error {3}TypeError: order 5000 has no amount/);
    expect(result.out).toMatch(/0 after it \(the job is frozen\)/);
    expect(result.out).toMatch(/Verified: every total is exact/);

    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await listed)?.map((r) => r.name)).toEqual(['order-totals']);
    const statuses = (await stream)?.flatMap((m) =>
      m.type === 'job' && m.row.name === 'order-totals' && m.entry.status ? [m.entry.status] : [],
    );
    // The stream may connect just after the submission: the first statuses may come before it.
    expect(statuses?.slice(-4)).toEqual([
      'SUSPENDED_DUE_TO_ERROR',
      'STARTING',
      'RUNNING',
      'CANCELLED',
    ]);
  }, 180_000);
});
