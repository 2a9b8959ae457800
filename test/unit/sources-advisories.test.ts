import { describe, expect, it } from 'vitest';
import { readOsvRecord } from '../../src/sources/osv-advisories-source.js';
import { readAdvisory } from '../../src/sources/registry-advisories-source.js';

const pkg = (name = 'a') => ({ ecosystem: 'npm', name });

describe('readOsvRecord', () => {
  it('turns OSV events and versions into one semver range, with the GHSA id first', () => {
    const advisory = readOsvRecord(
      {
        id: 'CVE-2026-1',
        aliases: ['GHSA-aaaa-bbbb-cccc'],
        summary: 'Bad thing',
        database_specific: { severity: 'MODERATE' },
        affected: [
          {
            package: pkg(),
            ranges: [
              {
                type: 'SEMVER',
                events: [
                  { introduced: '0' },
                  { fixed: '1.0.1' },
                  { introduced: '2.0.0' },
                  { last_affected: '2.0.3' },
                ],
              },
              { type: 'GIT', events: [{ introduced: 'abc' }] },
            ],
            versions: ['3.0.0'],
          },
          { package: pkg('other'), versions: ['9.9.9'] },
        ],
        references: [{ type: 'ADVISORY', url: 'https://example.test/GHSA-aaaa-bbbb-cccc' }],
      },
      'a',
    );
    expect(advisory).toEqual({
      id: 'GHSA-aaaa-bbbb-cccc',
      aliases: ['CVE-2026-1'],
      severity: 'moderate',
      title: 'Bad thing',
      vulnerableVersions: '3.0.0 || >=0.0.0-0 <1.0.1 || >=2.0.0 <=2.0.3',
      url: 'https://example.test/GHSA-aaaa-bbbb-cccc',
    });
  });

  it.each([
    [
      { severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] },
      'GHSA-x',
      'critical',
    ],
    [
      { severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N' }] },
      'GHSA-x',
      'low',
    ],
    [{}, 'MAL-2026-1', 'critical'],
    [{}, 'GHSA-x', 'high'],
  ])('rates %j (%s) as %s', (extra, id, severity) => {
    const advisory = readOsvRecord(
      { id, ...extra, affected: [{ package: pkg(), versions: ['1.0.0'] }] },
      'a',
    );
    expect(advisory).toMatchObject({ severity });
  });

  it("marks a range closed by OSV's limit as naming no fix", () => {
    const record = (end: Record<string, string>) =>
      readOsvRecord(
        {
          id: 'GHSA-aaaa-bbbb-cccc',
          affected: [
            { package: pkg(), ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, end] }] },
          ],
        },
        'a',
      );
    expect(record({ limit: '1.3.2' })).toMatchObject({
      vulnerableVersions: '>=1.0.0 <1.3.2',
      boundsAreNotFixes: true,
    });
    expect(record({ fixed: '1.3.2' })).not.toHaveProperty('boundsAreNotFixes');
  });

  it('skips withdrawn records and records of other packages, and explains unreadable ones', () => {
    expect(
      readOsvRecord(
        { id: 'X', withdrawn: '2026-01-01T00:00:00Z', affected: [{ package: pkg(), versions: ['1.0.0'] }] },
        'a',
      ),
    ).toBeUndefined();
    expect(
      readOsvRecord({ id: 'X', affected: [{ package: pkg('b'), versions: ['1.0.0'] }] }, 'a'),
    ).toBeUndefined();
    expect(
      readOsvRecord(
        {
          id: 'X',
          affected: [{ package: pkg(), ranges: [{ type: 'SEMVER', events: [{ fixed: '1.0.0' }] }] }],
        },
        'a',
      ),
    ).toMatch(/unreadable range event/);
    // Versions semver cannot read would match nothing: a silent pass, not an advisory.
    expect(readOsvRecord({ id: 'X', affected: [{ package: pkg(), versions: ['1.0.0.0'] }] }, 'a')).toMatch(
      /not a semver range/,
    );
    expect(readOsvRecord('nope', 'a')).toBe('not an OSV record');
  });
});

describe('readAdvisory (registry bulk answer)', () => {
  it('reads the GHSA id from the URL and keeps the numeric id as an alias', () => {
    expect(
      readAdvisory({
        id: 1002,
        url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm',
        title: 'Command injection',
        severity: 'critical',
        vulnerable_versions: '<4.17.21',
        cvss: { score: 9.8 },
      }),
    ).toEqual({
      id: 'GHSA-35jh-r3h4-6jhm',
      aliases: ['1002'],
      severity: 'critical',
      title: 'Command injection',
      vulnerableVersions: '<4.17.21',
      url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm',
      cvssScore: 9.8,
    });
  });

  it('refuses what it cannot judge', () => {
    expect(readAdvisory({ id: 1, severity: 'high', vulnerable_versions: 'not a range!' })).toMatch(
      /not a semver range/,
    );
    expect(readAdvisory({ id: 1, severity: 'urgent', vulnerable_versions: '<1.0.0' })).toMatch(
      /severity "urgent"/,
    );
  });
});
