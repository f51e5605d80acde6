/**
 * Where reports on the control topic stop being trusted (issue 15). Before reports had a topic
 * of their own, workers wrote them to `<ns>.control`; those already there when a coordinator of
 * this version first takes charge of a namespace must still be applied, or a job whose worker
 * reported just before the upgrade would wait for ever. Any report written there later is
 * refused (`WRONG_TOPIC`): an operator could have written it.
 *
 * The cut-over is the control topic's end when the first such coordinator was elected (0 for a
 * namespace whose job log is empty: nothing in it predates the split). It is kept in the
 * metadata of the control topic's committed offset, which every coordinator transaction
 * commits: it is durable exactly when a decision made with it is, and a fenced coordinator
 * cannot move it.
 */
import type { Channel } from '../domain/channels.js';
import type { Topics } from '../domain/resources.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Kafka, PartitionOffset } from '../kafka/port.js';

const PREFIX = 'sluice-reports-cutover=';

/** The coordinator's committed place on its two topics, and the cut-over. */
export interface ControlPositions {
  /** Control records below this offset are legacy: a report there is applied. */
  cutover: bigint;
  /** The control topic's committed offset (the next command to apply). */
  control: bigint;
}

/** The cut-over as committed-offset metadata. */
export function cutoverMetadata(cutover: bigint): string {
  return `${PREFIX}${cutover}`;
}

/** The cut-over a committed offset's metadata holds, or undefined. */
export function parseCutover(metadata: string | null | undefined): bigint | undefined {
  if (!metadata?.startsWith(PREFIX)) return undefined;
  const digits = metadata.slice(PREFIX.length);
  return /^\d+$/.test(digits) ? BigInt(digits) : undefined;
}

/**
 * Reads the election group's committed control offset and its cut-over, once elected (earlier
 * coordinators are fenced, their transactions ended). Without one recorded, the cut-over is the
 * control topic's end now, or 0 when the job log is empty (its partitions' `logEnds` all 0): a
 * worker reports only on a job whose events it read, so no report there predates the split.
 */
export async function readPositions(
  kafka: Kafka,
  topics: Topics,
  groupId: string,
  logEnds: Map<number, bigint>,
): Promise<ControlPositions> {
  const fresh = [...logEnds.values()].every((end) => end === 0n);
  return withAdmin(kafka, async (admin) => {
    const [committed] = await admin.committed(groupId, [topics.control]);
    const [ends] = await admin.offsets(topics.control);
    const low = ends?.low ?? 0n;
    const offset = BigInt(committed?.offset ?? '-1');
    // Nothing committed: the consumer starts at the log start, which is the same place.
    const control = offset < 0n ? low : offset;
    const recorded = parseCutover(committed?.metadata);
    const cutover = recorded ?? (fresh ? 0n : (ends?.high ?? 0n));
    return { cutover, control };
  });
}

/**
 * The offsets a transaction commits after a batch read from `channel` up to `next`: that
 * topic's, and always the control topic's with the cut-over in its metadata, so that the
 * first transaction after an upgrade records it.
 */
export function offsetsToCommit(
  topics: Topics,
  at: ControlPositions,
  channel: Channel,
  next: bigint,
): PartitionOffset[] {
  const control = channel === 'control' ? next : at.control;
  const offsets: PartitionOffset[] = [
    {
      topic: topics.control,
      partition: 0,
      offset: String(control),
      metadata: cutoverMetadata(at.cutover),
    },
  ];
  if (channel === 'reports')
    offsets.push({ topic: topics.reports, partition: 0, offset: String(next) });
  return offsets;
}
