import { changelogTopic } from '../domain/resources.js';
import type { Format } from '../pipeline/formats.js';
import type { StageDef } from '../pipeline/stages.js';
import type { HopTable } from './join-tables.js';
import type { Deserializer } from './serde.js';

// What a hop's table joins add to it: a changelog each (the task's copy of the table), and a
// table to follow. A table join needs no repartition: every task reads the whole table.

/**
 * The changelogs of a hop's table joins. `exact` when the hop reads several topics, whose
 * tasks share partition numbers: a copy is then restored by the task its records name.
 */
export function joinChangelogs(
  stages: readonly StageDef[],
  namespace: string,
  jobId: string,
  exact: boolean,
): { topic: string; stage: string; exact?: boolean }[] {
  return stages
    .filter((s) => s.kind === 'joinTable')
    .map((s) => ({
      stage: s.name,
      topic: changelogTopic(namespace, jobId, s.name),
      ...(exact ? { exact } : {}),
    }));
}

/** The tables a hop's join stages read. */
export function hopTables(
  stages: readonly StageDef[],
  deserializer: (format: Format) => Deserializer,
): HopTable[] {
  return stages.flatMap((s) =>
    s.kind === 'joinTable'
      ? [{ stage: s.name, topic: s.table.topic, deserializer: deserializer(s.table.format) }]
      : [],
  );
}
