// How long a name has been on the registry, read from its packument: the evidence that a
// look-alike is an established package rather than a fresh squat. Pure: the engine hands in the
// document it fetched and the injected `now`.
import { parsePublishTime } from './format.js';

/** A name's publishing history as the packument tells it. */
export interface NameHistory {
  /** First publish: `time.created` when the registry gives one, else the earliest version time. */
  firstPublished: string | null;
  /** The latest version publish time. */
  lastPublished: string | null;
  /** Version keys in the document. */
  versionCount: number;
  /** Versions with a readable publish time (the spread is measured over these). */
  datedVersions: number;
}

/**
 * Thresholds for "clearly established". A squat is published days before it is used and rarely
 * keeps a release history: a name first published two years before `now`, with ten versions
 * spread over a year, costs an attacker years of patience, which is what the look-alike rules
 * cannot see. One-version names stay flagged however old they are (abandoned squats age too).
 */
export const ESTABLISHED_MIN_AGE_DAYS = 730;
export const ESTABLISHED_MIN_VERSIONS = 10;
export const ESTABLISHED_MIN_SPREAD_DAYS = 365;

const DAY_MS = 24 * 3600 * 1000;

/** The history of a full packument; undefined when it carries no publish times (abbreviated). */
export function nameHistoryOf(packument: {
  versions?: Record<string, unknown>;
  time?: Record<string, unknown>;
}): NameHistory | undefined {
  const time = packument.time;
  if (!time || typeof time !== 'object') return undefined;
  const versions = Object.keys(packument.versions ?? {});
  let earliest: number | null = null;
  let latest: number | null = null;
  let dated = 0;
  for (const version of versions) {
    const raw = Object.hasOwn(time, version) ? time[version] : undefined;
    const t = typeof raw === 'string' ? parsePublishTime(raw) : null;
    if (t === null) continue;
    dated++;
    if (earliest === null || t < earliest) earliest = t;
    if (latest === null || t > latest) latest = t;
  }
  const createdRaw = typeof time.created === 'string' ? parsePublishTime(time.created) : null;
  // `created` never postdates a version that is still listed; when it does, the document is odd
  // and the earlier of the two is the honest first publish.
  const first =
    createdRaw === null ? earliest : earliest === null ? createdRaw : Math.min(createdRaw, earliest);
  return {
    firstPublished: first === null ? null : new Date(first).toISOString(),
    lastPublished: latest === null ? null : new Date(latest).toISOString(),
    versionCount: versions.length,
    datedVersions: dated,
  };
}

/** Why a history does or does not make a name established at `now`. */
export interface Establishment {
  established: boolean;
  ageDays: number | null;
  spreadDays: number | null;
  /** What fell short, for the finding's evidence; empty when established. */
  shortOf: string[];
}

export function establishment(history: NameHistory, now: Date): Establishment {
  const first = history.firstPublished === null ? null : parsePublishTime(history.firstPublished);
  const last = history.lastPublished === null ? null : parsePublishTime(history.lastPublished);
  const ageDays = first === null ? null : Math.floor((now.getTime() - first) / DAY_MS);
  const spreadDays =
    first === null || last === null ? null : Math.max(0, Math.floor((last - first) / DAY_MS));
  const shortOf: string[] = [];
  if (ageDays === null) shortOf.push('no publish date');
  else if (ageDays < ESTABLISHED_MIN_AGE_DAYS)
    shortOf.push(`first published ${ageDays} days ago (< ${ESTABLISHED_MIN_AGE_DAYS})`);
  if (history.datedVersions < ESTABLISHED_MIN_VERSIONS)
    shortOf.push(`${history.datedVersions} dated versions (< ${ESTABLISHED_MIN_VERSIONS})`);
  if (spreadDays !== null && spreadDays < ESTABLISHED_MIN_SPREAD_DAYS)
    shortOf.push(`versions span ${spreadDays} days (< ${ESTABLISHED_MIN_SPREAD_DAYS})`);
  return { established: shortOf.length === 0, ageDays, spreadDays, shortOf };
}
