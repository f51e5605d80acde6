import type { ServerResponse } from 'node:http';
import type { SluiceClient } from '../client/client.js';
import type { JobState } from '../domain/state.js';
import type { StreamMessage } from './api-types.js';
import { entryOf, rowOf } from './views.js';

/** How often an idle stream gets a comment line, so proxies and browsers keep it open. */
const KEEPALIVE_MS = 15_000;

/**
 * The pages' live feed: server-sent events, one per job-log event the client folds, sent the
 * moment the console's client reads it. Nothing is polled: the client follows the log.
 */
export class JobStream {
  private readonly open = new Set<ServerResponse>();
  private readonly last = new Map<string, JobState>();
  private readonly off: () => void;
  private readonly keepalive: NodeJS.Timeout;

  constructor(
    client: SluiceClient,
    private readonly metricsOf: (jobId: string) => ReturnType<typeof rowOf>['metrics'] = () => null,
  ) {
    // The states as the log stood when the console started: the "before" of each next event.
    for (const job of client.listJobs()) this.last.set(job.id, job.snapshot());
    this.off = client.onEvent((event, after) => {
      const before = this.last.get(event.jobId);
      if (!after) {
        this.last.delete(event.jobId);
        this.send({ type: 'removed', jobId: event.jobId });
        return;
      }
      this.last.set(event.jobId, after);
      this.send({
        type: 'job',
        row: rowOf(after, this.metricsOf(after.jobId)),
        entry: entryOf(event, before, after),
      });
    });
    this.keepalive = setInterval(() => {
      for (const res of this.open) res.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /** Answers a request with the event stream; it stays open until the page goes. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Some proxies buffer responses; a live feed must not be.
      'x-accel-buffering': 'no',
    });
    // A first line at once, so the page knows it is connected (and when it reconnects).
    res.write('event: hello\ndata: {}\n\n');
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
  }

  /** Sends one message to every open page. */
  send(message: StreamMessage): void {
    const frame = `data: ${JSON.stringify(message)}\n\n`;
    for (const res of this.open) res.write(frame);
  }

  /** How many pages are connected. */
  get listeners(): number {
    return this.open.size;
  }

  close(): void {
    this.off();
    clearInterval(this.keepalive);
    for (const res of this.open) res.end();
    this.open.clear();
  }
}
