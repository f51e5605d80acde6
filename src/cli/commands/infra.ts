import type { Command } from 'commander';
import { resolveInfra, stopShared } from '../../infra/index.js';
import { isSluiceError } from '../../domain/errors.js';
import type { ConnectionSecurity } from '../../domain/security.js';
import { loadSecurity } from '../../node/security.js';
import { redacted } from '../../observability/redact.js';
import { accessFor } from '../connect.js';
import { documented } from '../help.js';
import { EXIT_CODES } from '../exit-codes.js';
import { emit, progress, table } from '../output.js';
import type { GlobalOptions } from '../options.js';

/** `sluice infra up | down | status`. */
export function registerInfra(program: Command, globals: () => GlobalOptions): void {
  const infra = program
    .command('infra')
    .description('start, stop or show the local Kafka broker and schema registry');

  const up = infra
    .command('up')
    .description(
      'find or start Kafka and a schema registry, and leave them running for later commands',
    );
  documented(
    up,
    '{ "brokers": string[], "registryUrl": string, "source": "given" | "running" | "docker" | "java" }',
    [
      ['sluice infra up', 'start a local broker and registry (or find the running ones)'],
      [
        'sluice infra up --json | jq -r \'.brokers | join(",")\'',
        'the bootstrap servers, e.g. for SLUICE_BROKERS elsewhere',
      ],
    ],
  ).action(async (opts: { json?: boolean }) => {
    const g = globals();
    const found = await resolveInfra({
      mode: 'shared',
      brokers: g.brokers,
      registryUrl: g.registry,
      access: accessFor(g, loadSecurity({ flags: g })),
      onProgress: progress,
    });
    emit(
      opts,
      { brokers: found.brokers, registryUrl: found.registryUrl, source: found.source },
      () => view(found),
    );
  });

  const status = infra
    .command('status')
    .description(
      'show the Kafka broker and schema registry later commands would use (exit code 1 when none runs)',
    );
  documented(
    status,
    '{ "running": true, "brokers": string[], "registryUrl": string, "source": "given" | "running",\n  "security": the settings later commands log in with, passwords redacted }\nor, with exit code 1: { "running": false, "brokers": [], "registryUrl": null }',
    [
      ['sluice infra status', 'which servers later commands would use, and how they log in'],
      [
        'sluice infra status --json >/dev/null || sluice infra up',
        'start servers only if none run',
      ],
    ],
  ).action(async (opts: { json?: boolean }) => {
    const g = globals();
    const security = loadSecurity({ flags: g });
    let found;
    try {
      found = await resolveInfra({
        mode: 'find',
        brokers: g.brokers,
        registryUrl: g.registry,
        access: accessFor(g, security),
      });
    } catch (err) {
      if (!isSluiceError(err, 'SLUICE_INFRA_NOT_RUNNING')) throw err;
      emit(opts, { running: false, brokers: [], registryUrl: null }, () => err.message);
      process.exitCode = EXIT_CODES.FAILURE;
      return;
    }
    emit(
      opts,
      {
        running: true,
        brokers: found.brokers,
        registryUrl: found.registryUrl,
        source: found.source,
        // What later commands would log in with, so a user can check which source won.
        security: redacted(security),
      },
      () => `${view(found)}\n${table([['security', securityLine(security)]])}`,
    );
  });

  const down = infra
    .command('down')
    .description(
      'stop the Kafka broker and schema registry that `sluice infra up` started, and delete their data',
    );
  documented(down, '{ "stopped": boolean } (false when nothing was running)', [
    ['sluice infra down', 'stop them and delete their data'],
  ]).action(async (opts: { json?: boolean }) => {
    const stopped = await stopShared();
    emit(opts, { stopped }, () =>
      stopped ? 'Stopped Kafka and the schema registry.' : 'Nothing was running.',
    );
  });
}

function view(found: { brokers: string[]; registryUrl: string; source: string }): string {
  return table([
    ['brokers', found.brokers.join(',')],
    ['registry', found.registryUrl],
    ['source', describe(found.source)],
  ]);
}

/** One line, no secrets: "SASL scram-sha-256 as alice, TLS, registry user bob, registry CA /ca.pem". */
function securityLine(s: ConnectionSecurity): string {
  const parts = [
    s.sasl && `SASL ${s.sasl.mechanism} as ${s.sasl.username}`,
    s.ssl !== undefined && s.ssl !== false && 'TLS',
    s.registryAuth && `registry user ${s.registryAuth.username}`,
    s.registryCa !== undefined && `registry CA ${s.registryCa}`,
  ].filter((p): p is string => typeof p === 'string');
  return parts.length > 0 ? parts.join(', ') : 'none (plaintext)';
}

function describe(source: string): string {
  switch (source) {
    case 'given':
      return 'given (--brokers/--registry or SLUICE_BROKERS/SLUICE_REGISTRY_URL)';
    case 'running':
      return 'running (started by `sluice infra up`; stop with `sluice infra down`)';
    default:
      return `${source} (started now; stop with \`sluice infra down\`)`;
  }
}
