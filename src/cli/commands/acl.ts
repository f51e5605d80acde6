import type { Command } from 'commander';
import {
  ACL_ROLES,
  aclBindings,
  formatAclTable,
  type AclBinding,
  type AclRole,
} from '../../domain/acl.js';
import { SluiceError } from '../../domain/errors.js';
import { applyAcls } from '../../node/acl.js';
import { resolveNamespace } from '../../node/options.js';
import { loadSecurity } from '../../node/security.js';
import { defaultLogger } from '../../observability/logger.js';
import { documented } from '../help.js';
import type { GlobalOptions } from '../options.js';
import { emit } from '../output.js';

interface AclFlags {
  role: string;
  principal: string;
  dataPrefix?: string[];
  json?: boolean;
}

const ROLE_HELP = `
Roles (docs/security.md, "Roles"):
  operator     submits, suspends, resumes, cancels, exports: writes <ns>.control, reads the log
  worker       runs pipelines: writes <ns>.reports, its jobs' state topics, groups and transactions
  coordinator  applies commands and reports: reads both, writes <ns>.jobs and <ns>.checkpoint
  auditor      reads the job log, the checkpoint and the workers' presence; writes nothing
  producer     the application that writes the sources: only the --data-prefix topics
Resources are named by prefix where Sluice makes them per job. Only ALLOW bindings, any host.`;

/** The bindings a command's flags ask for; SLUICE_USAGE for a role or principal that is wrong. */
function bindingsOf(g: GlobalOptions, o: AclFlags): AclBinding[] {
  if (!(ACL_ROLES as readonly string[]).includes(o.role))
    throw new SluiceError(
      'SLUICE_USAGE',
      `--role must be one of ${ACL_ROLES.join(', ')}, not "${o.role}".`,
    );
  return aclBindings({
    role: o.role as AclRole,
    principal: o.principal,
    namespace: resolveNamespace(g.namespace),
    dataPrefixes: o.dataPrefix ?? [],
  });
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--role <role>', `one of ${ACL_ROLES.join(', ')}`)
    .requiredOption('--principal <principal>', 'the Kafka principal, e.g. User:sluice-worker')
    .option(
      '--data-prefix <prefix>',
      "prefix of the application's topics a worker reads and writes, a producer writes (repeatable)",
      (v: string, all: string[] = []) => [...all, v],
    );
}

/** `sluice acl print` and `sluice acl apply`. */
export function registerAcl(program: Command, globals: () => GlobalOptions): void {
  const acl = program
    .command('acl')
    .description('the Kafka ACLs each Sluice role needs: print them, or create them');
  const print = common(
    acl.command('print').description('print the smallest set of ACL bindings a role needs'),
  );
  print.addHelpText('after', ROLE_HELP);
  documented(print, '[{ "principal", "resourceType", "resourceName", "pattern", "operation" }]', [
    [
      'sluice acl print --role worker --principal User:w --data-prefix orders.',
      "a worker's bindings in namespace sluice, reading and writing the orders.* topics",
    ],
  ]).action((o: AclFlags) => {
    const bindings = bindingsOf(globals(), o);
    emit(o, bindings, () => formatAclTable(bindings));
  });

  const apply = common(
    acl
      .command('apply')
      .description(
        "create a role's ACL bindings through the admin API (idempotent; needs ALTER on the cluster)",
      ),
  );
  apply.addHelpText('after', ROLE_HELP);
  documented(apply, '{ "created": [binding], "existing": [binding], "extra": [binding] }', [
    [
      'sluice acl apply --role operator --principal User:ops --brokers kafka:9093 --sasl-mechanism scram-sha-512 --sasl-username admin --sasl-password-file pw',
      "create an operator's bindings as the cluster's admin user",
    ],
  ]).action(async (o: AclFlags) => {
    const g = globals();
    const bindings = bindingsOf(g, o);
    const brokers = (g.brokers ?? process.env.SLUICE_BROKERS ?? '')
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0);
    if (brokers.length === 0)
      throw new SluiceError(
        'SLUICE_USAGE',
        'sluice acl apply needs the secured cluster: give --brokers (or SLUICE_BROKERS), and log in as a principal allowed to create ACLs (ALTER on the cluster).',
      );
    const security = loadSecurity({ flags: g });
    const done = await applyAcls({ brokers, security, logger: defaultLogger() }, bindings);
    emit(o, done, () =>
      [
        `${done.created.length} binding(s) created, ${done.existing.length} already present for ${o.principal}.`,
        ...(done.created.length > 0 ? ['Created:', formatAclTable(done.created)] : []),
        ...(done.extra.length > 0
          ? [
              `${done.extra.length} other binding(s) of ${o.principal} are not the role's (left as they are):`,
              formatAclTable(done.extra),
            ]
          : []),
      ].join('\n'),
    );
  });
}
