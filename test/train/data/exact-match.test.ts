import { describe, expect, it } from 'vitest';
import { exactMatch, exactMatchRate, normalizeAnswer } from '../../../src/train/data/index.js';

describe('exact match', () => {
  it('trims and collapses whitespace, keeps case and punctuation', () => {
    expect(normalizeAnswer('  2, 5,\n\t9  ')).toBe('2, 5, 9');
    expect(exactMatch(' 480\n', '480')).toBe(true);
    expect(exactMatch('DOG', 'dog')).toBe(false);
    expect(exactMatch('12.', '12')).toBe(false);
    expect(exactMatch('cat dog', 'catdog')).toBe(false);
  });

  it('scores a list', () => {
    expect(exactMatchRate(['1', ' 2 ', 'x'], ['1', '2', '3'])).toBeCloseTo(2 / 3, 12);
    expect(() => exactMatchRate(['1'], [])).toThrow(/1 predictions but 0/);
  });
});
