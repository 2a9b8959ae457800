// Shared vocabulary of the pure core. Everything here is data: no I/O, no clock.
import type { NameHistory } from './name-history.js';

export type PolicyAction = 'block' | 'alert';
export type UnavailableAction = 'allow' | 'alert' | 'block';

export type RuleId =
  | 'not-on-registry'
  | 'cooling-off'
  | 'popularity'
  | 'typosquatting'
  | 'suspicious-version'
  | 'blocklist'
  | 'semver-honesty'
  | 'lockfile-source'
  | 'vulnerabilities';
export const RULE_IDS: readonly RuleId[] = [
  'not-on-registry',
  'cooling-off',
  'popularity',
  'typosquatting',
  'suspicious-version',
  'blocklist',
  'semver-honesty',
  'lockfile-source',
  'vulnerabilities',
];

/** Advisory severities, lowest first (the registry's names; OSV's MEDIUM reads as moderate). */
export const SEVERITIES = ['low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A published advisory about some versions of one package, as the advisory sources deliver it. */
export interface Advisory {
  /** GHSA id when there is one (the registry's and OSV's advisories for npm have it). */
  id: string;
  /** Other ids of the same advisory (CVE, the registry's numeric id, OSV's). */
  aliases: string[];
  severity: Severity;
  title: string;
  url?: string;
  /** CVSS base score (0-10) when the source gives one. */
  cvssScore?: number;
  /** The affected versions as a semver range (`<1.3.2`, `>=2.0.0 <2.1.4 || 3.0.0`). */
  vulnerableVersions: string;
  /**
   * An upper bound of the range is where the source stopped looking (OSV's `limit`), not a fix:
   * the security fast lane must not read it as one.
   */
  boundsAreNotFixes?: true;
}

/** An allow-list entry that accepts one advisory (by id or alias) for every package it concerns. */
export interface AdvisoryAllowEntry {
  advisory: string;
  reason?: string;
  expires?: string;
}

/** One allow or block list entry, normalized from the policy file. */
export interface ListEntry {
  /** The entry as written (`eslint-plugin-*`, `lodash@<4.17.21`). */
  spec: string;
  /** Name pattern: exact name, `@scope/*`, or a glob with `*`. */
  namePattern: string;
  /** semver range the version must satisfy; undefined matches every version. */
  range?: string;
  reason?: string;
  /** ISO date (YYYY-MM-DD or full timestamp); the entry stops applying after it. */
  expires?: string;
}

export interface Policy {
  id: string;
  name: string;
  description: string;
  action: PolicyAction;
  /** Minimum days since publish; fractions allowed; 0 disables. */
  coolingOffDays: number;
  /** Minimum downloads over the previous 7 days; 0 disables. */
  minWeeklyDownloads: number;
  typosquatting: boolean;
  suspiciousVersion: boolean;
  /** Hours after publish during which a missing tag is not yet suspicious. */
  suspiciousVersionGraceHours: number;
  allow: ListEntry[];
  block: ListEntry[];
  onUnavailable: UnavailableAction;
  /** Breaking interface changes in a minor or patch update (`update`, the Action, `check a@1..2`). */
  semverHonesty: 'off' | 'alert' | 'block';
  /** Lockfile entries must resolve to the configured registry or `registries`, with an integrity. */
  lockfileSource: boolean;
  /** Registry URLs besides the configured one that lockfile entries may resolve to. */
  registries: string[];
  /** Published advisories at or above `minSeverity` are findings; absent: the rule is off. */
  vulnerabilities?: { minSeverity: Severity };
  /**
   * With `vulnerabilities` on: `bypass-cooling-off` (the default) lets a version inside the
   * cooling-off window through, with an alert, when it fixes an advisory its predecessor has.
   */
  securityFixes?: 'bypass-cooling-off' | 'normal';
  /** Allow entries that name an advisory instead of a package. */
  allowAdvisories?: AdvisoryAllowEntry[];
}

/**
 * A fact the engine needs, as a source delivered it. `unavailable` means the source failed
 * (down, slow, garbage) or lacks the data; it is never read as a pass.
 */
export type Fact<T> = { status: 'ok'; value: T } | { status: 'unavailable'; source: string; reason: string };

export interface WeeklyDownloads {
  count: number;
  /** `api`: the downloads API; `snapshot`: embedded popular list (monthly / 4.3). */
  origin: 'api' | 'snapshot';
  /** For snapshots: the date the snapshot was taken (YYYY-MM-DD). */
  asOf?: string;
}

export interface RepositoryTags {
  /** Normalized `owner/repo` on GitHub. */
  repo: string;
  /** Every tag and release name of the repository. */
  tags: string[];
}

/** Facts about one name@version. Missing keys mean the policy does not need that fact. */
export interface VersionFacts {
  /**
   * Whether the registry knows the package. `false` is a definite "not found";
   * a Fact-unavailable means the registry could not be asked.
   */
  packageKnown?: Fact<boolean>;
  /**
   * Whether the registry has this version. `false` is the registry's definite answer (a 404 for
   * the package, or a packument without the version); an outage is an unavailable fact instead.
   */
  versionKnown?: Fact<boolean>;
  /**
   * The version arrives inside its bundler's tarball. One the registry does not list is the
   * bundler's own copy, not an edited lockfile: npm, for one, bundles versions of its workspaces
   * it has not published (yet), and bundling is how packages ship private code.
   */
  bundled?: boolean;
  /** Raw publish timestamp from the packument `time` map; `null` when the map has no entry. */
  publishedAt?: Fact<string | null>;
  weeklyDownloads?: Fact<WeeklyDownloads>;
  /** Tags of the version's GitHub repository. */
  repositoryTags?: Fact<RepositoryTags>;
  /**
   * `publishedAt` is only known to be no later than this value (an abbreviated document's
   * `modified`); good enough to prove a version is old, never used to call one new.
   */
  publishedAtIsUpperBound?: boolean;
  /** Every version of the package (for tag-regression evidence). */
  knownVersions?: string[];
  /**
   * The name's publishing history, for typosquatting: present when the name looks like a popular
   * one and the engine read its packument. Absent or unavailable keeps the look-alike finding.
   */
  nameHistory?: Fact<NameHistory>;
  /**
   * Advisories about the package that may concern this version or the ones before it (the
   * guardrail matches their ranges); present when the policy has `vulnerabilities`.
   */
  advisories?: Fact<Advisory[]>;
}

/** Outcome of one finding. `unavailable` findings carry `effect` from `onUnavailable`. */
export type FindingOutcome = 'block' | 'alert' | 'unavailable';
export type Decision = 'allow' | 'alert' | 'block';

export interface Finding {
  name: string;
  /** null for name-level checks of a name the registry does not know. */
  version: string | null;
  rule: RuleId;
  outcome: FindingOutcome;
  /** What the finding does to the verdict (for `unavailable`, the policy's `onUnavailable`). */
  effect: Decision;
  /** Whole-package problem (typosquat, blocklisted name, popularity) vs. this version only. */
  scope: 'package' | 'version';
  message: string;
  /** How to get past it. */
  hint: string;
  threshold?: number | string;
  observed?: number | string | null;
  /** Typosquatting: the popular package this name looks like. */
  target?: string;
  /** Rule-specific supporting data (why the tag lookup matters, which list entry matched, ...). */
  evidence?: Record<string, unknown>;
  /** For unavailable findings: which source failed. */
  source?: string;
}

/** A note that is not a finding but must not go unseen (expired allow entries, skipped checks). */
export interface Notice {
  name: string;
  version: string | null;
  kind: 'expired-allow' | 'expired-block' | 'allowed-by-list' | 'unknown-package';
  message: string;
}

export interface Verdict {
  name: string;
  version: string | null;
  decision: Decision;
  findings: Finding[];
  notices: Notice[];
  /** The allow entry that bypassed the guardrails, if any. */
  allowedBy?: string;
}

/** One popular package: name and downloads over the last month. */
export interface PopularPackage {
  name: string;
  monthlyDownloads: number;
}

/** Read-only view of the embedded popular-package list (built by `createPopularIndex`). */
export interface PopularIndex {
  /** Date the list was generated (YYYY-MM-DD). */
  readonly asOf: string;
  /** Monthly downloads of a popular package, or undefined when the name is not on the list. */
  monthlyDownloads(name: string): number | undefined;
}

/** What every guardrail receives. Guardrails are pure functions of this. */
export interface GuardrailContext {
  name: string;
  /** null when no version is known (a name the registry does not know). */
  version: string | null;
  policy: Policy;
  facts: VersionFacts;
  now: Date;
  popular: PopularIndex;
}
