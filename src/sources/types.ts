// The facts behind the guardrails, each behind a small interface so that the engine, the
// CLI, the Action and the proxy can share one implementation and tests can swap in fakes.
import type { KnownNames } from '../policy/known-names.js';
import type { Advisory, Fact, PopularPackage, WeeklyDownloads } from '../policy/types.js';
import type { VersionRecord } from './fact-cache.js';

/** The parts of a version manifest lockwarden reads. Registries may omit any of them. */
export interface Manifest {
  name?: string;
  version?: string;
  repository?: unknown;
  dist?: { tarball?: string; integrity?: string; shasum?: string; [k: string]: unknown };
  deprecated?: string;
  [k: string]: unknown;
}

export interface Packument {
  name: string;
  'dist-tags'?: Record<string, string>;
  versions: Record<string, Manifest>;
  /** Full documents only: version -> publish timestamp (plus `created`/`modified` on some registries). */
  time?: Record<string, string>;
  /** Abbreviated documents only: last modification of the whole document. */
  modified?: string;
  repository?: unknown;
  [k: string]: unknown;
}

export type PackumentResult =
  | {
      status: 'ok';
      packument: Packument;
      /** true when the document had no `time` map (abbreviated). */
      abbreviated: boolean;
      fromCache: 'fresh' | 'revalidated' | 'stale' | false;
    }
  | { status: 'not-found' }
  | { status: 'unavailable'; source: string; reason: string };

export type ManifestResult =
  | { status: 'ok'; manifest: Manifest }
  | { status: 'not-found' }
  | { status: 'unavailable'; source: string; reason: string };

export type TarballResult =
  | { status: 'ok'; bytes: Buffer }
  | { status: 'not-found' }
  | { status: 'unavailable'; source: string; reason: string };

export interface RegistrySource {
  /** Base URL of the upstream registry, with a trailing slash. */
  readonly url: string;
  /**
   * A packument. `full: false` asks for the abbreviated document (small, no per-version times);
   * registries that ignore the Accept header return the full one, and `abbreviated` says which came.
   */
  getPackument(name: string, opts: { full: boolean; revalidate?: boolean }): Promise<PackumentResult>;
  /** The per-version document `/<name>/<version>` (repository data without the whole packument). */
  getManifest(name: string, version: string): Promise<ManifestResult>;
  /**
   * The packed tarball of name@version as bytes, from this registry only (a `dist.tarball` on
   * another host is fetched at this registry's own tarball path), checked against `integrity`
   * when given, at most `maxBytes`. Never unpacked or run here. Optional: fakes may lack it.
   */
  getTarball?(
    name: string,
    version: string,
    opts: { tarballUrl?: string; integrity?: string; maxBytes: number },
  ): Promise<TarballResult>;
  /**
   * Facts of published versions that never change (publish time, repository, integrity), kept
   * across runs; absent without a disk cache.
   */
  readonly facts?: {
    get(name: string, version: string): Promise<VersionRecord | undefined>;
    put(name: string, version: string, record: VersionRecord): void;
  };
  /**
   * `GET <registry>/-/ping` with the registry's credentials: whether it answers at all, and how
   * (a 401 or 403 says the credentials are refused; a registry without the endpoint answers 404).
   * Optional: fakes may lack it.
   */
  ping?(): Promise<{ ok: true; statusCode: number; ms: number } | { ok: false; reason: string }>;
  /** Counters for benchmarks and reports. */
  stats(): SourceStats;
}

export interface DownloadsSource {
  readonly url: string;
  /** Weekly downloads for many names; batches unscoped names, asks scoped names one by one. */
  getWeeklyDownloads(
    names: readonly string[],
    opts?: {
      /**
       * A kept count at least this high is used for up to a week instead of half a day: a package
       * with twice the floor does not fall under it within days, and asking again costs a request
       * per scoped name.
       */
      keepIfAtLeast?: number;
    },
  ): Promise<Map<string, Fact<WeeklyDownloads>>>;
  /**
   * Set while the API is not asked (a lookup got no answer; lookups fall back at once until one
   * asked in the background is answered), with that lookup's failure.
   */
  down?(): { reason: string } | undefined;
  stats(): SourceStats;
}

export interface TagsSource {
  /** Every tag and release name of a GitHub repository `owner/repo`. Cached per repository per run. */
  getTags(repo: string): Promise<Fact<string[]>>;
  stats(): SourceStats;
}

export interface AdvisorySource {
  /** Names the source in findings and outage groups: `registry advisories` or `OSV`. */
  readonly source: string;
  /**
   * Advisories per package name that concern at least one of the given versions (a source may
   * return more: OSV answers per package). Names the source has nothing on get an empty list.
   */
  getAdvisories(versions: ReadonlyMap<string, readonly string[]>): Promise<Map<string, Fact<Advisory[]>>>;
  stats(): SourceStats;
}

export interface PopularList {
  /** Date the list was generated (YYYY-MM-DD). */
  asOf: string;
  /**
   * Objects, or the data file's `[name, monthly]` pairs as parsed (readPopularList: no object per
   * entry for a list every `lockwarden check` reads).
   */
  packages: readonly PopularPackage[] | readonly (readonly [string, number])[];
  /** The wider list of established names, decoded on first use (see known-names.ts). */
  known?: () => KnownNames;
}

export interface SourceStats {
  requests: number;
  bytes: number;
  cacheHits: number;
  errors: number;
}

export interface Sources {
  registry: RegistrySource;
  /**
   * Another registry (a scope's, as a package manager's own configuration names it), through the
   * same HTTP client and disk cache, `authorization` sent to its host only; its requests count in
   * `registry.stats()`; `credentialsFrom` says where to fix them on a 401. Absent on fakes.
   */
  registryAt?(url: string, authorization?: string, credentialsFrom?: string): RegistrySource;
  downloads: DownloadsSource;
  tags: TagsSource;
  /** Advisories for the vulnerabilities rule; absent: the rule's facts are unavailable. */
  advisories?: AdvisorySource;
  popular: PopularList;
  /** Each upstream origin asked so far and its circuit breaker's state (for /health). */
  health?(): UpstreamHealth[];
}

export interface UpstreamHealth {
  /** `registry`, `downloads API`, `GitHub API`, ... */
  source: string;
  origin: string;
  /**
   * `open`: not asked until the cool-down ends (or, for the downloads API, not waited for until a
   * lookup in the background is answered); `half-open`: one probe decides.
   */
  state: 'closed' | 'open' | 'half-open';
  /** Failed attempts in a row. */
  failures: number;
  lastFailure?: string;
}
