import { describe, expect, it } from 'vitest';
import { parseJavaMajor } from '../../../src/infra/java/jdk.js';

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "25" 2025-09-16', 25],
    ['java version "1.8.0_402"', 8],
    ['openjdk version "21-ea" 2023-09-19', 21],
  ])('reads %j as %i', (text, major) => {
    expect(parseJavaMajor(text)).toBe(major);
  });

  it('is undefined for output that is not a version banner', () => {
    expect(parseJavaMajor('bash: java: command not found')).toBeUndefined();
  });
});
