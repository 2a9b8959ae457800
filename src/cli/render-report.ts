// Human-readable report for a terminal: findings grouped by rule, facts that could not be had
// grouped by source and cause (an outage is a few lines, not one per package), then the summary.
import { type Report, type ReportFinding, unavailableBySource } from '../engine/report.js';
import { formatInteger } from '../policy/format.js';
import { RULE_IDS } from '../policy/types.js';

export interface RenderOptions {
  color: boolean;
  /** What was checked: `packages` for audit, `names` for check. */
  noun?: string;
  /** Skipped entries listed individually up to this count. */
  maxSkipped?: number;
  /** List the packages behind each unavailable group. */
  verbose?: boolean;
  /** Leave out the header line (the CLI prints it when the run starts). */
  header?: boolean;
}

const CODES = { red: 31, yellow: 33, cyan: 36, dim: 2, bold: 1, green: 32 } as const;

function painter(color: boolean): Paint {
  return (code, text) => (color ? `\x1b[${CODES[code]}m${text}\x1b[0m` : text);
}

export function renderHeader(policy: Report['policy'], opts: { color: boolean }): string {
  return painter(opts.color)(
    'bold',
    `lockwarden · policy ${policy.id} (${policy.action}, onUnavailable: ${policy.onUnavailable})`,
  );
}

export function renderReport(report: Report, opts: RenderOptions): string {
  const paint = painter(opts.color);
  const out: string[] = [];
  // Without it, the text starts with the blank line that follows the header the CLI printed.
  if (opts.header !== false) out.push(renderHeader(report.policy, opts));

  if (report.checked && report.checked.length > 0) {
    out.push('', paint('bold', 'Checked'));
    for (const c of report.checked) {
      const spec = c.version === null ? c.name : `${c.name}@${c.version}`;
      const which = c.latest ? (c.version === null ? ' (latest: unknown)' : ' (latest)') : '';
      out.push(`  ${spec}${which}: ${paintDecision(c.decision, paint)}`);
    }
  }

  for (const rule of RULE_IDS) {
    const group = report.findings.filter((f) => f.rule === rule && f.outcome !== 'unavailable');
    if (group.length === 0) continue;
    out.push('', paint('bold', `${rule} (${group.length})`));
    for (const f of group) out.push(...renderFinding(f, paint));
  }
  out.push(...renderUnavailable(report, opts, paint));

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

function paintDecision(decision: string, paint: Paint): string {
  return decision === 'block'
    ? paint('red', 'block')
    : decision === 'alert'
      ? paint('yellow', 'alert')
      : paint('green', 'allow');
}

/** At most this many packages per group under --verbose; --json lists them all. */
const VERBOSE_MAX_PACKAGES = 200;

function renderUnavailable(report: Report, opts: RenderOptions, paint: Paint): string[] {
  const groups = report.unavailable;
  if (groups.length === 0) return [];
  const s = report.summary;
  const effects = [...new Set(groups.map((g) => g.effect))];
  const effect =
    effects.length === 1
      ? effects[0] === 'allow'
        ? 'allowed'
        : effects[0] === 'block'
          ? 'blocked'
          : 'alerted'
      : 'judged';
  const out = [
    '',
    paint(
      'bold',
      `Facts unavailable for ${formatInteger(s.unavailable)} ${s.unavailable === 1 ? 'package' : 'packages'} (${effect} by onUnavailable: ${report.policy.onUnavailable})`,
    ),
  ];
  for (const g of groups) {
    const n = g.packages.length;
    out.push(
      `  ${paint('cyan', g.source)}: ${g.cause}: ${g.facts.join(', ')} of ${formatInteger(n)} ${n === 1 ? 'package' : 'packages'}`,
    );
    if (opts.verbose) {
      const shown = g.packages.slice(0, VERBOSE_MAX_PACKAGES);
      out.push(...wrap(shown.join(', '), 96).map((line) => paint('dim', `    ${line}`)));
      if (n > shown.length) out.push(paint('dim', `    ... and ${n - shown.length} more (--json lists all)`));
    }
  }
  const sources = [...new Set(groups.map((g) => g.source))].join(', ');
  out.push(
    paint(
      'dim',
      `  retry when ${sources} ${groups.length === 1 ? 'is' : 'are'} reachable${opts.verbose ? '' : '; --verbose lists the packages'}`,
    ),
  );
  return out;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

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

/** `2,103 packages: 2 blocked, 0 alerts; facts unavailable for 326 (GitHub API: 321, downloads API: 16)`. */
export function summaryLine(report: Report, noun: string, paint: Paint = (_c, t) => t): string {
  const s = report.summary;
  const plural = (n: number, word: string) => `${formatInteger(n)} ${n === 1 ? word : `${word}s`}`;
  const singular = noun.replace(/s$/, '');
  let line = `${plural(s.checked, singular)}: ${[
    paint(s.blockedByFindings > 0 ? 'red' : 'green', `${formatInteger(s.blockedByFindings)} blocked`),
    paint(s.alertsByFindings > 0 ? 'yellow' : 'dim', plural(s.alertsByFindings, 'alert')),
  ].join(', ')}`;
  if (s.unavailable > 0) {
    const bySource = [...unavailableBySource(report.unavailable)]
      .sort((a, b) => b[1] - a[1])
      .map(([source, n]) => `${source}: ${formatInteger(n)}`);
    const effect = report.policy.onUnavailable === 'block' ? ', which blocks them' : '';
    line += `; ${paint('cyan', `facts unavailable for ${formatInteger(s.unavailable)}`)} (${bySource.join(', ')})${effect}`;
  }
  if (s.skipped > 0) line += `; ${formatInteger(s.skipped)} skipped`;
  return line;
}
