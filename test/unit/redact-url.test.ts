import { describe, expect, it } from 'vitest';
import { redactQuery } from '../../server/redact-url.js';

describe('redactQuery', () => {
  it.each([
    [
      '/-/lockwarden/v1/audit?access_token=s3cret&limit=5',
      '/-/lockwarden/v1/audit?access_token=[redacted]&limit=[redacted]',
    ],
    ['/strict/-/v1/search?text=left-pad', '/strict/-/v1/search?text=[redacted]'],
    ['/strict/left-pad', '/strict/left-pad'],
    ['/x?flag', '/x?flag'],
  ])('%s → %s', (target, logged) => {
    expect(redactQuery(target)).toBe(logged);
  });
});
