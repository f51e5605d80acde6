import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CloseIndex } from '../../src/runtime/window-index.js';

describe('CloseIndex', () => {
  it('property: hands out exactly the keys due, each once, and keeps the rest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.constantFrom('a', 'b', 'c', 'd'))),
        fc.integer({ min: 0, max: 100 }),
        (entries, watermark) => {
          const index = new CloseIndex();
          for (const [at, key] of entries) index.push(at, key);
          const due = index.due(watermark);
          expect([...due].sort()).toEqual(
            [...new Set(entries.filter(([at]) => at <= watermark).map(([, k]) => k))].sort(),
          );
          expect(index.size).toBe(entries.filter(([at]) => at > watermark).length);
          expect(index.due(watermark).size).toBe(0);
        },
      ),
    );
  });
});
