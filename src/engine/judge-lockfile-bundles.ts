// What the registry entries of lockfiles bundle. pnpm, yarn and bun lockfiles do not list bundled
// packages; npm's do (`inBundle` entries, judged like any other), but a pull request can edit that
// list while `npm ci` installs the tarball's own bundle. So the bundler's tarball is read for
// every format, as the proxy (server/bundle-check.ts) and the update (judge-bundles.ts) read it. Each
// bundled name@version is judged by the same engine as every entry (checkPackages, as the
// bundler's own copy) and its findings become the bundler's (bundleFinding), at the bundler's
// lockfile lines. What a version bundles never changes (a registry never republishes a version),
// so it is kept in the fact cache: a warm audit reads no document or tarball for it.

import type { LockfileEntry } from '../lockfile/lockfile-inventory.js';
import { strongestDecision } from '../policy/evaluate.js';
import type { Finding, Policy, Verdict } from '../policy/types.js';
import { unavailableFinding } from '../policy/unavailable-finding.js';
import { createSemaphore } from '../sources/semaphore.js';
import type { Manifest, RegistrySource } from '../sources/types.js';
import {
  type BundledPackage,
  type BundleLimits,
  bundleListProblem,
  declaresBundles,
  judgeBundledVerdicts,
  readBundledPackages,
} from './bundled-packages.js';
import { type CheckContext, checkPackages } from './check-packages.js';
import { mapConcurrent } from './map-concurrent.js';

/** Runs one tarball read when a slot is free. */
export type TarballSlot = <T>(read: () => Promise<T>) => Promise<T>;

export type LockfileBundleContext = CheckContext &
  BundleLimits & {
    maxTarballBytes?: number;
    /**
     * Where tarball reads wait for a slot: the service passes its service-wide limiter (shared with
     * the proxy's bundle check), so concurrent requests cannot hold more tarballs in memory than
     * it allows. Default: a limiter of TARBALL_CONCURRENCY for this call.
     */
    tarballSlot?: TarballSlot;
    /**
     * Most bundler tarballs this call reads (those not known from the fact cache); the bundlers
     * beyond it get an `unavailable` finding (onUnavailable), never a pass. Default: no cap.
     */
    maxTarballReads?: number;
  };

/** What a bundler carries, or why that could not be had. */
type Contents = { packages: BundledPackage[] } | { unavailable: { source: string; reason: string } };

/** Bundler versions looked up at a time (each may be a document to fetch). */
const LOOKUP_CONCURRENCY = 8;
/** Bundler tarballs read at a time: each is held in memory whole (up to maxTarballBytes). */
const TARBALL_CONCURRENCY = 2;

/**
 * Whether the entry's tarball may carry bundled packages `audit` must read: any registry entry,
 * in every format, but a copy inside a bundle (judged with its bundler). Only its manifest says
 * whether it declares bundles, so an audit of such entries needs the registry. (The Action marks
 * these for the service's check API.)
 */
export function mayBundle(entry: LockfileEntry): boolean {
  return !entry.bundled;
}

/**
 * Adds to each entry's verdict (`verdicts[i]` judges `entries[i]`) what the policy says of the
 * packages its tarball bundles, in every lockfile format. A bundled name@version that is itself an
 * entry (npm's `inBundle` entries) has its own verdict at its own line, so only what the tarball
 * carries beyond the entries becomes the bundler's: an edited `inBundle` list hides nothing. An
 * entry already blocked needs nothing more; one whose bundle cannot be read gets an `unavailable`
 * finding (the policy's onUnavailable), never a pass.
 */
export function judgeLockfileBundles(
  verdicts: readonly Verdict[],
  entries: readonly LockfileEntry[],
  ctx: LockfileBundleContext,
): Promise<Verdict[]> {
  const judged = new Set(entries.map((e) => `${e.name}@${e.version}`));
  return judgeUnlistedBundles(verdicts, entries.map(mayBundle), ctx, judged);
}

/**
 * The same for verdicts whose `unlisted[i]` says the lockfile lists nothing `verdicts[i]` bundles
 * (the service's check API, told so by the Action: it sees names and versions only).
 */
export async function judgeUnlistedBundles(
  verdicts: readonly Verdict[],
  unlisted: readonly boolean[],
  ctx: LockfileBundleContext,
  /** Bundled name@version judged by verdicts of their own (entries of the lockfile): skipped. */
  judgedElsewhere: ReadonlySet<string> = new Set(),
): Promise<Verdict[]> {
  const bundlers = flaggedVersions(verdicts, unlisted);
  if (bundlers.size === 0) return [...verdicts];

  const registry = ctx.sources.registry;
  const readSlot = ctx.tarballSlot ?? createSemaphore(TARBALL_CONCURRENCY);
  let reads = 0;
  const read: Reader = {
    inSlot: (task) => readSlot(task),
    claim: () => {
      if (ctx.maxTarballReads !== undefined && reads >= ctx.maxTarballReads) return false;
      reads++;
      return true;
    },
    ...(ctx.maxTarballReads === undefined ? {} : { max: ctx.maxTarballReads }),
  };
  const contents = new Map<string, Contents>();
  await mapConcurrent([...bundlers], LOOKUP_CONCURRENCY, async ([key, b]) => {
    const outage = registryOutage(verdicts[b.indexes[0]!]!);
    const found = await contentsOf(registry, b, outage, read, ctx);
    contents.set(
      key,
      'packages' in found
        ? { packages: found.packages.filter((p) => !judgedElsewhere.has(`${p.name}@${p.version}`)) }
        : found,
    );
  });

  // Every bundled name@version at once, through the same fact gathering as the entries.
  const refs = new Map<string, BundledPackage>();
  for (const c of contents.values())
    if ('packages' in c) for (const p of c.packages) refs.set(`${p.name}@${p.version}`, p);
  const checked = await checkPackages(
    [...refs.values()].map((p) => ({ name: p.name, version: p.version, bundled: true })),
    {
      policy: ctx.policy,
      sources: ctx.sources,
      now: ctx.now,
      popular: ctx.popular,
      ...(ctx.concurrency === undefined ? {} : { concurrency: ctx.concurrency }),
    },
  );
  const verdictOf = new Map([...refs.keys()].map((key, i) => [key, checked[i]!]));

  const out = [...verdicts];
  for (const [key, b] of bundlers)
    addFindings(out, b.indexes, findingsFor(b, contents.get(key)!, verdictOf, ctx));
  return out;
}

/**
 * For a service that did not read what the flagged verdicts bundle (it predates the `bundles`
 * flag): an `unavailable` finding on each flagged version not already blocked whose manifest
 * declares bundles (from the fact cache or the registry's document, read through `registry`),
 * and on each whose document cannot be had, since whether it bundles is then unknown. Versions
 * known to bundle nothing get none: most entries bundle nothing, and a finding on every entry of a
 * lockfile would bury the ones that matter.
 */
export async function markBundlesUnread(
  verdicts: readonly Verdict[],
  unlisted: readonly boolean[],
  registry: RegistrySource | undefined,
  policy: Pick<Policy, 'onUnavailable'>,
  fact: { source: string; reason: string; hint: string },
): Promise<Verdict[]> {
  const bundlers = flaggedVersions(verdicts, unlisted);
  const out = [...verdicts];
  await mapConcurrent([...bundlers.values()], LOOKUP_CONCURRENCY, async (b) => {
    let unknown: string | undefined;
    if (registry) {
      const kept = (await registry.facts?.get(b.name, b.version))?.bundled;
      if (kept !== undefined) {
        if (kept.length === 0) return;
      } else {
        const found = await manifestOf(registry, b.name, b.version);
        if (found === undefined) return;
        if ('manifest' in found) {
          if (!declaresBundles(found.manifest)) return;
        } else unknown = found.unavailable.reason;
      }
    } else unknown = 'no registry to ask whether it declares bundled dependencies';
    const finding = unavailableFinding(
      { name: b.name, version: b.version, policy },
      'not-on-registry',
      'version',
      fact,
      'bundled packages',
      unknown === undefined ? '' : ` (and whether it bundles any is unknown: ${unknown})`,
    );
    addFindings(out, b.indexes, [{ ...finding, hint: fact.hint }]);
  });
  return out;
}

/** The flagged name@versions not already blocked, with the indexes of their verdicts. */
function flaggedVersions(
  verdicts: readonly Verdict[],
  unlisted: readonly boolean[],
): Map<string, { name: string; version: string; indexes: number[] }> {
  const bundlers = new Map<string, { name: string; version: string; indexes: number[] }>();
  verdicts.forEach(({ name, version, decision }, i) => {
    if (!unlisted[i] || version === null || decision === 'block') return;
    const key = `${name}@${version}`;
    const known = bundlers.get(key);
    if (known) known.indexes.push(i);
    else bundlers.set(key, { name, version, indexes: [i] });
  });
  return bundlers;
}

/** Adds `found` to the verdicts at `indexes`, deciding them again. */
function addFindings(out: Verdict[], indexes: readonly number[], found: readonly Finding[]): void {
  if (found.length === 0) return;
  for (const i of indexes) {
    const verdict = out[i]!;
    const findings = [...verdict.findings, ...found];
    out[i] = { ...verdict, findings, decision: strongestDecision(findings) };
  }
}

/** The bundler's findings for what it bundles. */
function findingsFor(
  bundler: { name: string; version: string },
  contents: Contents,
  verdictOf: ReadonlyMap<string, Verdict>,
  ctx: LockfileBundleContext,
): Finding[] {
  if ('unavailable' in contents) return [bundleUnavailable(bundler, contents.unavailable, ctx)];
  if (contents.packages.length === 0) return [];
  const judged = judgeBundledVerdicts(
    bundler,
    contents.packages,
    contents.packages.map((p) => verdictOf.get(`${p.name}@${p.version}`)!),
  );
  if (judged.kind === 'blocked') return judged.findings;
  if (judged.kind === 'ok') return judged.alerts;
  // Not reached with verdicts (only a fact that could not be had is a string), kept for the type.
  return [bundleUnavailable(bundler, { source: 'registry', reason: judged.message }, ctx)];
}

/**
 * The finding for a bundle that could not be read. Filed under `not-on-registry`: that rule is
 * the one that vouches for every installed version being one the registry lists, and the one
 * that lets a bundled copy through because its bundler's tarball carries it (VersionFacts.bundled);
 * unread, that tarball vouches for nothing. Not lifted by allowing the bundler, as the proxy
 * serves no bundler whose tarball it could not judge: only the source coming back clears it.
 */
function bundleUnavailable(
  bundler: { name: string; version: string },
  fact: { source: string; reason: string },
  ctx: LockfileBundleContext,
): Finding {
  const finding = unavailableFinding(
    { name: bundler.name, version: bundler.version, policy: ctx.policy },
    'not-on-registry',
    'version',
    fact,
    'bundled packages',
  );
  return { ...finding, hint: `retry when ${fact.source} is reachable to judge what it bundles` };
}

/**
 * The registry outage the entry's own verdict already reports (its document could not be had):
 * asking again for the same document would only wait for the same failure.
 */
function registryOutage(verdict: Verdict): { source: string; reason: string } | undefined {
  for (const f of verdict.findings) {
    const reason = f.evidence?.reason;
    if (f.outcome === 'unavailable' && f.source === 'registry' && typeof reason === 'string')
      return { source: 'registry', reason };
  }
  return undefined;
}

/** How one call reads tarballs: in the limiter's slots, at most `max` of them. */
interface Reader {
  inSlot: TarballSlot;
  /** Takes one of the call's tarball reads; false when all have been taken. */
  claim: () => boolean;
  max?: number;
}

/**
 * What name@version bundles: from the fact cache, else from its manifest (nothing when it declares
 * no bundles) and then its tarball, and kept for later runs once known in full from bytes the
 * document's digest vouches for.
 */
async function contentsOf(
  registry: RegistrySource,
  bundler: { name: string; version: string },
  outage: { source: string; reason: string } | undefined,
  reader: Reader,
  limits: BundleLimits & { maxTarballBytes?: number },
): Promise<Contents> {
  const { name, version } = bundler;
  const kept = (await registry.facts?.get(name, version))?.bundled;
  if (kept !== undefined) return { packages: kept };
  if (outage) return { unavailable: outage };
  const found = await manifestOf(registry, name, version);
  if (found === undefined) return { packages: [] };
  if ('unavailable' in found) return found;
  const { manifest } = found;
  if (!declaresBundles(manifest)) {
    registry.facts?.put(name, version, { bundled: [] });
    return { packages: [] };
  }
  if (!reader.claim())
    return {
      unavailable: {
        source: 'registry',
        reason: `one check reads the tarballs of at most ${reader.max} bundlers not read before, and ${name}@${version} is beyond that`,
      },
    };
  let list: Awaited<ReturnType<typeof readBundledPackages>>;
  try {
    list = await reader.inSlot(() => readBundledPackages(registry, name, version, manifest, limits));
  } catch (err) {
    return {
      unavailable: {
        source: 'registry',
        reason: `could not read the tarball of ${name}@${version}: ${(err as Error).message}`,
      },
    };
  }
  const problem = bundleListProblem(bundler, list, limits.maxBundled);
  if (problem !== undefined) return { unavailable: { source: 'registry', reason: problem } };
  // A very long list (over the fact cache's line limit) is not kept, and is read again next run;
  // nor is one read from bytes no published digest vouches for (the next download may differ).
  if (!list.unverified) registry.facts?.put(name, version, { bundled: list.packages });
  return { packages: list.packages };
}

/**
 * name@version's manifest from its document; undefined when the registry has no such version (the
 * not-on-registry rule's finding, when the policy reads the registry: there is no tarball to read).
 */
async function manifestOf(
  registry: RegistrySource,
  name: string,
  version: string,
): Promise<{ manifest: Manifest } | { unavailable: { source: string; reason: string } } | undefined> {
  let doc = await registry.getPackument(name, { full: false });
  // A kept document may predate the version: ask the registry before saying it is not there.
  if (doc.status === 'ok' && !Object.hasOwn(doc.packument.versions, version))
    doc = await registry.getPackument(name, { full: false, revalidate: true });
  if (doc.status === 'unavailable') return { unavailable: { source: doc.source, reason: doc.reason } };
  if (doc.status === 'not-found' || !Object.hasOwn(doc.packument.versions, version)) return undefined;
  const manifest = doc.packument.versions[version];
  return manifest ? { manifest } : undefined;
}
