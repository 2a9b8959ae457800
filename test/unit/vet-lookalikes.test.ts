// The evidence that keeps a look-alike on the wider list of known names (scripts/vet-lookalikes.mjs).
import { describe, expect, it } from 'vitest';
import {
  HISTORY_VERSIONS,
  judgeLookalike,
  readEvidence,
  TYPO_TRAFFIC_SHARE,
} from '../../scripts/vet-lookalikes.mjs';

function packument(versions: Record<string, { description?: string }>, time: Record<string, string> = {}) {
  return { name: 'x', versions, time };
}

const many = Object.fromEntries(Array.from({ length: HISTORY_VERSIONS }, (_, i) => [`1.0.${i}`, {}]));

describe('readEvidence', () => {
  it.each([
    ['a name the registry does not know', null, 'not on the registry'],
    ['an unpublished name', packument({}, { unpublished: '2024-01-01T00:00:00Z' }), 'unpublished'],
    ['npm security placeholder', packument({ '0.0.1-security': {} }), 'security placeholder'],
    [
      'a placeholder the mirror shows beside a copied version',
      packument({ '0.0.2-security': {}, '1.0.2': {} }),
      'security placeholder',
    ],
    [
      'a placeholder known by its description',
      packument({ '1.0.0': { description: 'security holding package' } }),
      'security placeholder',
    ],
  ])('reads %s as a squat', (_, doc, reason) => {
    expect(readEvidence(doc)).toMatchObject({ squat: true, reason });
  });

  it('counts the versions of a package of its own', () => {
    expect(readEvidence(packument({ '1.0.0': {}, '1.1.0': {} }))).toEqual({
      squat: false,
      versions: 2,
      reason: '2 versions',
    });
  });
});

describe('judgeLookalike', () => {
  const target = 300_000_000;

  it('keeps a long history whatever its downloads', () => {
    expect(judgeLookalike(readEvidence(packument(many)), 1, target).established).toBe(true);
  });

  it('keeps a short history only with downloads beyond typo traffic', () => {
    const short = readEvidence(packument({ '0.0.1': {}, '0.0.4': {}, '0.0.5': {} }));
    expect(judgeLookalike(short, target * TYPO_TRAFFIC_SHARE, target).established).toBe(true);
    // expres: 3 versions from 2012 and 0.02% of express's downloads.
    expect(judgeLookalike(short, 40_770, target)).toEqual({
      established: false,
      reason: `under ${HISTORY_VERSIONS} versions, typo traffic`,
    });
  });

  it('never keeps a squat', () => {
    const placeholder = readEvidence(packument({ '0.0.1-security': {} }));
    expect(judgeLookalike(placeholder, target, target).established).toBe(false);
  });
});
