import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { jobTotals, MetricsScraper } from '../../src/console/metrics.js';

const TEXT = (inA: number) => `# HELP sluice_job_records_in_total Source records.
# TYPE sluice_job_records_in_total counter
sluice_job_records_in_total{job_id="a",pipeline="p"} ${inA}
sluice_job_records_in_total{job_id="b",pipeline="p"} 5
sluice_job_records_out_total{job_id="a",pipeline="p"} 7
sluice_job_consumer_lag{job_id="a",pipeline="p",topic="in",partition="0"} 3
sluice_job_consumer_lag{job_id="a",pipeline="p",topic="in",partition="1"} 4
sluice_job_errors_total{job_id="a",pipeline="p"} 1
sluice_worker_pipeline_info{pipeline="p",fingerprint="f"} 1
`;

describe('jobTotals', () => {
  it("sums each job's records in, out and lag over its partitions, ignoring other metrics", () => {
    expect(Object.fromEntries(jobTotals(TEXT(10)))).toEqual({
      a: { recordsIn: 10, recordsOut: 7, lag: 7 },
      b: { recordsIn: 5, recordsOut: 0, lag: 0 },
    });
  });
});

describe('MetricsScraper', () => {
  // Two real endpoints, as two workers serve them, and one that is down.
  let served = 0;
  const server = createServer((_req, res) => {
    served += 1;
    res.end(TEXT(served * 10));
  });
  const ready = new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sums over the workers that answer, and keeps the samples in order', async () => {
    const port = await ready;
    let now = 1_000;
    const scraper = new MetricsScraper({
      targets: () => [
        `http://127.0.0.1:${port}/metrics`,
        `http://127.0.0.1:${port}/metrics`,
        'http://127.0.0.1:1/metrics',
      ],
      logger: pino({ level: 'silent' }),
      now: () => now,
    });
    const reported: string[][] = [];
    scraper.onScrape((ids) => reported.push(ids));
    await scraper.scrape();
    now = 2_000;
    await scraper.scrape();
    // Worker answers 10, 20, then 30, 40: a sums 10 + 20, then 30 + 40.
    expect(scraper.history('a')).toEqual([
      { recordsIn: 30, recordsOut: 14, lag: 14, at: 1_000 },
      { recordsIn: 70, recordsOut: 14, lag: 14, at: 2_000 },
    ]);
    expect(scraper.latest('b')).toEqual({ recordsIn: 10, recordsOut: 0, lag: 0, at: 2_000 });
    expect(scraper.latest('none')).toBeNull();
    expect(reported).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });
});
