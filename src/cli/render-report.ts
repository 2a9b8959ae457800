// Human-readable report for a terminal: findings grouped by rule, then the summary line.
import type { Report, ReportFinding } from '../engine/report.js';
import { formatInteger } from '../policy/format.js';
import { RULE_IDS } from '../policy/types.js';

export interface RenderOptions {
  color: boolean;
  /** What was checked: `packages` for audit, `names` for check. */
  noun?: string;
  /** Skipped entries listed individually up to this count. */
  maxSkipped?: number;
}

const CODES = { red: 31, yellow: 33, cyan: 36, dim: 2, bold: 1, green: 32 } as const;

export function renderReport(report: Report, opts: RenderOptions): string {
  const paint = (code: keyof typeof CODES, text: string) =>
    opts.color ? `\x1b[${CODES[code]}m${text}\x1b[0m` : text;
  const out: string[] = [];
  const { policy } = report;
  out.push(
    paint(
      'bold',
      `lockwarden · policy ${policy.id} (${policy.action}, onUnavailable: ${policy.onUnavailable})`,
    ),
  );

  for (const rule of RULE_IDS) {
    const group = report.findings.filter((f) => f.rule === rule);
    if (group.length === 0) continue;
    out.push('', paint('bold', `${rule} (${group.length})`));
    for (const f of group) out.push(...renderFinding(f, paint));
  }

  const notices = report.notices.filter((n) => n.kind !== 'allowed-by-list');
  if (notices.length > 0) {
    out.push('', paint('bold', 'Notices'));
    for (const n of notices) out.push(`  ${paint('cyan', 'i')} ${n.message}`);
  }
  if (report.warnings.length > 0) {
    out.push('', paint('bold', 'Lockfile warnings'));
    for (const w of report.warnings) out.push(`  ${paint('yellow', '!')} ${w}`);
  }
  if (report.skipped.length > 0) {
    const max = opts.maxSkipped ?? 10;
    out.push('', paint('bold', `Skipped, not from the registry (${report.skipped.length})`));
    for (const s of report.skipped.slice(0, max))
      out.push(paint('dim', `  ${s.name} (${s.spec}): ${s.reason}`));
    if (report.skipped.length > max)
      out.push(paint('dim', `  ... and ${report.skipped.length - max} more (--json lists all)`));
  }
  out.push('', summaryLine(report, opts.noun ?? 'packages', paint));
  return `${out.join('\n')}\n`;
}

type Paint = (code: keyof typeof CODES, text: string) => string;

function renderFinding(f: ReportFinding, paint: Paint): string[] {
  const label =
    f.outcome === 'unavailable'
      ? paint('cyan', `UNAVAILABLE → ${f.effect}`)
      : f.outcome === 'block'
        ? paint('red', 'BLOCK')
        : paint('yellow', 'ALERT');
  const lines = [`  ${f.version === null ? f.name : `${f.name}@${f.version}`}  ${label}`];
  lines.push(`    why:  ${f.message}`);
  lines.push(`    fix:  ${f.hint}`);
  if (f.path && f.path.length > 0) {
    const where = f.locations?.[0] ? ` (${f.locations[0].file}:${f.locations[0].line})` : '';
    const more = f.locations && f.locations.length > 1 ? ` +${f.locations.length - 1} more` : '';
    lines.push(paint('dim', `    path: ${f.path.join(' > ')}${where}${more}`));
  }
  return lines;
}

export function summaryLine(report: Report, noun: string, paint: Paint = (_c, t) => t): string {
  const s = report.summary;
  const parts = [
    paint(s.blocked > 0 ? 'red' : 'green', `${formatInteger(s.blocked)} blocked`),
    paint(s.alerts > 0 ? 'yellow' : 'dim', `${formatInteger(s.alerts)} alert${s.alerts === 1 ? '' : 's'}`),
    `${formatInteger(s.unavailable)} unavailable`,
    `${formatInteger(s.skipped)} skipped`,
  ];
  return `${formatInteger(s.checked)} ${noun} checked: ${parts.join(', ')}`;
}
