/**
 * The Kafka ACLs each Sluice role needs, as one pure table (issue 15): `sluice acl print`
 * prints it, `sluice acl apply` creates it, the authorizer tests run each role with exactly
 * these bindings. Resources are named by domain/resources.ts, so the table follows the names.
 * Nothing here is allowed that a role does not use; see docs/security.md for why each is there.
 */
import { SluiceError } from './errors.js';
import { coordinatorGroup, logReaderGroupPrefix, topicNames } from './resources.js';

/** Who connects to Kafka for Sluice, one principal each (docs/security.md, "Roles"). */
export const ACL_ROLES = ['operator', 'worker', 'coordinator', 'auditor', 'producer'] as const;
export type AclRole = (typeof ACL_ROLES)[number];

export type AclResourceType = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID' | 'CLUSTER';
export type AclPattern = 'LITERAL' | 'PREFIXED';
export type AclOperation =
  | 'READ'
  | 'WRITE'
  | 'CREATE'
  | 'DELETE'
  | 'DESCRIBE'
  | 'DESCRIBE_CONFIGS'
  | 'ALTER'
  | 'IDEMPOTENT_WRITE';

/** One ALLOW binding, from any host, as Kafka stores it. */
export interface AclBinding {
  principal: string;
  resourceType: AclResourceType;
  resourceName: string;
  pattern: AclPattern;
  operation: AclOperation;
}

/** What to print bindings for. */
export interface AclRequest {
  role: AclRole;
  /** `User:<name>`, as the broker's authenticator names the principal. */
  principal: string;
  namespace: string;
  /**
   * Prefixes of the application's topics: the sources a worker reads and the sinks and
   * dead-letter topics it writes, which a producer writes. Sluice cannot know them.
   */
  dataPrefixes?: readonly string[];
}

type Rule = [AclResourceType, AclPattern, string, readonly AclOperation[]];

/** The bindings `request.role` needs, in a stable order. Throws SLUICE_USAGE on a bad principal. */
export function aclBindings(request: AclRequest): AclBinding[] {
  const { principal } = request;
  if (!/^User:[^\s]{1,200}$/.test(principal))
    throw new SluiceError(
      'SLUICE_USAGE',
      `Principal "${principal}" must look like User:<name>, as the broker names an authenticated user (e.g. User:sluice-worker).`,
    );
  return rules(request).flatMap(([resourceType, pattern, resourceName, operations]) =>
    operations.map((operation) => ({
      principal,
      resourceType,
      resourceName,
      pattern,
      operation,
    })),
  );
}

function rules({ role, namespace, dataPrefixes = [] }: AclRequest): Rule[] {
  const t = topicNames(namespace);
  const ns = `${namespace}.`;
  const jobs = `${ns}job.`;
  // Every principal that reads the log finds the namespace's topics and checks them
  // (ensureTopics: metadata, and the job log's cleanup.policy).
  const look: Rule[] = [t.control, t.reports, t.jobs, t.workers, t.checkpoint].map((topic) => [
    'TOPIC',
    'LITERAL',
    topic,
    ['DESCRIBE', 'DESCRIBE_CONFIGS'],
  ]);
  // Following the job log takes a throwaway group; reads that end take none (Kafka.readRanges).
  const readGroups = (reader: string): Rule[] => [
    ['GROUP', 'PREFIXED', logReaderGroupPrefix(namespace, reader), ['READ']],
  ];
  const data = (ops: readonly AclOperation[]): Rule[] =>
    dataPrefixes.map((p) => ['TOPIC', 'PREFIXED', p, ops]);
  switch (role) {
    case 'coordinator':
      return [
        ...[t.control, t.reports, t.jobs, t.workers, t.checkpoint].map((topic): Rule => [
          'TOPIC',
          'LITERAL',
          topic,
          ['CREATE', 'DESCRIBE', 'DESCRIBE_CONFIGS'],
        ]),
        ['TOPIC', 'LITERAL', t.control, ['READ']],
        ['TOPIC', 'LITERAL', t.reports, ['READ', 'WRITE']],
        ['TOPIC', 'LITERAL', t.jobs, ['READ', 'WRITE']],
        ['TOPIC', 'LITERAL', t.checkpoint, ['READ', 'WRITE']],
        // Snapshots: the changelogs' ends beside the job groups' committed offsets.
        ['TOPIC', 'PREFIXED', `${ns}state.`, ['DESCRIBE']],
        ['TOPIC', 'PREFIXED', `${ns}repartition.`, ['DESCRIBE']],
        // …and the job groups' committed offsets on the sources, which need DESCRIBE too.
        ...data(['DESCRIBE']),
        // Its rebuild reads the log by offset, with no group.
        ['GROUP', 'LITERAL', coordinatorGroup(namespace), ['READ']],
        ['GROUP', 'PREFIXED', jobs, ['DESCRIBE']],
        ['TRANSACTIONAL_ID', 'LITERAL', coordinatorGroup(namespace), ['WRITE']],
        // Freezing a job fences its tasks by taking their transactional ids over.
        ['TRANSACTIONAL_ID', 'PREFIXED', jobs, ['WRITE']],
      ];
    case 'worker':
      return [
        ...look,
        ['TOPIC', 'LITERAL', t.reports, ['WRITE']],
        ['TOPIC', 'LITERAL', t.jobs, ['READ']],
        ['TOPIC', 'LITERAL', t.workers, ['READ', 'WRITE']],
        ...[`${ns}state.`, `${ns}repartition.`].map((p): Rule => [
          'TOPIC',
          'PREFIXED',
          p,
          ['CREATE', 'DELETE', 'READ', 'WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS'],
        ]),
        // A job started from an exported snapshot is seeded from its copies.
        ['TOPIC', 'PREFIXED', `${ns}snapshot.`, ['READ', 'DESCRIBE']],
        ['TOPIC', 'PREFIXED', `${ns}snapshot-input.`, ['READ', 'DESCRIBE']],
        ...data(['READ', 'WRITE', 'DESCRIBE']),
        ['GROUP', 'PREFIXED', jobs, ['READ', 'DELETE']],
        ...readGroups('worker'),
        ['TRANSACTIONAL_ID', 'PREFIXED', jobs, ['WRITE']],
      ];
    case 'operator':
      return [
        ...look,
        ['TOPIC', 'LITERAL', t.control, ['WRITE']],
        ...[t.jobs, t.workers, t.checkpoint].map((topic): Rule => [
          'TOPIC',
          'LITERAL',
          topic,
          ['READ'],
        ]),
        // Exporting a snapshot copies the changelogs; deleting one deletes its copies.
        ['TOPIC', 'PREFIXED', `${ns}state.`, ['READ', 'DESCRIBE']],
        ['TOPIC', 'PREFIXED', `${ns}repartition.`, ['READ', 'DESCRIBE']],
        ...[`${ns}snapshot.`, `${ns}snapshot-input.`].map((p): Rule => [
          'TOPIC',
          'PREFIXED',
          p,
          ['CREATE', 'DELETE', 'WRITE', 'READ', 'DESCRIBE'],
        ]),
        // A resume checks the sources' retention against the job's committed offsets.
        ...data(['DESCRIBE']),
        ['GROUP', 'PREFIXED', jobs, ['DESCRIBE']],
        ['GROUP', 'LITERAL', coordinatorGroup(namespace), ['DESCRIBE']],
        ...readGroups('client'),
      ];
    case 'auditor':
      return [
        ...look,
        ...[t.jobs, t.workers, t.checkpoint].map((topic): Rule => [
          'TOPIC',
          'LITERAL',
          topic,
          ['READ'],
        ]),
        ...readGroups('client'),
      ];
    case 'producer':
      return data(['WRITE', 'DESCRIBE']);
  }
}

/** The bindings as a table for the CLI: one line each, aligned. */
export function formatAclTable(bindings: readonly AclBinding[]): string {
  const rows = bindings.map((b) => [
    b.principal,
    b.resourceType,
    b.pattern,
    b.resourceName,
    b.operation,
  ]);
  const head = ['PRINCIPAL', 'RESOURCE', 'PATTERN', 'NAME', 'OPERATION'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
