import type * as KafkaJS from 'kafkajs';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * A kafkajs module both ways: `original` read afresh from its file, and `loaded`, the one in the
 * module cache, which is Sluice's replacement once src/kafka/kafkajs.ts has loaded. The cache is
 * left as it was.
 */
export function kafkajsModule<T>(file: string): { original: T; loaded: T } {
  const path = require.resolve(`kafkajs/src/${file}`);
  const loaded = require(path) as T;
  const cached = require.cache[path];
  Reflect.deleteProperty(require.cache, path);
  try {
    return { original: require(path) as T, loaded };
  } finally {
    if (cached) require.cache[path] = cached;
  }
}

/** True for a module export that carries Sluice's `mark` (which copy of it made it aside). */
export const marked = (exported: unknown, mark: symbol): boolean =>
  (exported as Record<symbol, unknown>)[mark] === true;

/**
 * A copy of kafkajs as published, none of Sluice's replacements in it: the benchmarks' raw
 * baseline. Loaded aside, with the module cache restored after, so Sluice's copy stays as it is.
 */
export function stockKafkajs(): typeof KafkaJS {
  const root = dirname(require.resolve('kafkajs'));
  const ours = Object.keys(require.cache).filter((key) => key.startsWith(root + sep));
  const saved = new Map(ours.map((key) => [key, require.cache[key]]));
  for (const key of ours) Reflect.deleteProperty(require.cache, key);
  try {
    return require('kafkajs') as typeof KafkaJS;
  } finally {
    for (const key of Object.keys(require.cache))
      if (key.startsWith(root + sep)) Reflect.deleteProperty(require.cache, key);
    for (const [key, module] of saved) require.cache[key] = module;
  }
}
