// The job summary (and the sticky PR comment): counts, a findings table and the lockfile changes,
// kept under a byte budget because GitHub refuses step summaries over 1 MiB.
import type { Report, ReportFinding } from '../engine/report.js';
import type { ActionOutcome } from './decide-outcome.js';
import { countChanges, formatChangeLines, type LockfileChanges } from './describe-lockfile-changes.js';

/** GitHub's limit is 1 MiB per step summary; stay clear of it. */
export const SUMMARY_MAX_BYTES = 1_000_000;
/** Issue comments are limited to 65,536 characters. */
export const COMMENT_MAX_BYTES = 60_000;
export const STICKY_COMMENT_MARKER = '<!-- lockwarden:sticky-comment -->';

export interface SummaryInput {
  report: Report;
  outcome: ActionOutcome;
  changes: readonly LockfileChanges[];
  scope: 'changed' | 'all';
  /** `inline`, or the service URL the verdicts came from. */
  source: { mode: 'inline' } | { mode: 'service'; url: string; policyId: string };
  /** Where the JSON report was written (the `report` output). */
  reportPath?: string;
  /** Said right under the headline: the pull request changes the policy file, and which one applied. */
  policyNotices?: readonly string[];
  /** Likewise for the project `.npmrc`. */
  configNotices?: readonly string[];
  maxBytes?: number;
}

/** Makes text from a lockfile (hostile input) inert in markdown and HTML. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#~!])/g, '\\$1')
    .replace(/\r?\n/g, '<br>');
}

const HEADLINE: Record<ActionOutcome['kind'], string> = {
  clean: '✅ lockwarden: passed',
  alerts: '⚠️ lockwarden: passed with alerts',
  blocked: '❌ lockwarden: blocked',
  unavailable: '❌ lockwarden: facts unavailable',
};

function outcomeLabel(f: ReportFinding): string {
  if (f.outcome === 'unavailable') return `unavailable → ${f.effect}`;
  return f.effect;
}

function dependencyPath(f: ReportFinding): string {
  if (f.path?.length) return f.path.map(escapeMarkdown).join(' › ');
  const loc = f.locations?.[0];
  return loc ? escapeMarkdown(loc.key) : '';
}

function findingRow(f: ReportFinding): string {
  const why = f.outcome === 'unavailable' && f.source ? `${f.message} (source: ${f.source})` : f.message;
  const locs = f.locations ?? [];
  const where = locs.length
    ? `<br><sub>${escapeMarkdown(`${locs[0]!.file}:${locs[0]!.line}`)}${locs.length > 1 ? ` +${locs.length - 1}` : ''}</sub>`
    : '';
  return `| ${escapeMarkdown(f.name)} | ${escapeMarkdown(f.version ?? '—')} | ${escapeMarkdown(f.rule)} (${outcomeLabel(f)}) | ${escapeMarkdown(why)} | ${dependencyPath(f)}${where} | ${escapeMarkdown(f.hint)} |`;
}

const SEVERITY: Record<string, number> = { block: 0, alert: 1, allow: 2 };

function sortFindings(findings: readonly ReportFinding[]): ReportFinding[] {
  return [...findings].sort((a, b) => {
    const ua = a.outcome === 'unavailable' ? 1 : 0;
    const ub = b.outcome === 'unavailable' ? 1 : 0;
    if (ua !== ub) return ua - ub;
    const sa = SEVERITY[a.effect] ?? 3;
    const sb = SEVERITY[b.effect] ?? 3;
    if (sa !== sb) return sa - sb;
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    return (a.version ?? '') < (b.version ?? '') ? -1 : (a.version ?? '') > (b.version ?? '') ? 1 : 0;
  });
}

/** Appends lines while they fit; reports how many did not. */
class Budget {
  private readonly parts: string[] = [];
  private used = 0;
  constructor(private readonly maxBytes: number) {}
  fits(text: string, reserve = 0): boolean {
    return this.used + Buffer.byteLength(text) + 1 + reserve <= this.maxBytes;
  }
  push(text: string): void {
    this.parts.push(text);
    this.used += Buffer.byteLength(text) + 1;
  }
  toString(): string {
    return `${this.parts.join('\n')}\n`;
  }
}

/** Room kept for the trailer lines after a truncated section. */
const RESERVE_BYTES = 2_000;

export function renderSummary(input: SummaryInput): string {
  const { report, outcome, changes } = input;
  const out = new Budget(Math.max(4_000, input.maxBytes ?? SUMMARY_MAX_BYTES));
  const s = report.summary;
  const p = report.policy;

  out.push(`## ${HEADLINE[outcome.kind]}`);
  out.push('');
  out.push(escapeMarkdown(outcome.message));
  out.push('');
  for (const notice of input.policyNotices ?? []) {
    out.push(`> ⚠️ **Policy:** ${escapeMarkdown(notice)}`);
    out.push('');
  }
  for (const notice of input.configNotices ?? []) {
    out.push(`> ⚠️ **npm configuration:** ${escapeMarkdown(notice)}`);
    out.push('');
  }
  const via =
    input.source.mode === 'service'
      ? `service ${escapeMarkdown(input.source.url)} (policy ${escapeMarkdown(input.source.policyId)})`
      : 'inline';
  out.push(
    `Policy **${escapeMarkdown(p.id)}**${p.name && p.name !== p.id ? ` (${escapeMarkdown(p.name)})` : ''} · action \`${p.action}\` · onUnavailable \`${p.onUnavailable}\` · scope \`${input.scope}\` · verdicts ${via}`,
  );
  out.push('');
  out.push('| checked | blocked | alerts | unavailable | skipped |');
  out.push('|---:|---:|---:|---:|---:|');
  out.push(`| ${s.checked} | ${s.blocked} | ${s.alerts} | ${s.unavailable} | ${s.skipped} |`);

  const findings = sortFindings(report.findings);
  if (findings.length) {
    out.push('');
    out.push('### Findings');
    out.push('');
    out.push('| Package | Version | Rule | Why | Dependency path | How to pass |');
    out.push('|---|---|---|---|---|---|');
    let shown = 0;
    for (const f of findings) {
      const row = findingRow(f);
      if (!out.fits(row, RESERVE_BYTES)) break;
      out.push(row);
      shown++;
    }
    if (shown < findings.length) {
      out.push('');
      out.push(
        `…and ${findings.length - shown} more findings, left out to keep this summary under GitHub's size limit; the JSON report${input.reportPath ? ` (\`${escapeMarkdown(input.reportPath)}\`, output \`report\`)` : ' (output `report`)'} has them all.`,
      );
    }
  }

  const changed = changes.filter((c) => countChanges(c) > 0);
  if (changed.length) {
    out.push('');
    out.push('### Lockfile changes');
    for (const c of changed) {
      out.push('');
      out.push(
        `**${escapeMarkdown(c.file)}**${c.newFile ? ' (new file)' : ''}: ${c.updated.length} updated, ${c.added.length} added, ${c.removed.length} removed${c.sourceChanged.length ? `, ${c.sourceChanged.length} from a different source` : ''}${c.skippedAdded.length ? `, ${c.skippedAdded.length} not checked (not from a registry)` : ''}`,
      );
      out.push('');
      for (const line of formatChangeLines(c, 500)) {
        const text = escapeMarkdown(line);
        if (out.fits(text, RESERVE_BYTES)) out.push(text);
        else out.push('…(list cut to stay under the size limit)');
        out.push('');
      }
    }
  } else if (input.scope === 'changed') {
    out.push('');
    out.push('No lockfile entries were added or changed against the base commit.');
  }

  const extras: string[] = [];
  for (const n of report.notices) extras.push(`- ${escapeMarkdown(n.message)}`);
  for (const sk of report.skipped) extras.push(`- skipped ${escapeMarkdown(describeSkipped(sk))}`);
  for (const w of report.warnings) extras.push(`- ${escapeMarkdown(w)}`);
  if (extras.length) {
    out.push('');
    out.push(`<details><summary>Notices, skipped entries and warnings (${extras.length})</summary>`);
    out.push('');
    let shown = 0;
    for (const line of extras) {
      if (!out.fits(line, RESERVE_BYTES / 2)) break;
      out.push(line);
      shown++;
    }
    if (shown < extras.length) out.push(`- …and ${extras.length - shown} more in the JSON report`);
    out.push('');
    out.push('</details>');
  }
  return out.toString();
}

function describeSkipped(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return String(entry);
  const e = entry as Record<string, unknown>;
  const name = typeof e.name === 'string' ? e.name : typeof e.key === 'string' ? e.key : 'entry';
  const reason = typeof e.reason === 'string' ? `: ${e.reason}` : '';
  return `${name}${reason}`;
}

/** The sticky comment: the summary under a marker the next run finds and updates. */
export function renderComment(input: SummaryInput): string {
  return `${STICKY_COMMENT_MARKER}\n${renderSummary({ ...input, maxBytes: COMMENT_MAX_BYTES })}`;
}
