import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type RunningConsole } from '../../src/console/server.js';
import type { JobState } from '../../src/domain/state.js';
import type { Job } from '../../src/client/job.js';
import { Worker } from '../../src/node/worker.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { launchBrowser, SCREENSHOTS } from '../support/browser.js';
import { jobHops, outputsWhenThrough } from '../support/job-groups.js';
import { endpoints, testNamespace, useTopics } from '../support/kafka.js';
import { produceNumbers, readAll, runningSums, valuesByKey } from '../support/records.js';
import { pricedTotals } from '../support/priced-totals.js';
import { connectClient, startCoordinator, testLogger } from '../support/sluice.js';

// Issue 16 in a real browser (Debian's chromium through playwright-core), on a real broker and
// registry: the console's page watches a job suspended by a poison record (within 2 s, with no
// reload), resumes it after the fix with the keyboard, skips and dead-letters failing records,
// shows a refusal's reason, and cancels. What the jobs wrote is checked on the sink topics, not
// on the page.

const ns = testNamespace('console');
const admin = await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: 1 },
  { topic: `${ns}.out`, numPartitions: 1 },
  { topic: `${ns}.in2`, numPartitions: 1 },
  { topic: `${ns}.out2`, numPartitions: 1 },
  { topic: `${ns}.in3`, numPartitions: 1 },
  { topic: `${ns}.out3`, numPartitions: 1 },
  { topic: `${ns}.in4`, numPartitions: 1 },
  { topic: `${ns}.out4`, numPartitions: 1 },
  { topic: `${ns}.dlt`, numPartitions: 1 },
]);
await startCoordinator(ns);
/** The test's own client: another operator, and the reader of the job log. */
const alice = await connectClient(ns, 'alice');
const consoleClient = await connectClient(ns, 'console:ops');
const { brokers, registryUrl } = endpoints();
const POISON = 40;

const totals = (fixed: boolean) => pricedTotals(fixed, POISON);

/** in → check (throws on n = 20, in every version) → out: for skip, dead-letter and refusals. */
const strict = (args: Record<string, string>): PipelineDef =>
  Pipeline.create()
    .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '' }))
    .map(
      (r) => {
        if (r.n === 20) throw new TypeError(`order ${r.n} has no amount`);
        return r.n;
      },
      { name: 'check' },
    )
    .writeTo(Sinks.kafka({ topic: args.output ?? '' }));

/** Every worker the test started: the console reads the metrics of those still serving. */
const workers: Worker[] = [];

function worker(workerId: string): Worker {
  const w = new Worker({
    brokers,
    registryUrl,
    namespace: ns,
    logger: testLogger,
    workerId,
    coordinator: false,
    metricsPort: 0,
  });
  workers.push(w);
  return w;
}

const metricsTargets = (): string[] =>
  workers.flatMap((w) =>
    w.metricsPort === undefined ? [] : [`http://127.0.0.1:${w.metricsPort}/metrics`],
  );

const broken = worker('broken-1').register('totals', totals(false), { version: 'v1' });
const strictHost = worker('strict-1').register('strict', strict, { version: 'v1' });
await broken.start();
await strictHost.start();
let brokenStopped = false;
afterAll(async () => {
  if (!brokenStopped) await broken.stop();
  await strictHost.stop();
});

const browser = await launchBrowser();
let console_: RunningConsole;
let page: Page;
beforeAll(async () => {
  console_ = await startConsole(
    { client: consoleClient, logger: testLogger, metricsTargets, metricsIntervalMs: 250 },
    { port: 0 },
  );
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
});
afterAll(() => console_.close());

/** Resolves when the test's own reader of the log sees the job reach `status`. */
function reaches(job: Job, status: JobState['status']): Promise<void> {
  return new Promise((resolve) => {
    if (job.status() === status) return resolve();
    const off = job.onStatusChange((c) => {
      if (c.newStatus === status) {
        off();
        resolve();
      }
    });
  });
}

/** The data-role of the element with the focus (browser code, as text). */
const FOCUSED_ROLE = "document.activeElement?.getAttribute('data-role')";
const FOCUSED_ACTION = "document.activeElement?.getAttribute('data-action')";

/** The status badge in the job page's heading. */
const heading = (status: string) => page.locator(`h1 .badge[data-status="${status}"]`);

/** Clicks an action's button, then the confirmation's confirm button, filling its fields. */
async function act(action: string, fields: Record<string, string> = {}): Promise<void> {
  await page.locator(`[data-action="${action}"]`).click();
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  for (const [name, value] of Object.entries(fields))
    await dialog.locator(`input[name="${name}"]`).fill(value);
  await dialog.locator('[data-role=confirm]').click();
}

async function submitStrict(
  name: string,
  n: string,
  guarantee: 'NONE' | 'EXACTLY_ONCE',
): Promise<Job> {
  const job = await alice.submit('strict', {
    name,
    suspendOnFailure: true,
    processingGuarantee: guarantee,
    snapshotIntervalMs: 500,
    args: { input: `${ns}.in${n}`, output: `${ns}.out${n}` },
  });
  await produceNumbers(`${ns}.in${n}`, 50);
  await reaches(job, 'SUSPENDED_DUE_TO_ERROR');
  return job;
}

describe('the console in a browser', () => {
  let job: Job;

  it('shows a job suspended by a poison record within 2 s, with its offset, without a reload', async () => {
    job = await alice.submit('totals', {
      name: 'orders',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      snapshotIntervalMs: 500,
      args: { input: `${ns}.in`, output: `${ns}.out` },
    });
    await reaches(job, 'RUNNING');
    await page.goto(console_.url);
    await page.locator(`tr[data-job="${job.id}"] [data-status="RUNNING"]`).waitFor();
    await page.locator(`a[href="#/jobs/${job.id}"]`).click();
    await heading('RUNNING').waitFor();
    // Browser code as text: the test's TypeScript has no DOM types.
    await page.evaluate('window.notReloaded = true');

    const suspended = reaches(job, 'SUSPENDED_DUE_TO_ERROR');
    await produceNumbers(`${ns}.in`, 100);
    await suspended;
    // The bound: from the event in the log to the page showing it.
    await heading('SUSPENDED_DUE_TO_ERROR').waitFor({ timeout: 2000 });
    await page
      .locator('[data-role=record] [data-fact=offset]', { hasText: String(POISON - 1) })
      .waitFor({ timeout: 2000 });
    expect(await page.evaluate('window.notReloaded === true')).toBe(true);
    expect(await page.locator('[data-role=error]').textContent()).toBe(
      `RangeError: n=${POISON} has no price`,
    );
    expect(await page.locator('[data-role=record] [data-fact=topic]').textContent()).toBe(
      `${ns}.in`,
    );
    expect(await page.locator('[data-role=record] [data-fact=key]').textContent()).toBe('k4');
    expect(await page.locator('[data-role=record] .value').textContent()).toBe(
      JSON.stringify({ n: POISON, k: 'k4' }),
    );
    await page.screenshot({ path: `${SCREENSHOTS}job-suspended.png`, fullPage: true });

    await page.locator('a[data-key=back]').click();
    const row = page.locator(`tr.suspended[data-job="${job.id}"]`);
    await row.waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}job-list.png` });
  });

  it('resumes it after a fixed worker starts, from the keyboard: RUNNING, then the exact totals on the sink', async () => {
    const fixed = worker('fixed-1').register('totals', totals(true), { version: 'v2' });
    await fixed.start();
    afterAll(() => fixed.stop());
    await broken.stop(); // a clean stop: the same-code check forgets it at once
    brokenStopped = true;

    await page.locator(`a[href="#/jobs/${job.id}"]`).click();
    await heading('SUSPENDED_DUE_TO_ERROR').waitFor();
    await page.locator('[data-action=resume]').focus();
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    // The safe choice has the focus; Tab reaches the confirmation.
    expect(await page.evaluate(FOCUSED_ROLE)).toBe('cancel');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(FOCUSED_ROLE)).toBe('confirm');
    await page.keyboard.press('Enter');
    await heading('RUNNING').waitFor({ timeout: 60_000 });

    const outputs = await outputsWhenThrough(
      admin,
      jobHops(ns, job.id, `${ns}.in`, ['totals']),
      `${ns}.out`,
      120_000,
    );
    expect(valuesByKey(outputs)).toEqual(runningSums(100));
    // The workers' metrics, read by the console: the fixed worker has caught up with the input.
    await page.locator('[data-fact="lag"]', { hasText: /^0$/ }).waitFor({ timeout: 30_000 });
    await page.locator('.chart figcaption', { hasText: 'Lag' }).waitFor();
    const resumed = job.history().find((e) => e.type === 'JobResumed');
    expect(resumed).toMatchObject({ issuedBy: 'console:ops', failingRecord: 'RETRY' });
  });

  it('shows the reason the coordinator refuses an action, then cancels the job', async () => {
    // Under NONE no snapshot is ever committed: an export is refused with NO_SNAPSHOT.
    const job = await submitStrict('refused', '4', 'NONE');
    await page.goto(`${console_.url}#/jobs/${job.id}`);
    await heading('SUSPENDED_DUE_TO_ERROR').waitFor();
    await act('export-snapshot', { name: 'refused-1' });
    const message = page.locator('[data-role=message][data-code=NO_SNAPSHOT]');
    await message.waitFor({ timeout: 60_000 });
    expect(await message.textContent()).toContain('has no committed snapshot yet');
    // The console's refusal, not a worker's: a report that reached the coordinator after the
    // suspension (the worker's tasks started after the first record failed) is refused too.
    await page
      .locator('tr.rejected[data-type=CommandRejected]', { hasText: 'console:ops' })
      .waitFor();
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');

    await act('cancel');
    await heading('CANCELLED').waitFor({ timeout: 60_000 });
    expect(job.history().at(-1)).toMatchObject({ type: 'JobCancelled', issuedBy: 'console:ops' });
  });

  it('skips the failing record: every other record reaches the sink, once', async () => {
    const job = await submitStrict('skipper', '2', 'EXACTLY_ONCE');
    await page.goto(`${console_.url}#/jobs/${job.id}`);
    await heading('SUSPENDED_DUE_TO_ERROR').waitFor();
    // Escape closes a confirmation, and the focus goes back to the button that opened it.
    await page.locator('[data-action=skip]').focus();
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog').waitFor({ state: 'detached' });
    expect(await page.evaluate(FOCUSED_ACTION)).toBe('skip');
    await act('skip');
    await heading('RUNNING').waitFor({ timeout: 60_000 });
    const outputs = await outputsWhenThrough(
      admin,
      jobHops(ns, job.id, `${ns}.in2`),
      `${ns}.out2`,
      120_000,
    );
    const ns_ = outputs.map((r) => Number(r.value?.toString())).sort((a, b) => a - b);
    expect(ns_).toEqual(Array.from({ length: 50 }, (_, i) => i + 1).filter((n) => n !== 20));
    expect(job.history().find((e) => e.type === 'JobResumed')).toMatchObject({
      failingRecord: 'SKIP',
      issuedBy: 'console:ops',
    });
  });

  it('dead-letters the failing record to the topic typed in the dialog', async () => {
    const job = await submitStrict('lettered', '3', 'EXACTLY_ONCE');
    await page.goto(`${console_.url}#/jobs/${job.id}`);
    await heading('SUSPENDED_DUE_TO_ERROR').waitFor();
    await act('dead-letter', { deadLetterTopic: `${ns}.dlt` });
    await heading('RUNNING').waitFor({ timeout: 60_000 });
    const outputs = await outputsWhenThrough(
      admin,
      jobHops(ns, job.id, `${ns}.in3`),
      `${ns}.out3`,
      120_000,
    );
    expect(outputs).toHaveLength(49);
    const dead = await readAll(`${ns}.dlt`);
    expect(dead.map((r) => JSON.parse(String(r.value)) as unknown)).toEqual([{ n: 20, k: 'k4' }]);
    expect(job.history().find((e) => e.type === 'JobResumed')).toMatchObject({
      failingRecord: 'DEAD_LETTER',
      deadLetterTopic: `${ns}.dlt`,
      issuedBy: 'console:ops',
    });
  });

  it('suspends a running job, changes its config, exports a snapshot and resumes it', async () => {
    const job = alice.getJob('lettered');
    // An export needs a committed snapshot. The job failed before its first one, and the
    // resumed run commits its first within 500 ms of its last record: wait for the log to say so.
    await new Promise<void>((resolve) => {
      const check = (): boolean => job.snapshot().lastSnapshot !== null;
      if (check()) return resolve();
      const off = alice.onEvent(() => {
        if (check()) {
          off();
          resolve();
        }
      });
    });
    await page.goto(`${console_.url}#/jobs/${job.id}`);
    await heading('RUNNING').waitFor();
    await act('suspend');
    await heading('SUSPENDED').waitFor({ timeout: 60_000 });

    await act('update-config', { snapshotIntervalMs: '2000' });
    await page.locator('[data-fact=snapshots]', { hasText: 'every 2000 ms' }).waitFor();
    expect(job.config().snapshotIntervalMs).toBe(2000);

    await act('export-snapshot', { name: 'lettered-v1' });
    await page
      .locator('[data-role=message].ok', { hasText: 'Export snapshot: done' })
      .waitFor({ timeout: 60_000 });
    // The exported snapshots' table: a cell that is the name alone.
    await page.locator('td', { hasText: /^lettered-v1$/ }).waitFor();
    expect(Object.keys(job.snapshot().exportedSnapshots)).toEqual(['lettered-v1']);

    await act('resume');
    await heading('RUNNING').waitFor({ timeout: 60_000 });
    const byConsole = job
      .history()
      .filter((e) => e.issuedBy === 'console:ops')
      .map((e) => e.type);
    expect(byConsole).toEqual([
      'JobResumed',
      'JobSuspended',
      'ConfigUpdated',
      'SnapshotExportStarted',
      'SnapshotExported',
      'JobResumed',
    ]);
  });
});
