import type { Command } from 'commander';
import { once } from 'node:events';
import { withClient } from '../connect.js';
import type { GlobalOptions } from '../options.js';
import { emit, table } from '../output.js';
import { jobsTable, statusView, timeline, timelineRow } from '../render.js';

interface JsonFlag {
  json?: boolean;
}

/** `jobs`, `status`, `history`. */
export function registerJobViews(program: Command, globals: () => GlobalOptions): void {
  program
    .command('jobs')
    .description('list jobs, newest first')
    .option('--active', 'only jobs that have not ended')
    .option('--json', 'print machine-readable JSON')
    .action(async (o: JsonFlag & { active?: boolean }) => {
      await withClient(globals(), (client) => {
        const jobs = client
          .listJobs()
          .filter((j) => !o.active || !['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status()));
        emit(
          o,
          jobs.map((j) => j.snapshot()),
          () => jobsTable(jobs),
        );
        return Promise.resolve();
      });
    });

  program
    .command('status <job>')
    .description(
      "show a job's status, config, snapshots and, when suspended or failed, the whole cause",
    )
    .option('--json', 'print machine-readable JSON')
    .action(async (ref: string, o: JsonFlag) => {
      await withClient(globals(), (client) => {
        const state = client.getJob(ref).snapshot();
        emit(o, state, () => statusView(state));
        return Promise.resolve();
      });
    });

  program
    .command('history <job>')
    .description("a job's lifecycle events from the log: time, event, who, detail")
    .option('--follow', 'keep printing new events until interrupted')
    .option('--json', 'print machine-readable JSON (with --follow, one event per line)')
    .action(async (ref: string, o: JsonFlag & { follow?: boolean }) => {
      await withClient(globals(), async (client) => {
        const job = client.getJob(ref);
        const events = job.history();
        if (!o.follow) {
          emit(o, events, () => timeline(events));
          return;
        }
        let printed = 0;
        const print = (): void => {
          const all = job.history();
          for (const e of all.slice(printed)) {
            process.stdout.write(
              o.json ? `${JSON.stringify(e)}\n` : `${table([timelineRow(e)])}\n`,
            );
          }
          printed = all.length;
        };
        print();
        const off = job.onStatusChange(() => print());
        const timer = setInterval(print, 500);
        await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
        clearInterval(timer);
        off();
        print();
      });
    });
}
