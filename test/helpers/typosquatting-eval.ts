// The typosquatting evaluation (issue 15): the product's look-alike search, on the product's
// lists, run over the sets in test/fixtures/typosquatting/. Shared by the unit test that holds
// the figures to the goals and by `npm run bench:typosquatting`, which prints them.
import { readFileSync } from 'node:fs';
import { findLookalike } from '../../src/policy/find-lookalike.js';
import { createPopularIndex, type PopularNameIndex } from '../../src/policy/popular-index.js';
import { readPopularList } from '../../src/sources/popular-list.js';

export type Split = 'dev' | 'holdout';

interface MaliciousEntry {
  name: string;
  target: string;
  shape: string;
  origin: string;
  split: Split;
}

interface LegitimateEntry {
  name: string;
  looksLike: string;
  split: Split;
}

export interface Miss {
  name: string;
  shape: string;
  expected: string;
  /** What the search said instead: another target, or nothing. */
  got: string | null;
}

export interface RecallFigures {
  total: number;
  /** Flagged, whatever target. */
  caught: number;
  /** Flagged with the target the entry names. */
  rightTarget: number;
  misses: Miss[];
}

export interface AlertFigures {
  total: number;
  flagged: { name: string; target: string; technique: string }[];
}

export interface TyposquattingEvaluation {
  malicious: Record<Split, RecallFigures>;
  legitimate: Record<Split, AlertFigures>;
  established: Record<Split | 'beyond', AlertFigures>;
  lockfileNames: AlertFigures;
}

/** The sets' directory; callers bundled elsewhere (the bench) pass their own. */
export const FIXTURES_DIR = new URL('../fixtures/typosquatting/', import.meta.url);

/** The index `lockwarden check` builds: the popular list and the wider list of known names. */
export function productIndex(): PopularNameIndex {
  return createPopularIndex(readPopularList());
}

function recall(entries: readonly MaliciousEntry[], index: PopularNameIndex): RecallFigures {
  const figures: RecallFigures = { total: entries.length, caught: 0, rightTarget: 0, misses: [] };
  for (const { name, target, shape } of entries) {
    const found = findLookalike(name, index);
    if (found) figures.caught++;
    if (found?.target === target) figures.rightTarget++;
    else
      figures.misses.push({
        name,
        shape,
        expected: target,
        got: found ? `${found.target} (${found.technique})` : null,
      });
  }
  return figures;
}

function alerts(names: readonly string[], index: PopularNameIndex): AlertFigures {
  const flagged: AlertFigures['flagged'] = [];
  for (const name of names) {
    const found = findLookalike(name, index);
    if (found) flagged.push({ name, target: found.target, technique: found.technique });
  }
  return { total: names.length, flagged };
}

export function evaluateTyposquattingSets(
  index: PopularNameIndex = productIndex(),
  dir: URL = FIXTURES_DIR,
): TyposquattingEvaluation {
  const fixture = <T>(file: string): T => JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as T;
  const malicious = fixture<{ entries: MaliciousEntry[] }>('malicious.json').entries;
  const legitimate = fixture<{ entries: LegitimateEntry[] }>('legitimate.json').entries;
  const established = fixture<Record<Split | 'beyond', string[]>>('established.json');
  const lockfile = fixture<{ names: string[] }>('lockfile-names.json').names;
  const bySplit = <T extends { split: Split }>(entries: readonly T[], split: Split): T[] =>
    entries.filter((e) => e.split === split);
  return {
    malicious: {
      dev: recall(bySplit(malicious, 'dev'), index),
      holdout: recall(bySplit(malicious, 'holdout'), index),
    },
    legitimate: {
      dev: alerts(
        bySplit(legitimate, 'dev').map((e) => e.name),
        index,
      ),
      holdout: alerts(
        bySplit(legitimate, 'holdout').map((e) => e.name),
        index,
      ),
    },
    established: {
      dev: alerts(established.dev, index),
      holdout: alerts(established.holdout, index),
      beyond: alerts(established.beyond, index),
    },
    lockfileNames: alerts(lockfile, index),
  };
}

function percent(part: number, whole: number): string {
  return `${whole === 0 ? '0' : ((100 * part) / whole).toFixed(1)}%`;
}

/** The figures as the README and the bench print them. */
export function formatEvaluation(result: TyposquattingEvaluation): string {
  const lines: string[] = [];
  for (const split of ['dev', 'holdout'] as const) {
    const m = result.malicious[split];
    lines.push(
      `malicious (${split}): ${percent(m.rightTarget, m.total)} caught with the right target ` +
        `(${m.rightTarget} of ${m.total}; ${m.caught} caught at all)`,
    );
  }
  for (const split of ['dev', 'holdout'] as const) {
    const l = result.legitimate[split];
    lines.push(`legitimate look-alikes (${split}): ${l.flagged.length} of ${l.total} flagged`);
  }
  for (const band of ['dev', 'holdout', 'beyond'] as const) {
    const e = result.established[band];
    const what = band === 'beyond' ? 'ranks 200,001-300,000, past the wider list' : 'ranks 20,001-40,000';
    lines.push(
      `established (${band}, ${what}): ${percent(e.flagged.length, e.total)} alerts (${e.flagged.length} of ${e.total})`,
    );
  }
  const lock = result.lockfileNames;
  lines.push(`real lockfile names off the popular list: ${lock.flagged.length} of ${lock.total} flagged`);
  return lines.join('\n');
}
