// Reports of several lockfiles (a monorepo) as one, with their locations made repository-relative.
import path from 'node:path';
import { groupUnavailable, type Report, type ReportFinding } from '../engine/report.js';
import type { SkippedEntry } from '../lockfile/lockfile-inventory.js';
import { joinRepoPath } from './repository-path.js';

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Locations from a lockfile read in its own directory, made repository-relative for annotations. */
export function rebaseFinding(f: ReportFinding, dir: string): ReportFinding {
  if (!f.locations || dir === '.') return f;
  return { ...f, locations: f.locations.map((l) => ({ ...l, file: joinRepoPath(dir, toPosix(l.file)) })) };
}

export function rebaseSkipped(s: SkippedEntry, dir: string): SkippedEntry {
  if (!s.location || dir === '.') return s;
  return { ...s, location: { ...s.location, file: joinRepoPath(dir, toPosix(s.location.file)) } };
}

/** One report for several lockfiles (a monorepo): counts add up, the worst exit code wins. */
export function mergeReports(reports: readonly Report[]): Report {
  const [first, ...rest] = reports;
  if (!first) throw new Error('mergeReports needs at least one report');
  if (rest.length === 0) return first;
  const merged: Report = {
    ...first,
    summary: { ...first.summary },
    findings: [...first.findings],
    notices: [...first.notices],
    skipped: [...first.skipped],
    warnings: [...first.warnings],
  };
  for (const r of rest) {
    for (const key of Object.keys(merged.summary) as (keyof Report['summary'])[])
      merged.summary[key] += r.summary[key];
    merged.findings.push(...r.findings);
    merged.notices.push(...r.notices);
    merged.skipped.push(...r.skipped);
    merged.warnings.push(...r.warnings);
    if (r.exitCode === 1 || (r.exitCode === 3 && merged.exitCode === 0)) merged.exitCode = r.exitCode;
  }
  merged.unavailable = groupUnavailable(merged.findings);
  return merged;
}
