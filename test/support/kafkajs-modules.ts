import type * as KafkaJS from 'kafkajs';
import { createRequire } from 'node:module';
import { privateKafkajs } from '../../src/kafka/kafkajs/loader.js';

const require = createRequire(import.meta.url);

/**
 * A kafkajs module both ways: `original`, kafkajs's own as any application loads it, and
 * `loaded`, the module in Sluice's private copy: Sluice's replacement where it has one.
 */
export function kafkajsModule<T>(file: string): { original: T; loaded: T } {
  return {
    original: require(`kafkajs/src/${file}`) as T,
    loaded: privateKafkajs.module(`src/${file}`) as T,
  };
}

/** True for a module export that carries Sluice's `mark` (which copy of it made it aside). */
export const marked = (exported: unknown, mark: symbol): boolean =>
  (exported as Record<symbol, unknown>)[mark] === true;

/** kafkajs as published, none of Sluice's replacements in it: the benchmarks' raw baseline. */
export function stockKafkajs(): typeof KafkaJS {
  return require('kafkajs') as typeof KafkaJS;
}
