// Which annotations the run emits. One per violating lockfile entry and severity, on the line of
// the entry's key, so a reviewer sees the problem on the exact line of the diff.
import type { ReportFinding } from '../engine/report.js';
import type { SkippedEntry } from '../lockfile/lockfile-inventory.js';
import type { Finding } from '../policy/types.js';

export type AnnotationLevel = 'error' | 'warning' | 'notice';

export interface Annotation {
  level: AnnotationLevel;
  title: string;
  message: string;
  /** Repository-relative posix path; absent for run-level annotations. */
  file?: string;
  startLine?: number;
}

/** GitHub shows at most this many annotations of each level per step. */
export const MAX_ANNOTATIONS_PER_LEVEL = 10;

const LEVEL_ORDER: readonly AnnotationLevel[] = ['error', 'warning', 'notice'];

/**
 * `error` for what blocks, `warning` for what alerts, `notice` for checks whose facts were
 * unavailable (the run's failure message names the source when those block).
 */
export function annotationLevel(finding: Finding): AnnotationLevel | undefined {
  if (finding.outcome === 'unavailable') return finding.effect === 'allow' ? undefined : 'notice';
  if (finding.effect === 'block') return 'error';
  if (finding.effect === 'alert') return 'warning';
  return undefined;
}

function findingText(f: Finding): string {
  const where = f.outcome === 'unavailable' && f.source ? ` [source: ${f.source}]` : '';
  return `${f.message}${where}${f.hint ? `\nTo pass: ${f.hint}` : ''}`;
}

interface Group {
  level: AnnotationLevel;
  file?: string;
  line?: number;
  spec: string;
  findings: ReportFinding[];
}

function compareGroups(a: Group, b: Group): number {
  const fa = a.file ?? '\uffff';
  const fb = b.file ?? '\uffff';
  if (fa !== fb) return fa < fb ? -1 : 1;
  if ((a.line ?? 0) !== (b.line ?? 0)) return (a.line ?? 0) - (b.line ?? 0);
  return a.spec < b.spec ? -1 : a.spec > b.spec ? 1 : 0;
}

/**
 * Groups findings by (lockfile entry, level), one annotation each, sorted by file and line.
 * Levels over the cap keep `max - 1` annotations and end with one that points at the summary.
 */
export function selectAnnotations(
  findings: readonly ReportFinding[],
  opts: { maxPerLevel?: number; summaryHint?: string } = {},
): Annotation[] {
  const max = Math.max(1, opts.maxPerLevel ?? MAX_ANNOTATIONS_PER_LEVEL);
  const groups = new Map<string, Group>();
  for (const f of findings) {
    const level = annotationLevel(f);
    if (!level) continue;
    const spec = f.version === null ? f.name : `${f.name}@${f.version}`;
    const locations = f.locations?.length ? f.locations : [undefined];
    for (const loc of locations) {
      const key = `${level}\0${loc ? `${loc.file}\0${loc.line}` : `\0\0${spec}`}`;
      let group = groups.get(key);
      if (!group) {
        group = { level, spec, findings: [] };
        if (loc) {
          group.file = loc.file;
          if (Number.isSafeInteger(loc.line) && loc.line > 0) group.line = loc.line;
        }
        groups.set(key, group);
      }
      if (!group.findings.includes(f)) group.findings.push(f);
    }
  }

  const out: Annotation[] = [];
  for (const level of LEVEL_ORDER) {
    const list = [...groups.values()].filter((g) => g.level === level).sort(compareGroups);
    const shown = list.length > max ? list.slice(0, max - 1) : list;
    for (const g of shown) {
      const rules = [...new Set(g.findings.map((f) => f.rule))];
      const annotation: Annotation = {
        level,
        title: `lockwarden: ${rules.join(', ')}`,
        message: g.findings.map(findingText).join('\n\n'),
      };
      if (g.file !== undefined) annotation.file = g.file;
      if (g.line !== undefined) annotation.startLine = g.line;
      out.push(annotation);
    }
    if (shown.length < list.length) {
      const more = list.length - shown.length;
      out.push({
        level,
        title: 'lockwarden: more findings',
        message: `${more} more ${level === 'notice' ? 'notices' : `${level}s`} are not annotated here (GitHub shows ${max} per step); ${opts.summaryHint ?? 'see the job summary for the full list'}.`,
      });
    }
  }
  return out;
}

/**
 * `notice` annotations on the lines of entries a pull request adds that lockwarden cannot check
 * (git, remote tarball, `file:`), so a reviewer sees them in the diff. Entries without a location
 * are in the summary only.
 */
export function selectSkippedAnnotations(
  skipped: readonly SkippedEntry[],
  opts: { maxPerLevel?: number } = {},
): Annotation[] {
  const max = Math.max(1, opts.maxPerLevel ?? MAX_ANNOTATIONS_PER_LEVEL);
  const located = skipped
    .filter((s) => s.location !== undefined)
    .sort((a, b) =>
      a.location!.file !== b.location!.file
        ? a.location!.file < b.location!.file
          ? -1
          : 1
        : a.location!.line - b.location!.line,
    );
  const shown = located.length > max ? located.slice(0, max - 1) : located;
  const out: Annotation[] = shown.map((s) => {
    const annotation: Annotation = {
      level: 'notice',
      title: 'lockwarden: not checked',
      message: `${s.name} comes from ${s.spec} (${s.reason}); lockwarden checks registry packages only, so review this dependency by hand`,
      file: s.location!.file,
    };
    if (Number.isSafeInteger(s.location!.line) && s.location!.line > 0)
      annotation.startLine = s.location!.line;
    return annotation;
  });
  if (shown.length < located.length) {
    out.push({
      level: 'notice',
      title: 'lockwarden: more entries not checked',
      message: `${located.length - shown.length} more added entries are not registry packages and were not checked; see the job summary for the full list.`,
    });
  }
  return out;
}
