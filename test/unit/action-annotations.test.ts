import { describe, expect, it } from 'vitest';
import {
  MAX_ANNOTATIONS_PER_LEVEL,
  selectAnnotations,
  selectSkippedAnnotations,
} from '../../src/action/select-annotations.js';
import type { SkippedEntry } from '../../src/lockfile/lockfile-inventory.js';
import { makeEntry, makeReport } from '../helpers/make-action-report.js';

describe('selectAnnotations', () => {
  it('puts one error per lockfile location of a blocked entry, on the key line', () => {
    const report = makeReport([{ entry: makeEntry('left-pad', '1.3.1', [12, 40]), findings: [{}] }]);
    expect(selectAnnotations(report.findings)).toEqual([
      {
        level: 'error',
        title: 'lockwarden: cooling-off',
        file: 'package-lock.json',
        startLine: 12,
        message:
          'left-pad@1.3.1 was published 2 days ago (cooling-off 7 days)\nTo pass: it passes on 2026-11-27, or add it to allow with a reason',
      },
      expect.objectContaining({ level: 'error', file: 'package-lock.json', startLine: 40 }),
    ]);
  });

  it('merges the findings of one entry into one annotation per level', () => {
    const report = makeReport([
      {
        entry: makeEntry('lefpad', '1.0.0', [7]),
        findings: [
          {
            rule: 'typosquatting',
            scope: 'package',
            message: 'lefpad looks like left-pad',
            hint: 'use left-pad',
          },
          { rule: 'cooling-off' },
        ],
      },
    ]);
    const annotations = selectAnnotations(report.findings);
    expect(annotations).toHaveLength(1);
    expect(annotations[0]).toMatchObject({
      level: 'error',
      startLine: 7,
      title: 'lockwarden: cooling-off, typosquatting',
    });
    expect(annotations[0]!.message).toContain('lefpad looks like left-pad\nTo pass: use left-pad');
  });

  it.each([
    ['block', 'block', 'error'],
    ['alert', 'alert', 'warning'],
    ['unavailable', 'alert', 'notice'],
    ['unavailable', 'block', 'notice'],
  ] as const)('maps outcome %s with effect %s to %s', (outcome, effect, level) => {
    const report = makeReport([
      {
        entry: makeEntry('a', '1.0.0'),
        findings: [{ outcome, effect, source: 'registry', message: 'm', hint: 'h' }],
      },
    ]);
    expect(selectAnnotations(report.findings).map((a) => a.level)).toEqual([level]);
  });

  it('names the failed source on unavailable facts and skips those the policy allows', () => {
    const report = makeReport([
      {
        entry: makeEntry('a', '1.0.0'),
        findings: [
          {
            outcome: 'unavailable',
            effect: 'alert',
            source: 'downloads API',
            message: 'downloads unavailable: HTTP 503',
          },
        ],
      },
      {
        entry: makeEntry('b', '1.0.0'),
        findings: [{ outcome: 'unavailable', effect: 'allow', source: 'registry' }],
      },
    ]);
    const annotations = selectAnnotations(report.findings);
    expect(annotations).toHaveLength(1);
    expect(annotations[0]!.message).toContain('downloads unavailable: HTTP 503 [source: downloads API]');
  });

  it('sorts by file and line across lockfiles', () => {
    const report = makeReport([
      { entry: makeEntry('z', '1.0.0', [5], 'b/package-lock.json'), findings: [{}] },
      { entry: makeEntry('y', '1.0.0', [30], 'a/package-lock.json'), findings: [{}] },
      { entry: makeEntry('x', '1.0.0', [9], 'a/package-lock.json'), findings: [{}] },
    ]);
    expect(selectAnnotations(report.findings).map((a) => `${a.file}:${a.startLine}`)).toEqual([
      'a/package-lock.json:9',
      'a/package-lock.json:30',
      'b/package-lock.json:5',
    ]);
  });

  it('caps each level at what GitHub shows and points at the summary', () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({
      entry: makeEntry(`pkg-${String(i).padStart(2, '0')}`, '1.0.0', [100 + i]),
      findings: [{}],
    }));
    rows.push({
      entry: makeEntry('warned', '1.0.0', [1]),
      findings: [{ outcome: 'alert', effect: 'alert' } as never],
    });
    const annotations = selectAnnotations(makeReport(rows).findings);
    const errors = annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(MAX_ANNOTATIONS_PER_LEVEL);
    expect(errors.slice(0, 9).map((a) => a.startLine)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108]);
    expect(errors[9]).toEqual({
      level: 'error',
      title: 'lockwarden: more findings',
      message:
        '16 more errors are not annotated here (GitHub shows 10 per step); see the job summary for the full list.',
    });
    expect(annotations.filter((a) => a.level === 'warning')).toHaveLength(1);
  });
});

describe('selectSkippedAnnotations', () => {
  const entry = (name: string, line?: number): SkippedEntry => ({
    name,
    spec: `file:vendor/${name}`,
    reason: 'local file dependency: not from a registry',
    ...(line === undefined
      ? {}
      : { location: { file: 'apps/web/package-lock.json', line, key: `node_modules/${name}` } }),
  });

  it('puts a notice on the line of each added entry it cannot check, in line order', () => {
    expect(selectSkippedAnnotations([entry('b', 30), entry('a', 12), entry('nowhere')])).toEqual([
      {
        level: 'notice',
        title: 'lockwarden: not checked',
        message:
          'a comes from file:vendor/a (local file dependency: not from a registry); lockwarden checks registry packages only, so review this dependency by hand',
        file: 'apps/web/package-lock.json',
        startLine: 12,
      },
      expect.objectContaining({ level: 'notice', startLine: 30 }),
    ]);
  });

  it('caps the notices and points at the summary for the rest', () => {
    const many = Array.from({ length: 12 }, (_, i) => entry(`p${i}`, i + 2));
    const out = selectSkippedAnnotations(many, { maxPerLevel: 5 });
    expect(out).toHaveLength(5);
    expect(out.slice(0, 4).map((a) => a.startLine)).toEqual([2, 3, 4, 5]);
    expect(out[4]).toEqual({
      level: 'notice',
      title: 'lockwarden: more entries not checked',
      message:
        '8 more added entries are not registry packages and were not checked; see the job summary for the full list.',
    });
  });
});
