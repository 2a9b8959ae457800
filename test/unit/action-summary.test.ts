import { describe, expect, it } from 'vitest';
import { decideOutcome } from '../../src/action/decide-outcome.js';
import { describeLockfileChanges, formatChangeLines } from '../../src/action/describe-lockfile-changes.js';
import {
  COMMENT_MAX_BYTES,
  escapeMarkdown,
  renderComment,
  renderSummary,
  STICKY_COMMENT_MARKER,
  type SummaryInput,
} from '../../src/action/render-summary.js';
import type { Report } from '../../src/engine/report.js';
import { makeEntry, makeReport } from '../helpers/make-action-report.js';

const diff = {
  added: [
    { name: 'new-dep', version: '2.0.0' },
    { name: 'abc', version: '1.0.0' },
  ],
  updated: [
    { name: 'left-pad', from: ['1.3.0'], to: { name: 'left-pad', version: '1.3.1' } },
    { name: 'ms', from: ['2.1.2', '2.0.0'], to: { name: 'ms', version: '2.1.3' } },
  ],
  removed: [
    { name: 'gone', version: '0.1.0' },
    { name: 'left-pad', version: '1.3.0' },
  ],
};

function input(report: Report, extra: Partial<SummaryInput> = {}): SummaryInput {
  return {
    report,
    outcome: decideOutcome(report),
    changes: [describeLockfileChanges('package-lock.json', diff, false)],
    scope: 'changed',
    source: { mode: 'inline' },
    reportPath: '/tmp/lockwarden/report.json',
    ...extra,
  };
}

describe('lockfile changes', () => {
  it('lists updates, additions and removals the way reviewers read them', () => {
    const changes = describeLockfileChanges('package-lock.json', diff, false);
    expect(formatChangeLines(changes)).toEqual([
      'Updated the following: left-pad 1.3.0 → 1.3.1, ms 2.0.0, 2.1.2 → 2.1.3',
      'Added the following: abc 1.0.0, new-dep 2.0.0',
      'Removed the following: gone 0.1.0',
    ]);
  });

  it('does not list a replaced version as removed too', () => {
    const changes = describeLockfileChanges('package-lock.json', diff, false);
    expect(changes.removed).toEqual([{ name: 'gone', version: '0.1.0' }]);
  });

  it('shortens long lists', () => {
    const many = {
      added: Array.from({ length: 5 }, (_, i) => ({ name: `p${i}`, version: '1.0.0' })),
      updated: [],
      removed: [],
    };
    expect(formatChangeLines(describeLockfileChanges('x', many, true), 2)).toEqual([
      'Added the following: p0 1.0.0, p1 1.0.0 and 3 more',
    ]);
  });
});

describe('renderSummary', () => {
  const report = makeReport([
    { entry: makeEntry('left-pad', '1.3.1', [12]), findings: [{}] },
    { entry: makeEntry('ms', '2.1.3', [30]) },
  ]);

  it('renders the counts, the findings table and the lockfile changes', () => {
    const md = renderSummary(input(report));
    expect(md).toContain('## ❌ lockwarden: blocked');
    expect(md).toContain('| checked | blocked | alerts | unavailable | skipped |');
    expect(md).toContain('| 2 | 1 | 0 | 0 | 0 |');
    expect(md).toContain('| Package | Version | Rule | Why | Dependency path | How to pass |');
    expect(md).toContain(
      '| left-pad | 1.3.1 | cooling-off (block) | left-pad@1.3.1 was published 2 days ago (cooling-off 7 days) | app › left-pad<br><sub>package-lock.json:12</sub> | it passes on 2026-11-27, or add it to allow with a reason |',
    );
    expect(md).toContain('**package-lock.json**: 2 updated, 2 added, 1 removed');
    expect(md).toContain('Updated the following: left-pad 1.3.0 → 1.3.1, ms 2.0.0, 2.1.2 → 2.1.3');
    expect(md).toContain('Removed the following: gone 0.1.0');
  });

  it('says where service-mode verdicts came from', () => {
    const md = renderSummary(
      input(report, { source: { mode: 'service', url: 'http://127.0.0.1:9/', policyId: 'strict' } }),
    );
    expect(md).toContain('verdicts service http://127.0.0.1:9/ (policy strict)');
  });

  it('makes hostile text inert', () => {
    const hostile = makeReport([
      {
        entry: makeEntry('evil|pkg', '1.0.0'),
        findings: [
          { message: '<img src=x onerror=alert(1)> | col\nnext', hint: '[click](http://127.0.0.1:1/)' },
        ],
      },
    ]);
    const md = renderSummary(input(hostile));
    expect(md).not.toContain('<img');
    expect(md).toContain('&lt;img src=x onerror=alert(1)&gt; \\| col<br>next');
    expect(md).toContain('evil\\|pkg');
    expect(md).toContain('\\[click\\](http://127.0.0.1:1/)');
    expect(escapeMarkdown('a_b*c`d')).toBe('a\\_b\\*c\\`d');
  });

  it('stays under the byte budget and points at the JSON report', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      entry: makeEntry(`package-${i}`, '1.0.0', [i + 2]),
      findings: [{ message: 'x'.repeat(400) }],
    }));
    const big = makeReport(rows);
    const md = renderSummary(input(big, { maxBytes: 200_000 }));
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(200_000);
    expect(md).toMatch(/…and \d+ more findings, left out to keep this summary under GitHub's size limit/);
    expect(md).toContain('/tmp/lockwarden/report.json');
    const full = renderSummary(input(big));
    expect(Buffer.byteLength(full)).toBeLessThanOrEqual(1_000_000);
  });

  it('tells a pull request with no lockfile changes so', () => {
    const clean = makeReport([]);
    const md = renderSummary(
      input(clean, {
        changes: [
          describeLockfileChanges('package-lock.json', { added: [], updated: [], removed: [] }, false),
        ],
      }),
    );
    expect(md).toContain('## ✅ lockwarden: passed');
    expect(md).toContain('No lockfile entries were added or changed against the base commit.');
  });

  it('says right under the headline that the pull request changes the policy', () => {
    const md = renderSummary(
      input(report, {
        policyNotices: [
          "policy file .github/lockwarden.yml changed in this pull request; the base branch's policy was applied",
        ],
      }),
    );
    const lines = md.split('\n');
    const at = lines.indexOf(
      "> ⚠️ **Policy:** policy file .github/lockwarden.yml changed in this pull request; the base branch's policy was applied",
    );
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(lines.findIndex((l) => l.startsWith('Policy **')));
    expect(renderSummary(input(report))).not.toContain('**Policy:**');
  });

  it('renders the sticky comment under its marker within the comment limit', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ({
      entry: makeEntry(`package-${i}`, '1.0.0', [i + 2]),
      findings: [{}],
    }));
    const comment = renderComment(input(makeReport(rows)));
    expect(comment.startsWith(`${STICKY_COMMENT_MARKER}\n## ❌ lockwarden: blocked`)).toBe(true);
    expect(Buffer.byteLength(comment)).toBeLessThanOrEqual(
      COMMENT_MAX_BYTES + STICKY_COMMENT_MARKER.length + 1,
    );
  });
});
