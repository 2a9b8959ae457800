import { describe, expect, it } from 'vitest';
import { applyModeToPolicy } from '../../src/action/apply-mode.js';
import { decideOutcome } from '../../src/action/decide-outcome.js';
import { mergeReports } from '../../src/action/merge-reports.js';
import { makeEntry, makeReport } from '../helpers/make-action-report.js';
import { makePolicy } from '../helpers/make-policy.js';

describe('decideOutcome', () => {
  it('passes a clean run', () => {
    const outcome = decideOutcome(makeReport([{ entry: makeEntry('a', '1.0.0') }]));
    expect(outcome).toEqual({
      failed: false,
      kind: 'clean',
      message: '1 packages checked against policy "test": no findings.',
    });
  });

  it('passes with alerts', () => {
    const outcome = decideOutcome(
      makeReport([{ entry: makeEntry('a', '1.0.0'), findings: [{ outcome: 'alert', effect: 'alert' }] }]),
    );
    expect(outcome.failed).toBe(false);
    expect(outcome.kind).toBe('alerts');
    expect(outcome.message).toContain('1 alert');
  });

  it('fails on blocks, naming rules and packages', () => {
    const outcome = decideOutcome(
      makeReport([
        { entry: makeEntry('a', '1.0.0'), findings: [{}] },
        { entry: makeEntry('b', '2.0.0'), findings: [{ rule: 'typosquatting' }] },
        { entry: makeEntry('c', '1.0.0') },
      ]),
    );
    expect(outcome).toMatchObject({ failed: true, kind: 'blocked' });
    expect(outcome.message).toMatch(
      /^2 of 3 checked packages blocked by policy "test" \(cooling-off, typosquatting\): a@1.0.0, b@2.0.0\./,
    );
  });

  it('fails on unavailable facts under onUnavailable: block and says which source failed', () => {
    const outcome = decideOutcome(
      makeReport(
        [
          {
            entry: makeEntry('a', '1.0.0'),
            findings: [
              {
                outcome: 'unavailable',
                effect: 'block',
                source: 'registry',
                message: 'publish time unavailable: connection refused',
              },
            ],
          },
        ],
        makePolicy({ onUnavailable: 'block' }),
      ),
    );
    expect(outcome).toMatchObject({ failed: true, kind: 'unavailable' });
    expect(outcome.message).toContain('has onUnavailable: block');
    expect(outcome.message).toContain('registry (publish time unavailable: connection refused)');
  });

  it('notes unavailable facts that only alert without failing', () => {
    const outcome = decideOutcome(
      makeReport([
        {
          entry: makeEntry('a', '1.0.0'),
          findings: [
            { outcome: 'unavailable', effect: 'alert', source: 'downloads API', message: 'HTTP 503' },
          ],
        },
      ]),
    );
    expect(outcome).toMatchObject({ failed: false, kind: 'alerts' });
    expect(outcome.message).toContain('1 with facts unavailable (downloads API (HTTP 503))');
  });
});

describe('mode: alert', () => {
  it('downgrades the policy action and never upgrades it', () => {
    expect(applyModeToPolicy(makePolicy({ action: 'block' }), 'alert').action).toBe('alert');
    expect(applyModeToPolicy(makePolicy({ action: 'alert' }), undefined).action).toBe('alert');
    expect(applyModeToPolicy(makePolicy({ action: 'block' }), undefined).action).toBe('block');
  });
});

describe('mergeReports', () => {
  it('adds counts and keeps the worst exit code', () => {
    const clean = makeReport([{ entry: makeEntry('a', '1.0.0') }]);
    const unavailable = makeReport(
      [
        {
          entry: makeEntry('b', '1.0.0'),
          findings: [{ outcome: 'unavailable', effect: 'block', source: 'registry' }],
        },
      ],
      makePolicy({ onUnavailable: 'block' }),
    );
    const blocked = makeReport([
      { entry: makeEntry('c', '1.0.0', [5], 'x/package-lock.json'), findings: [{}] },
    ]);
    expect(mergeReports([clean, unavailable]).exitCode).toBe(3);
    const merged = mergeReports([clean, unavailable, blocked]);
    expect(merged.exitCode).toBe(1);
    expect(merged.summary).toMatchObject({ checked: 3, blocked: 2, allowed: 1, unavailable: 1 });
    expect(merged.findings.map((f) => f.name)).toEqual(['b', 'c']);
  });
});
