#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { SluiceError } from '../domain/errors.js';
import { registerConsole } from './commands/console.js';
import { registerAcl } from './commands/acl.js';
import { registerCoordinator } from './commands/coordinator.js';
import { registerDescribe } from './commands/describe.js';
import { registerExportSnapshot } from './commands/export-snapshot.js';
import { registerSnapshots } from './commands/snapshots.js';
import { registerHistory } from './commands/history.js';
import { registerInfra } from './commands/infra.js';
import { registerJobVerbs } from './commands/job-verbs.js';
import { registerJobViews } from './commands/job-views.js';
import { registerPurge } from './commands/purge.js';
import { registerSubmit } from './commands/submit.js';
import { registerWorker } from './commands/worker.js';
import { EXIT_CODES, EXIT_CODES_HELP } from './exit-codes.js';
import type { GlobalOptions } from './options.js';
import { reportError } from './output.js';
import { addSecurityOptions } from './security-options.js';

const ROOT_HELP = `
Every command takes --json: the result as JSON on stdout (each command's help shows the shape),
and on error { "error": { "code", "message", "details" } } on stdout instead of text on stderr.
Progress bars are drawn on stderr only at a terminal, never with --json.

${EXIT_CODES_HELP}

Examples:
  $ sluice infra up
      start a local Kafka broker and schema registry for the commands below
  $ sluice worker ./pipelines.js
      host the pipelines a module exports (a worker is also a coordinator candidate)
  $ sluice submit order-totals --name totals --suspend-on-failure --arg input=orders
      run a job; an error suspends it instead of failing it
  $ sluice jobs
      list jobs: name, id, status, guarantee, age
  $ sluice status totals
      why a job is suspended, and the record it failed on
  $ sluice resume totals --skip-failing-record
      go on past that record
  $ sluice history totals --follow
      watch a job's lifecycle events as they happen
  $ sluice console
      watch and act on jobs in a browser, at http://127.0.0.1:8080/`;

/** Builds the `sluice` command tree; exported so tests can run it in-process. */
export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Sluice: a Kafka stream processor whose failing jobs are suspended, not killed')
    .option(
      '--brokers <list>',
      'Kafka bootstrap servers, host:port comma list (env SLUICE_BROKERS)',
    )
    .option('--registry <url>', 'schema registry URL (env SLUICE_REGISTRY_URL)')
    .option(
      '--namespace <ns>',
      'prefix of every Sluice topic (env SLUICE_NAMESPACE, default "sluice")',
    )
    .option(
      '--issued-by <who>',
      'who the commands are recorded as in the job log (env SLUICE_ISSUED_BY, default user@host)',
    )
    .option(
      '--replication-factor <n>',
      "replicas of each topic Sluice creates: the namespace's, state changelogs, repartition topics (env SLUICE_REPLICATION_FACTOR, default the broker's default.replication.factor)",
    )
    .option(
      '--min-insync-replicas <n>',
      "min.insync.replicas of each topic Sluice creates (env SLUICE_MIN_INSYNC_REPLICAS, default the broker's)",
    );
  addSecurityOptions(program);
  program.addHelpText('after', ROOT_HELP);
  // Set before the subcommands are made, so they inherit both. A hint, not the whole help: with
  // examples it runs to dozens of lines and would bury the one line that says what was wrong.
  program.showHelpAfterError("(add --help for this command's usage and examples)").exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  registerInfra(program, globals);
  registerSubmit(program, globals);
  registerJobVerbs(program, globals);
  registerExportSnapshot(program, globals);
  registerSnapshots(program, globals);
  registerJobViews(program, globals);
  registerPurge(program, globals);
  registerHistory(program, globals);
  registerCoordinator(program, globals);
  registerWorker(program, globals);
  registerDescribe(program, globals);
  registerConsole(program, globals);
  registerAcl(program, globals);
  return program;
}

/** Runs the CLI and returns its exit code (see {@link EXIT_CODES}). */
async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    return EXIT_CODES.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      if (err.exitCode === 0) return EXIT_CODES.OK;
      // Commander already explained the mistake on stderr; a script asked for JSON gets it too.
      if (json) reportError(commanderUsage(err), true);
      return EXIT_CODES.USAGE;
    }
    return reportError(err, json);
  }
}

/** A commander parse error as a SLUICE_USAGE error, keeping commander's code in the details. */
function commanderUsage(err: CommanderError): SluiceError {
  return new SluiceError('SLUICE_USAGE', err.message.replace(/^error: /, ''), {
    details: { reason: err.code },
  });
}

const code = await main(process.argv);
// A command may already have set a non-zero code (e.g. `infra status` when nothing runs).
process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
