// Fetches exactly the facts a policy needs for a set of name@version refs, through the sources.
// Everything uncertain becomes an `unavailable` fact naming the source; nothing here decides.
import { declaresBundles } from '../policy/declares-bundles.js';
import { parsePublishTime } from '../policy/format.js';
import { establishment, nameHistoryOf } from '../policy/name-history.js';
import { bypassesCoolingOff, previousVersion } from '../policy/security-fast-lane.js';
import { PREVIOUS_SAMPLE, previousStableVersions } from '../policy/suspicious-version.js';
import type {
  Advisory,
  Fact,
  Policy,
  PopularIndex,
  RepositoryTags,
  VersionFacts,
  WeeklyDownloads,
} from '../policy/types.js';
import { typosquattingNeedsHistory } from '../policy/typosquatting.js';
import type { VersionRecord } from '../sources/fact-cache.js';
import type { Manifest, ManifestResult, Packument, Sources } from '../sources/types.js';
import { loadRepositoryParser } from './load-repository-parser.js';
import { mapConcurrent } from './map-concurrent.js';

export interface PackageRef {
  name: string;
  /** null: the latest dist-tag. */
  version: string | null;
  /** Inside its bundler's tarball wherever the lockfile has it (see VersionFacts.bundled). */
  bundled?: boolean;
}

export interface FactNeeds {
  registry: boolean;
  /** Resolve the latest version of refs that name none, even when no guardrail needs the registry. */
  resolveLatest: boolean;
  times: boolean;
  downloads: boolean;
  tags: boolean;
  /** Advisories per pinned version (the vulnerabilities rule). */
  advisories: boolean;
}

export function factNeeds(policy: Policy): FactNeeds {
  const times = policy.coolingOffDays > 0 || policy.suspiciousVersion;
  return {
    times,
    tags: policy.suspiciousVersion,
    downloads: policy.minWeeklyDownloads > 0,
    advisories: policy.vulnerabilities !== undefined,
    registry: times,
    // `block: ["evil@*"]` can only match a version: a ref without one needs the latest resolved.
    // Likewise advisories: they concern versions.
    resolveLatest:
      policy.vulnerabilities !== undefined ||
      [...policy.allow, ...policy.block].some((e) => e.range !== undefined),
  };
}

/** What one run learns about the registry, to plan requests for the packages after. */
interface RegistryTraits {
  /** Whether the registry answers the abbreviated Accept header; undefined until known. */
  abbreviates?: boolean;
}

export interface GatheredFacts {
  /** The version evaluated (the latest when the ref named none and the registry answered). */
  version: string | null;
  facts: VersionFacts;
}

const DAY_MS = 24 * 3600 * 1000;

function registryUnavailable(source: string, reason: string): Fact<never> {
  return { status: 'unavailable', source, reason };
}

/** The tags fact for one manifest's repository (shared per repository by the tags source). */
export async function readRepositoryTags(
  sources: Sources,
  repositoryField: unknown,
): Promise<Fact<RepositoryTags>> {
  const repo = (await loadRepositoryParser())(repositoryField);
  if (repo.status !== 'github') return { status: 'unavailable', source: 'repository', reason: repo.reason };
  const tags = await sources.tags.getTags(repo.repo);
  if (tags.status === 'unavailable') return tags;
  return { status: 'ok', value: { repo: repo.repo, tags: tags.value } };
}

/** Publish-time fact for one version of a packument (full or abbreviated). */
export function publishedAtFact(
  packument: Packument,
  version: string,
): { fact: Fact<string | null>; upperBound: boolean } {
  const time = packument.time;
  if (time && Object.hasOwn(time, version)) {
    const raw = time[version];
    return { fact: { status: 'ok', value: typeof raw === 'string' ? raw : null }, upperBound: false };
  }
  if (!time && typeof packument.modified === 'string') {
    return { fact: { status: 'ok', value: packument.modified }, upperBound: true };
  }
  return { fact: { status: 'ok', value: null }, upperBound: false };
}

/**
 * The abbreviated document is enough when its `modified` proves every version older than the
 * cooling-off period (and the tag grace period): nothing was published inside the window.
 */
export function abbreviatedIsEnough(packument: Packument, policy: Policy, now: Date): boolean {
  if (packument.time) return true;
  const modified = typeof packument.modified === 'string' ? parsePublishTime(packument.modified) : null;
  if (modified === null) return false;
  const windowMs = Math.max(
    policy.coolingOffDays * DAY_MS,
    policy.suspiciousVersion ? policy.suspiciousVersionGraceHours * 3600000 : 0,
  );
  return now.getTime() - modified >= windowMs;
}

async function gatherRegistryFacts(
  name: string,
  refs: PackageRef[],
  ctx: {
    policy: Policy;
    sources: Sources;
    now: Date;
    needs: FactNeeds;
    registry: RegistryTraits;
    /** The name looks like a popular one: its history (from the full document) may clear it. */
    history: boolean;
  },
): Promise<GatheredFacts[]> {
  const { policy, sources, now, needs, history } = ctx;
  const base: VersionFacts = {};
  const wantRegistry =
    needs.registry || history || (needs.resolveLatest && refs.some((r) => r.version === null));
  if (!wantRegistry) return refs.map((ref) => ({ version: ref.version, facts: { ...base } }));
  const kept = await factsFromCache(name, refs, ctx);
  if (kept) return kept;

  // Tag checks need the repository, which abbreviated documents lack: when the registry serves
  // abbreviated documents, ask for the small per-version documents alongside the packument
  // instead of after it (one round trip instead of two).
  const manifests = new Map<string, Promise<ManifestResult>>();
  if (needs.tags && ctx.registry.abbreviates !== false && !name.startsWith('@types/')) {
    for (const ref of refs) {
      if (ref.version === null || manifests.has(ref.version)) continue;
      const pending = sources.registry.getManifest(name, ref.version);
      pending.catch(() => {}); // awaited (and its error surfaced) in tagsFor, or unused
      manifests.set(ref.version, pending);
    }
  }

  let result = await sources.registry.getPackument(name, { full: false });
  let timesMissing = false;
  if (result.status === 'ok') {
    ctx.registry.abbreviates = result.abbreviated;
    const doc = result.packument;
    // A pinned version the (possibly cached) document lacks may have been published since.
    const lacksPinned = refs.some((r) => r.version !== null && !Object.hasOwn(doc.versions, r.version));
    if ((needs.times && !abbreviatedIsEnough(doc, policy, now)) || lacksPinned || (history && !doc.time)) {
      result = await sources.registry.getPackument(name, { full: true, revalidate: lacksPinned });
    }
    // Asked for the full document and still no times (a cache ignoring Vary: Accept, say): the
    // publish times are unknown, which is never the same as old.
    if (
      result.status === 'ok' &&
      needs.times &&
      !result.packument.time &&
      !abbreviatedIsEnough(result.packument, policy, now)
    ) {
      timesMissing = true;
    }
  }
  if (result.status === 'not-found') {
    return refs.map((ref) => {
      const facts: VersionFacts = { ...base, packageKnown: { status: 'ok', value: false } };
      // A pinned version of a package the registry does not know is not on the registry: a finding.
      if (ref.version !== null) facts.versionKnown = { status: 'ok', value: false };
      return { version: ref.version, facts };
    });
  }
  if (result.status === 'unavailable') {
    const fact = registryUnavailable(result.source, result.reason);
    return refs.map((ref) => {
      const facts: VersionFacts = { ...base, packageKnown: fact };
      if (needs.times) facts.publishedAt = fact;
      if (needs.tags) facts.repositoryTags = fact;
      if (history) facts.nameHistory = fact;
      return { version: ref.version, facts };
    });
  }
  const packument = result.packument;
  const knownVersions = Object.keys(packument.versions ?? {});
  if (history) base.nameHistory = nameHistoryFact(name, packument, sources.registry.url);
  return Promise.all(
    refs.map(async (ref): Promise<GatheredFacts> => {
      const version = ref.version ?? packument['dist-tags']?.latest ?? null;
      const facts: VersionFacts = { ...base, packageKnown: { status: 'ok', value: true }, knownVersions };
      if (version === null) {
        facts.publishedAt = registryUnavailable('registry', `${name} has no latest dist-tag`);
        return { version, facts };
      }
      if (!Object.hasOwn(packument.versions, version)) {
        // The document was revalidated above when it lacked a pinned version: this is the
        // registry's answer, not a stale cache.
        facts.versionKnown = { status: 'ok', value: false };
        return { version, facts };
      }
      facts.versionKnown = { status: 'ok', value: true };
      if (needs.times && timesMissing) {
        facts.publishedAt = registryUnavailable(
          'registry',
          `${sources.registry.url} returned ${name} without publish times, although the full document was asked for`,
        );
      } else if (needs.times) {
        const { fact, upperBound } = publishedAtFact(packument, version);
        facts.publishedAt = fact;
        if (upperBound) facts.publishedAtIsUpperBound = true;
      }
      const record: VersionRecord = {};
      const manifest: Manifest | undefined = packument.versions[version];
      const published = packument.time?.[version];
      if (typeof published === 'string') record.publishedAt = published;
      if (typeof manifest?.dist?.integrity === 'string') record.integrity = manifest.dist.integrity;
      // A version that bundles nothing needs no tarball read for what it bundles, now or in a
      // later run (judge-lockfile-bundles.ts); one that does has its list kept once read.
      if (manifest && !declaresBundles(manifest)) record.bundled = [];
      const nameHistory = base.nameHistory;
      if (nameHistory?.status === 'ok' && establishment(nameHistory.value, now).established)
        record.nameHistory = nameHistory.value;
      if (needs.tags) {
        const repository = await repositoryFor(name, version, packument, sources, manifests.get(version));
        if ('unavailable' in repository) facts.repositoryTags = repository.unavailable;
        else {
          record.repository = repository.value ?? null;
          record.previousVersions = previousStableVersions(knownVersions, version, PREVIOUS_SAMPLE);
          facts.repositoryTags = await readRepositoryTags(sources, repository.value);
        }
      }
      if (Object.keys(record).length > 0) sources.registry.facts?.put(name, version, record);
      return { version, facts };
    }),
  );
}

/** The history fact of a flagged name: unavailable when the document carries no publish times. */
export function nameHistoryFact(name: string, packument: Packument, registryUrl: string) {
  const value = nameHistoryOf(packument);
  return value
    ? ({ status: 'ok', value } as const)
    : registryUnavailable('registry', `${registryUrl} returned ${name} without publish times`);
}

/**
 * Facts for refs whose every needed fact was kept from an earlier run: a version's publish time,
 * repository and earlier versions do not change, so no document is asked for. Undefined when any
 * ref lacks one (or names no version: the latest moves), and the document is read as usual.
 */
async function factsFromCache(
  name: string,
  refs: PackageRef[],
  ctx: { policy: Policy; sources: Sources; needs: FactNeeds; now: Date; history: boolean },
): Promise<GatheredFacts[] | undefined> {
  const { sources, needs } = ctx;
  // A young version may be a security fix: the fast lane compares it with the version before it,
  // which only the document lists.
  const fastLane = needs.advisories && bypassesCoolingOff(ctx.policy) && ctx.policy.coolingOffDays > 0;
  const store = sources.registry.facts;
  if (!store || refs.some((r) => r.version === null)) return undefined;
  const records: VersionRecord[] = [];
  for (const ref of refs) {
    const record = await store.get(name, ref.version!);
    if (!record) return undefined;
    if (needs.times && record.publishedAt === undefined) return undefined;
    if (fastLane && isYoung(record.publishedAt, ctx.policy, ctx.now)) return undefined;
    // Only an established history is kept; a name not (yet) established reads its document.
    if (ctx.history && !(record.nameHistory && establishment(record.nameHistory, ctx.now).established))
      return undefined;
    if (needs.tags && (!Object.hasOwn(record, 'repository') || record.previousVersions === undefined))
      return undefined;
    records.push(record);
  }
  return Promise.all(
    refs.map(async (ref, i): Promise<GatheredFacts> => {
      const record = records[i]!;
      const facts: VersionFacts = { packageKnown: { status: 'ok', value: true } };
      if (ctx.history) facts.nameHistory = { status: 'ok', value: record.nameHistory! };
      if (needs.times) facts.publishedAt = { status: 'ok', value: record.publishedAt! };
      if (needs.tags) {
        facts.knownVersions = [ref.version!, ...record.previousVersions!];
        facts.repositoryTags = await readRepositoryTags(sources, record.repository ?? undefined);
      }
      return { version: ref.version, facts };
    }),
  );
}

/** Published inside the cooling-off window (or when unknown): the fast lane may apply. */
function isYoung(publishedAt: string | undefined, policy: Policy, now: Date): boolean {
  const t = publishedAt === undefined ? null : parsePublishTime(publishedAt);
  return t === null || now.getTime() - t < policy.coolingOffDays * DAY_MS;
}

/** The repository field of name@version: from the document, else from the per-version document. */
async function repositoryFor(
  name: string,
  version: string,
  packument: Packument,
  sources: Sources,
  prefetched: Promise<ManifestResult> | undefined,
): Promise<{ value: unknown } | { unavailable: Fact<never> }> {
  const manifest: Manifest | undefined = packument.versions[version];
  let repository = manifest?.repository ?? packument.repository;
  if (repository === undefined && !packument.time) {
    // Abbreviated documents carry no repository: the per-version document is small and has it.
    const m = await (prefetched ?? sources.registry.getManifest(name, version));
    if (m.status === 'unavailable') return { unavailable: registryUnavailable(m.source, m.reason) };
    if (m.status === 'ok') repository = m.manifest.repository;
  }
  return { value: repository };
}

/** How far the facts of a run are: packages complete, and per kind of lookup, in any order. */
export interface FactProgress {
  /** Refs whose facts are all in. */
  done: number;
  total: number;
  /** Per lookup (`registry`, `downloads`): refs whose facts of that kind are in. */
  lookups: { name: string; done: number; total: number }[];
}

/** Names per downloads lookup handed to the source: each answer moves the progress. */
const DOWNLOADS_CHUNK = 128;
const SCOPED_DOWNLOADS_CHUNK = 32;

/** Facts for every ref, in the same order. */
export async function gatherFacts(
  refs: readonly PackageRef[],
  ctx: {
    policy: Policy;
    sources: Sources;
    now: Date;
    /** The embedded list: names the typosquatting guardrail flags get their history read. */
    popular: PopularIndex;
    concurrency?: number;
    onProgress?: (progress: FactProgress) => void;
  },
): Promise<GatheredFacts[]> {
  const needs = factNeeds(ctx.policy);
  const byName = new Map<string, number[]>();
  refs.forEach((ref, i) => {
    const list = byName.get(ref.name);
    if (list) list.push(i);
    else byName.set(ref.name, [i]);
  });
  const names = [...byName.keys()];

  // Progress counts refs per lookup; a ref is done when every lookup it needs is in. The
  // lookups run side by side and finish in any order: no package waits for another's.
  const lookups = [{ name: 'registry', done: 0, total: refs.length }];
  if (needs.downloads) lookups.push({ name: 'downloads', done: 0, total: refs.length });
  const advisoryLookup = lookups.length;
  if (needs.advisories) lookups.push({ name: 'advisories', done: 0, total: refs.length });
  const pending = new Map(names.map((n) => [n, lookups.length]));
  let done = 0;
  const report = () =>
    ctx.onProgress?.({ done, total: refs.length, lookups: lookups.map((l) => ({ ...l })) });
  const arrived = (lookup: number, batch: readonly string[]) => {
    for (const name of batch) {
      const count = byName.get(name)!.length;
      lookups[lookup]!.done += count;
      const left = pending.get(name)! - 1;
      pending.set(name, left);
      if (left === 0) done += count;
    }
    report();
  };
  report();

  // The downloads lookups run alongside the registry work, in chunks so that each answer counts.
  const downloads = new Map<string, Fact<WeeklyDownloads>>();
  const downloadsDone = needs.downloads
    ? Promise.all(
        chunkNames(names).map(async (chunk) => {
          const answers = await ctx.sources.downloads.getWeeklyDownloads(chunk, {
            keepIfAtLeast: 2 * ctx.policy.minWeeklyDownloads,
          });
          for (const name of chunk)
            downloads.set(
              name,
              answers.get(name) ?? registryUnavailable('downloads', `no answer for ${name}`),
            );
          arrived(1, chunk);
        }),
      )
    : Promise.resolve([]);
  // Advisories for the pinned versions, alongside the rest; the versions only the registry's
  // answer names (the latest, the predecessors of young versions) are asked once it is in.
  const advisories = new Map<string, Fact<Advisory[]>>();
  const advisoriesDone = needs.advisories
    ? Promise.all(
        chunkNames(names, ADVISORY_CHUNK).map(async (chunk) => {
          const wanted = new Map(
            chunk.map((name) => [
              name,
              byName
                .get(name)!
                .map((i) => refs[i]!.version)
                .filter((v): v is string => v !== null),
            ]),
          );
          const answers = await askAdvisories(ctx.sources, wanted);
          for (const [name, fact] of answers) advisories.set(name, fact);
          arrived(advisoryLookup, chunk);
        }),
      )
    : Promise.resolve([]);
  const out = new Array<GatheredFacts>(refs.length);
  const registry: RegistryTraits = {};
  const registryDone = mapConcurrent(names, ctx.concurrency ?? 32, async (name) => {
    const indexes = byName.get(name)!;
    const gathered = await gatherRegistryFacts(
      name,
      indexes.map((i) => refs[i]!),
      { ...ctx, needs, registry, history: typosquattingNeedsHistory(ctx.policy, name, ctx.popular) },
    );
    indexes.forEach((i, k) => {
      out[i] = gathered[k]!;
    });
    arrived(0, [name]);
  });
  await Promise.all([registryDone, downloadsDone, advisoriesDone]);
  if (needs.downloads) {
    for (const [name, indexes] of byName) {
      for (const i of indexes) out[i]!.facts.weeklyDownloads = downloads.get(name)!;
    }
  }
  if (needs.advisories) {
    await askFollowUpAdvisories(refs, out, advisories, ctx);
    for (const [name, indexes] of byName) {
      for (const i of indexes) out[i]!.facts.advisories = advisories.get(name)!;
    }
  }
  return out;
}

/** Package names per advisory lookup handed to the source (each answer moves the progress). */
const ADVISORY_CHUNK = 250;

async function askAdvisories(
  sources: Sources,
  wanted: ReadonlyMap<string, readonly string[]>,
): Promise<Map<string, Fact<Advisory[]>>> {
  if (!sources.advisories) {
    const none: Fact<Advisory[]> = {
      status: 'unavailable',
      source: 'advisories',
      reason: 'no advisory source is configured',
    };
    return new Map([...wanted.keys()].map((name) => [name, none]));
  }
  return sources.advisories.getAdvisories(wanted);
}

/**
 * The second, small advisory lookup: versions the first could not name, the latest a ref resolved
 * to and, for the fast lane, the version before each young one. Merged into `advisories`; a
 * failure here keeps the first answer (the fast lane then does not apply).
 */
async function askFollowUpAdvisories(
  refs: readonly PackageRef[],
  out: readonly GatheredFacts[],
  advisories: Map<string, Fact<Advisory[]>>,
  ctx: { policy: Policy; sources: Sources; now: Date },
): Promise<void> {
  const fastLane = bypassesCoolingOff(ctx.policy) && ctx.policy.coolingOffDays > 0;
  const wanted = new Map<string, string[]>();
  const add = (name: string, version: string) => {
    const list = wanted.get(name) ?? [];
    if (!list.includes(version)) list.push(version);
    wanted.set(name, list);
  };
  refs.forEach((ref, i) => {
    const { version, facts } = out[i]!;
    if (version === null || advisories.get(ref.name)?.status !== 'ok') return;
    if (ref.version === null) add(ref.name, version);
    if (!fastLane || facts.publishedAt?.status !== 'ok' || facts.publishedAtIsUpperBound) return;
    if (!isYoung(facts.publishedAt.value ?? undefined, ctx.policy, ctx.now)) return;
    const previous = previousVersion(version, facts.knownVersions);
    if (previous !== undefined) add(ref.name, previous);
  });
  if (wanted.size === 0) return;
  const answers = await askAdvisories(ctx.sources, wanted);
  for (const [name, fact] of answers) {
    const first = advisories.get(name);
    if (fact.status !== 'ok' || first?.status !== 'ok') continue;
    const ids = new Set(first.value.map((a) => a.id));
    advisories.set(name, {
      status: 'ok',
      value: [...first.value, ...fact.value.filter((a) => !ids.has(a.id))],
    });
  }
}

/** Unscoped names in chunks of one bulk request; scoped names (asked one by one) in smaller ones. */
function chunkNames(names: readonly string[], size?: number): string[][] {
  const unscoped = names.filter((n) => !n.startsWith('@')).sort();
  const scoped = names.filter((n) => n.startsWith('@')).sort();
  const chunks: string[][] = [];
  for (let i = 0; i < unscoped.length; i += size ?? DOWNLOADS_CHUNK)
    chunks.push(unscoped.slice(i, i + (size ?? DOWNLOADS_CHUNK)));
  for (let i = 0; i < scoped.length; i += size ?? SCOPED_DOWNLOADS_CHUNK)
    chunks.push(scoped.slice(i, i + (size ?? SCOPED_DOWNLOADS_CHUNK)));
  return chunks;
}
