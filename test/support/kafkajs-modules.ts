import { createRequire } from 'node:module';

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
