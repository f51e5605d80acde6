import type * as KafkaJS from 'kafkajs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { dropAborted, FILTER_MARK } from './aborted.js';

/**
 * kafkajs, with its read_committed filter replaced: every value import of kafkajs in Sluice
 * comes from here (lint enforces it).
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
 * kafkajs is CommonJS and binds the filter when its batch module loads, so the fixed filter is
 * put in the module cache before that. If another copy was loaded first (an application that
 * imported kafkajs itself), that copy is left to its owner and Sluice loads its own.
 */
function load(): typeof KafkaJS {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('kafkajs'));
  const filterPath = join(root, 'src', 'consumer', 'filterAbortedMessages.js');
  const batchPath = join(root, 'src', 'consumer', 'batch.js');
  const cached = require.cache[filterPath];
  const fixed = (cached?.exports as Record<symbol, unknown> | undefined)?.[FILTER_MARK] === true;
  if (!fixed) {
    if (require.cache[batchPath])
      for (const key of Object.keys(require.cache))
        if (key.startsWith(root + sep)) Reflect.deleteProperty(require.cache, key);
    require(filterPath);
    const module = require.cache[filterPath];
    if (!module) throw new Error(`kafkajs layout changed: ${filterPath} is not a module`);
    module.exports = dropAborted;
  }
  return require('kafkajs') as typeof KafkaJS;
}

const kafkajs = load();
export default kafkajs;
