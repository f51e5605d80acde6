import type { Command } from 'commander';
import { apply } from '../../domain/apply.js';
import type { JobEvent } from '../../domain/events.js';
import type { JobState } from '../../domain/state.js';
import { withClient } from '../connect.js';
import { documented } from '../help.js';
import { untilStopSignal } from '../signals.js';
import type { GlobalOptions } from '../options.js';
import { emit, emitLine } from '../output.js';
import { timeline, TIMELINE_HEADER, timelineLine, timelineRow } from '../render.js';

/** `sluice history <job> [--follow]`. */
export function registerHistory(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('history <job>')
    .description(
      "a job's lifecycle events from the log, as a timeline: time, event, status, who, detail",
    )
    .option('--follow', 'keep printing new events as they arrive, until Ctrl-C');
  documented(
    cmd,
    '[ event, ... ] in log order; each event is\n{ "eventId", "jobId", "seq", "commandId", "issuedBy", "at" (epoch ms), "type", ...its fields }\nWith --follow: one event per line (NDJSON), the past ones first, then each new one as it arrives.',
    [
      ['sluice history totals', 'what happened to job "totals", and who did it'],
      ['sluice history totals --follow', 'watch it live; Ctrl-C to stop'],
      [
        'sluice history totals --follow --json | jq -c \'select(.type == "JobSuspendedDueToError")\'',
        'a stream of the suspensions an error caused',
      ],
    ],
  ).action(async (ref: string, o: { json?: boolean; follow?: boolean }) => {
    // Listening before the first line is printed: see untilStopSignal.
    const stopSignal = o.follow ? untilStopSignal() : undefined;
    await withClient(globals(), async (client) => {
      const job = client.getJob(ref);
      if (!stopSignal) {
        const events = job.history();
        emit(o, events, () => timeline(events));
        return;
      }
      // Fold locally, so each line can say which status its event led to.
      let state: JobState | undefined;
      const print = (e: JobEvent): void => {
        const before = state;
        state = apply(state, e);
        emitLine(o, e, () => timelineLine(timelineRow(e, before, state)));
      };
      if (!o.json) process.stdout.write(`${timelineLine(TIMELINE_HEADER)}\n`);
      // The history read so far and the subscription happen in the same tick: no event can fall
      // between them, and none is printed twice.
      for (const e of job.history()) print(e);
      const off = client.onEvent((e) => {
        if (e.jobId === job.id) print(e);
      });
      await stopSignal;
      off();
    });
  });
}
