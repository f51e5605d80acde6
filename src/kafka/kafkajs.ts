import type * as KafkaJS from 'kafkajs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { dropAborted, FILTER_MARK } from './aborted.js';
import { GROUPING_MARK, groupPerPartition } from './grouping.js';
import { cheapRecordEncoder, RECORD_MARK } from './record.js';

/** A kafkajs module replaced: by what (given the original), and which module binds it. */
interface Patch {
  path: string;
  by: (original: unknown) => unknown;
  mark: symbol;
  usedBy: string;
}

/**
 * kafkajs, with three of its modules replaced: every value import of kafkajs in Sluice comes
 * from here (lint enforces it). Two for speed, with the same results: the producer's grouping of
 * a send by partition (grouping.ts) and the encoding of a record (record.ts). The third, the
 * read_committed filter, for correctness:
 *
 * kafkajs 2.2.4 drops an aborted transaction's records only from the first record at or past
 * the transaction's first offset, taking the broker's list in order and one entry per record.
 * The broker lists aborted transactions in abort order. When two producers' transactions on one
 * partition are aborted in the other order than they began, the first one's leading records
 * reach read_committed readers (reproduced in test/kafka/read-committed.int.test.ts). Sluice's
 * repartition topics and sinks have one transactional writer per upstream task, so a restart
 * that aborts several transactions made a downstream task count records that were never
 * committed.
 *
 * kafkajs is CommonJS and binds each when the module using it loads, so the replacements are
 * put in the module cache before that. If another copy was loaded first (an application that
 * imported kafkajs itself), that copy is left to its owner and Sluice loads its own.
 */
function load(): typeof KafkaJS {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('kafkajs'));
  const src = (...parts: string[]): string => join(root, 'src', ...parts);
  const patches: Patch[] = [
    {
      path: src('consumer', 'filterAbortedMessages.js'),
      by: () => dropAborted,
      mark: FILTER_MARK,
      usedBy: src('consumer', 'batch.js'),
    },
    {
      path: src('producer', 'groupMessagesPerPartition.js'),
      by: () => groupPerPartition,
      mark: GROUPING_MARK,
      usedBy: src('producer', 'sendMessages.js'),
    },
    {
      path: src('protocol', 'recordBatch', 'record', 'v0', 'index.js'),
      by: (original) => {
        const encoder = require(src('protocol', 'encoder.js')) as { prototype: object };
        return cheapRecordEncoder(
          original as Parameters<typeof cheapRecordEncoder>[0],
          encoder.prototype,
        );
      },
      mark: RECORD_MARK,
      usedBy: src('protocol', 'requests', 'produce', 'v3', 'request.js'),
    },
  ];
  const patched = (p: Patch): boolean =>
    (require.cache[p.path]?.exports as Record<symbol, unknown> | undefined)?.[p.mark] === true;
  if (!patches.every(patched)) {
    // Modules that bound the originals must load again: drop that copy of kafkajs whole.
    if (patches.some((p) => require.cache[p.usedBy]))
      for (const key of Object.keys(require.cache))
        if (key.startsWith(root + sep)) Reflect.deleteProperty(require.cache, key);
    for (const p of patches) {
      const original: unknown = require(p.path);
      const module = require.cache[p.path];
      if (!module) throw new Error(`kafkajs layout changed: ${p.path} is not a module`);
      module.exports = p.by(original);
    }
  }
  return require('kafkajs') as typeof KafkaJS;
}

const kafkajs = load();
export default kafkajs;
