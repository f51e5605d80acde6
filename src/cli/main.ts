#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { SluiceError } from '../domain/errors.js';
import { registerCoordinator } from './commands/coordinator.js';
import { registerInfra } from './commands/infra.js';
import { registerJobVerbs } from './commands/job-verbs.js';
import { registerJobViews } from './commands/job-views.js';
import { registerWorker } from './commands/worker.js';
import type { GlobalOptions } from './options.js';
import { addSecurityOptions } from './security-options.js';
import { EXIT_CODES, EXIT_CODES_HELP } from './exit-codes.js';
import { reportError } from './output.js';

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
    );
  addSecurityOptions(program);
  program.addHelpText('after', `\n${EXIT_CODES_HELP}`);
  program.showHelpAfterError().exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  registerInfra(program, globals);
  registerJobVerbs(program, globals);
  registerJobViews(program, globals);
  registerCoordinator(program, globals);
  registerWorker(program, globals);
  return program;
}

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
