import type { CommittedRecord } from '../support/transactions.js';

// Reading aids for a fault scenario whose outputs came out wrong: which producer wrote which
// offsets, and which values a topic holds twice. Over committedByMarkers's records, which tell
// committed from aborted by the markers themselves, not by any read_committed filter.

/** The producer id of a record's transaction (`<partition>/<producerId>#<n>`), or `-` outside one. */
function producerOf(r: CommittedRecord): string {
  return r.txn === '-' ? '-' : (r.txn.split('/')[1]?.split('#')[0] ?? '?');
}

/** Per partition, the runs of offsets each producer wrote: "p1: 0-1999(10) 2001-3999(10) ...". */
export function layout(records: CommittedRecord[], partitions: number[]): string {
  return partitions
    .map((p) => {
      const runs: string[] = [];
      let start: CommittedRecord | undefined;
      let prev: CommittedRecord | undefined;
      const close = (): void => {
        if (start && prev) runs.push(`${start.offset}-${prev.offset}(${producerOf(prev)})`);
      };
      for (const r of records.filter((x) => x.partition === p)) {
        const joined =
          prev &&
          producerOf(r) === producerOf(prev) &&
          BigInt(r.offset) === BigInt(prev.offset) + 1n;
        if (!joined) {
          close();
          start = r;
        }
        prev = r;
      }
      close();
      return `p${p}: ${runs.join(' ')}`;
    })
    .join('; ');
}

/** Values seen more than once, with where: "value@partition/offset(producer)", at most `limit`. */
export function repeated(
  records: CommittedRecord[],
  identity: (r: CommittedRecord) => string,
  limit = 20,
): string[] {
  const at = new Map<string, CommittedRecord[]>();
  for (const r of records) at.set(identity(r), [...(at.get(identity(r)) ?? []), r]);
  return [...at]
    .filter(([, rs]) => rs.length > 1)
    .slice(0, limit)
    .map(
      ([id, rs]) =>
        `${id}@${rs.map((r) => `${r.partition}/${r.offset}(${producerOf(r)})`).join(',')}`,
    );
}
