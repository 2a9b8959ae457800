import { describe, expect, it } from 'vitest';
import { buildSarif } from '../../src/action/build-sarif.js';
import { RULE_IDS } from '../../src/policy/types.js';
import { makeEntry, makeReport } from '../helpers/make-action-report.js';

type SarifRun = {
  tool: { driver: { name: string; rules: { id: string }[] } };
  results: {
    ruleId: string;
    ruleIndex: number;
    level: string;
    message: { text: string };
    locations: {
      physicalLocation: {
        artifactLocation: { uri: string; uriBaseId: string };
        region: { startLine: number };
      };
    }[];
    partialFingerprints: Record<string, string>;
  }[];
};

describe('buildSarif', () => {
  const report = makeReport([
    { entry: makeEntry('left-pad', '1.3.1', [12, 40], 'apps/web/package-lock.json'), findings: [{}] },
    {
      entry: makeEntry('lefpad', '1.0.0', [7]),
      findings: [{ rule: 'typosquatting', outcome: 'alert', effect: 'alert' }],
    },
    {
      entry: makeEntry('slow', '1.0.0', [9]),
      findings: [{ outcome: 'unavailable', effect: 'alert', source: 'registry' }],
    },
    {
      entry: makeEntry('ignored', '1.0.0', [3]),
      findings: [{ outcome: 'unavailable', effect: 'allow', source: 'registry' }],
    },
  ]);
  const sarif = buildSarif(report);
  const run = sarif.runs[0] as SarifRun;

  it('is a SARIF 2.1.0 log with every rule declared', () => {
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs).toHaveLength(1);
    expect(run.tool.driver.name).toBe('lockwarden');
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual([...RULE_IDS]);
  });

  it('maps findings to results at their lockfile lines', () => {
    const byRule = Object.fromEntries(run.results.map((r) => [`${r.ruleId}:${r.level}`, r]));
    expect(Object.keys(byRule).sort()).toEqual([
      'cooling-off:error',
      'cooling-off:note',
      'typosquatting:warning',
    ]);
    const blocked = byRule['cooling-off:error']!;
    expect(blocked.ruleIndex).toBe(RULE_IDS.indexOf('cooling-off'));
    expect(
      blocked.locations.map((l) => [
        l.physicalLocation.artifactLocation.uri,
        l.physicalLocation.region.startLine,
      ]),
    ).toEqual([
      ['apps/web/package-lock.json', 12],
      ['apps/web/package-lock.json', 40],
    ]);
    expect(blocked.locations[0]!.physicalLocation.artifactLocation.uriBaseId).toBe('%SRCROOT%');
    expect(blocked.message.text).toContain('To pass: it passes on 2026-11-27');
    expect(blocked.partialFingerprints['lockwarden/v1']).toBe('left-pad@1.3.1:cooling-off:block');
    expect(byRule['cooling-off:note']!.message.text).toContain('(source: registry)');
  });

  it('gives every rule a security-severity, and the run its home page and category', () => {
    const withOptions = buildSarif(report, {
      informationUri: 'https://github.example/acme/lockwarden',
      automationId: 'lockwarden/package-lock.json/',
    }).runs[0] as SarifRun & {
      tool: { driver: { informationUri?: string; rules: { properties: Record<string, unknown> }[] } };
      automationDetails: { id: string };
    };
    expect(withOptions.tool.driver.informationUri).toBe('https://github.example/acme/lockwarden');
    expect(withOptions.automationDetails).toEqual({ id: 'lockwarden/package-lock.json/' });
    for (const rule of withOptions.tool.driver.rules) {
      const severity = Number(rule.properties['security-severity']);
      expect(typeof rule.properties['security-severity']).toBe('string');
      expect(severity).toBeGreaterThan(0);
      expect(severity).toBeLessThanOrEqual(10);
    }
    expect((run as unknown as { automationDetails: { id: string } }).automationDetails.id).toBe(
      'lockwarden/',
    );
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(sarif))).toEqual(sarif);
  });
});

describe('buildSarif with advisories', () => {
  const advisory = (id: string, severity: string, cvssScore?: number) => ({
    rule: 'vulnerabilities' as const,
    message: `lodash@4.17.20 has advisory ${id} (${severity})`,
    evidence: { advisory: id, severity, ...(cvssScore === undefined ? {} : { cvssScore }) },
  });
  const report = makeReport([
    {
      entry: makeEntry('lodash', '4.17.20', [5]),
      findings: [
        advisory('GHSA-35jh-r3h4-6jhm', 'critical', 9.8),
        advisory('GHSA-p6mc-m468-83gw', 'moderate'),
      ],
    },
  ]);
  const results = (
    buildSarif(report).runs[0] as {
      results: { properties: Record<string, unknown>; partialFingerprints: Record<string, string> }[];
    }
  ).results;

  it('carries security-severity from the advisory: its CVSS score, else its severity band', () => {
    expect(results.map((r) => [r.properties.advisory, r.properties['security-severity']])).toEqual([
      ['GHSA-35jh-r3h4-6jhm', '9.8'],
      ['GHSA-p6mc-m468-83gw', '5.5'],
    ]);
  });

  it('tracks one alert per advisory', () => {
    const prints = results.map((r) => r.partialFingerprints['lockwarden/v1']);
    expect(new Set(prints).size).toBe(2);
  });
});
