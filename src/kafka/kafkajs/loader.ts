import type * as KafkaJS from 'kafkajs';
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { dropAborted } from './aborted.js';
import { cachingCoordinators } from './coordinators.js';
import { withGenerationInJoin } from './generation.js';
import { groupPerPartition } from './grouping.js';
import { withOutOfRangeStop } from './out-of-range.js';
import { cheapRecordEncoder } from './record.js';
import { withTxnOffsetCommitV3, type Codec } from './txn-offset-commit.js';

/** A kafkajs module Sluice replaces: by what, given the original and the private `require`. */
interface Patch {
  /** The module's path inside the kafkajs package. */
  file: string;
  by: (original: unknown, load: (file: string) => unknown) => unknown;
}

/**
 * Sluice's replacements of kafkajs modules. Three for speed, with the same results: the
 * producer's grouping of a send by partition (grouping.ts), the encoding of a record
 * (record.ts), and the cluster's coordinator lookups, reused instead of made before every
 * transactional request (coordinators.ts). Two for exactly-once v2's fencing (KIP-447): the
 * consumer group's join event carries its generation (generation.ts), and a transaction's
 * offsets are sent with it in TxnOffsetCommit v3 (txn-offset-commit.ts). Two for correctness: a
 * consumer that is asked to can stop at deleted records instead of skipping them
 * (out-of-range.ts), and the read_committed filter:
 *
 * kafkajs 2.2.4 drops an aborted transaction's records only from the first record at or past
 * the transaction's first offset, taking the broker's list in order and one entry per record.
 * The broker lists aborted transactions in abort order. When two producers' transactions on one
 * partition are aborted in the other order than they began, the first one's leading records
 * reach read_committed readers (reproduced in test/kafka/read-committed.int.test.ts). Sluice's
 * repartition topics and sinks have one transactional writer per upstream task, so a restart
 * that aborts several transactions made a downstream task count records that were never
 * committed.
 */
const PATCHES: Patch[] = [
  { file: 'src/consumer/filterAbortedMessages.js', by: () => dropAborted },
  { file: 'src/producer/groupMessagesPerPartition.js', by: () => groupPerPartition },
  {
    file: 'src/protocol/requests/txnOffsetCommit/index.js',
    by: (original, load) =>
      withTxnOffsetCommitV3(original as Parameters<typeof withTxnOffsetCommitV3>[0], {
        Encoder: load('src/protocol/encoder.js') as Codec['Encoder'],
        Decoder: load('src/protocol/decoder.js') as Codec['Decoder'],
        apiKey: (load('src/protocol/requests/apiKeys.js') as { TxnOffsetCommit: number })
          .TxnOffsetCommit,
        parse: (
          load('src/protocol/requests/txnOffsetCommit/v0/response.js') as Pick<Codec, 'parse'>
        ).parse,
      }),
  },
  {
    file: 'src/consumer/consumerGroup.js',
    by: (original) =>
      withOutOfRangeStop(
        withGenerationInJoin(
          original as Parameters<typeof withGenerationInJoin>[0],
        ) as unknown as Parameters<typeof withOutOfRangeStop>[0],
      ),
  },
  {
    file: 'src/cluster/index.js',
    by: (original) => cachingCoordinators(original as Parameters<typeof cachingCoordinators>[0]),
  },
  {
    file: 'src/protocol/recordBatch/record/v0/index.js',
    by: (original, load) =>
      cheapRecordEncoder(
        original as Parameters<typeof cheapRecordEncoder>[0],
        (load('src/protocol/encoder.js') as { prototype: object }).prototype,
      ),
  },
];

const nodeRequire = createRequire(import.meta.url);
const BUILTINS = new Set(builtinModules);

/** One loaded kafkajs: its root export, and its modules by path inside the package. */
export interface PrivateKafkajs {
  kafkajs: typeof KafkaJS;
  module(file: string): unknown;
}

/**
 * Loads a copy of kafkajs of Sluice's own, with the {@link PATCHES} in place, through a module
 * loader of its own: Node's module cache is never touched, so an application that imports
 * kafkajs next to Sluice gets kafkajs as published, and Sluice gets its copy whatever the
 * application loaded first. A library must not change a shared dependency under its user.
 *
 * kafkajs has no dependencies: its modules require each other by relative path, Node's
 * built-in modules and its package.json, which is all this loader resolves. A module is
 * replaced when first required, so every module that binds it (at load or lazily, as the
 * produce requests do) binds Sluice's.
 */
function loadPrivate(): PrivateKafkajs {
  const root = dirname(nodeRequire.resolve('kafkajs/package.json'));
  const cache = new Map<string, { exports: unknown }>();
  const patches = new Map(PATCHES.map((p) => [join(root, p.file), p]));
  const load = (path: string): unknown => {
    const cached = cache.get(path);
    if (cached) return cached.exports;
    const module = { exports: {} as unknown };
    cache.set(path, module);
    if (path.endsWith('.json')) {
      module.exports = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      return module.exports;
    }
    const requireFrom = createRequire(path);
    const require = (spec: string): unknown =>
      BUILTINS.has(spec) || spec.startsWith('node:')
        ? nodeRequire(spec)
        : load(requireFrom.resolve(spec));
    // The same wrapper Node puts around a CommonJS module, compiled under the file's own name
    // so stack traces point at kafkajs's sources.
    const wrapped = runInThisContext(
      `(function (exports, require, module, __filename, __dirname) {${readFileSync(path, 'utf8')}\n})`,
      { filename: path },
    ) as (e: unknown, r: unknown, m: unknown, f: string, d: string) => void;
    wrapped.call(module.exports, module.exports, require, module, path, dirname(path));
    const patch = patches.get(path);
    if (patch) module.exports = patch.by(module.exports, (file) => load(join(root, file)));
    return module.exports;
  };
  for (const file of patches.keys()) load(file); // before anything binds the originals
  return {
    kafkajs: load(nodeRequire.resolve('kafkajs')) as typeof KafkaJS,
    module: (file) => load(join(root, file)),
  };
}

/** Sluice's private kafkajs. Only the adapter (this folder) and tests use it. */
export const privateKafkajs = loadPrivate();

const kafkajs = privateKafkajs.kafkajs;
export default kafkajs;
