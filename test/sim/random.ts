import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';

/** A seeded PRNG (mulberry32): floats in [0, 1), the same sequence for the same seed. */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough to pick schedules. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A whole number in [min, max]. */
export function between(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of a non-empty list. */
export function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick() from an empty list');
  return item;
}

/** True with probability `p`. */
export function chance(random: Random, p: number): boolean {
  return random() < p;
}

/**
 * Makes the process's own randomness follow the seed while `fn` runs, then puts it back.
 * Sluice draws command ids, job ids and throwaway group names from `node:crypto`, and retry
 * jitter from `Math.random`; on virtual time those decide the schedule (jitter) or show in the
 * trace (group names), so a replay must get the same values. Patching the builtins (and
 * `syncBuiltinESMExports`, which updates ESM importers' bindings) keeps src/ unchanged.
 */
export async function withSeededRandomness<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const random = mulberry32(seed ^ 0x5eed);
  const bytes = (size: number): Buffer =>
    Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256)));
  const original = {
    uuid: crypto.randomUUID,
    bytes: crypto.randomBytes,
    math: Math.random,
  };
  const seeded = {
    randomUUID: (): `${string}-${string}-${string}-${string}-${string}` => {
      const h = bytes(16).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
    randomBytes: (size: number, callback?: unknown): Buffer => {
      if (callback !== undefined) throw new Error('seeded randomBytes: no callback form');
      return bytes(size);
    },
  };
  Object.assign(crypto, seeded);
  syncBuiltinESMExports();
  Math.random = random;
  try {
    return await fn();
  } finally {
    Object.assign(crypto, { randomUUID: original.uuid, randomBytes: original.bytes });
    syncBuiltinESMExports();
    Math.random = original.math;
  }
}
