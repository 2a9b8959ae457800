import { describe, expect, it } from 'vitest';
import { formatInteger } from '../../src/policy/format.js';

describe('formatInteger', () => {
  it.each([
    [0, '0'],
    [999, '999'],
    [1000, '1,000'],
    [1234.6, '1,235'],
    [-1234, '-1,234'],
    [35_000_000, '35,000,000'],
    [-9_876_543.2, '-9,876,543'],
  ])('%d -> %s, as en-US grouping', (n, text) => {
    expect(formatInteger(n)).toBe(text);
  });
});
