// The proxy's entry point: one packument, every version, through the same evaluateVersion as the
// CLI. Facts shared by all versions (downloads, tags of one repository) are fetched once.
import { evaluatePackageLevel, evaluateVersion } from '../policy/evaluate.js';
import type { RepositoryRef } from '../policy/repository.js';
import type {
  Advisory,
  Decision,
  Fact,
  Finding,
  Policy,
  PopularIndex,
  RepositoryTags,
  Verdict,
  VersionFacts,
} from '../policy/types.js';
import { typosquattingNeedsHistory } from '../policy/typosquatting.js';
import { manifestField } from '../sources/parse-registry-document.js';
import type { Packument, Sources } from '../sources/types.js';
import { factNeeds, nameHistoryFact, publishedAtFact } from './gather-facts.js';
import { loadRepositoryParser } from './load-repository-parser.js';
import { mapConcurrent } from './map-concurrent.js';

/**
 * Distinct GitHub repositories whose tags one packument may cause to be fetched. Real packages name
 * one or two over their history; a hostile document naming thousands must not turn one request
 * into thousands of API calls.
 */
export const MAX_TAG_REPOSITORIES_PER_PACKUMENT = 5;
const TAG_LOOKUP_CONCURRENCY = 3;

export interface PackumentEvaluation {
  /** Name-level findings: typosquatting, popularity (and their unavailable variants). */
  packageFindings: Finding[];
  /**
   * The verdict for the package as a whole (no version). Its findings also apply to every version,
   * but an allow entry with a range can lift them for some versions: a `block` here refuses the
   * package only when no version is left.
   */
  packageVerdict: Verdict;
  packageDecision: Decision;
  /** Every version key of the packument -> its verdict. */
  versions: Map<string, Verdict>;
}

export interface PackumentContext {
  policy: Policy;
  sources: Sources;
  now: Date;
  popular: PopularIndex;
  /**
   * The name the client asked for. Every guardrail judges this name, never the document's own
   * `name`, which is upstream data; defaults to `packument.name`.
   */
  name?: string;
}

export async function evaluatePackument(
  packument: Packument,
  ctx: PackumentContext,
): Promise<PackumentEvaluation> {
  const { policy, sources, now, popular } = ctx;
  const name = ctx.name ?? packument.name;
  const needs = factNeeds(policy);
  const base: VersionFacts = { packageKnown: { status: 'ok', value: true } };
  if (needs.downloads) {
    const dl = await sources.downloads.getWeeklyDownloads([name], {
      keepIfAtLeast: 2 * policy.minWeeklyDownloads,
    });
    base.weeklyDownloads = dl.get(name) ?? {
      status: 'unavailable',
      source: 'downloads',
      reason: `no answer for ${name}`,
    };
  }
  const versionKeys = Object.keys(packument.versions ?? {});
  base.knownVersions = versionKeys;
  // Every version at once: the proxy hides each affected one, so clients resolve to what is left.
  if (needs.advisories) base.advisories = await advisoriesOf(name, versionKeys, sources);
  if (typosquattingNeedsHistory(policy, name, popular)) {
    // As in the CLI: a flagged name's history can clear it. An abbreviated document has no
    // publish times, so the full one is read (one more request, for flagged names only).
    let full = packument;
    if (!packument.time) {
      const result = await sources.registry.getPackument(name, { full: true });
      if (result.status === 'ok') full = result.packument;
    }
    base.nameHistory = nameHistoryFact(name, full, sources.registry.url);
  }

  const tagsByVersion = needs.tags
    ? await readTagsPerVersion(packument, versionKeys, sources)
    : new Map<string, Fact<RepositoryTags>>();

  const packageCtx = { name, version: null, policy, facts: base, now, popular };
  const packageFindings = evaluatePackageLevel(packageCtx);
  const packageVerdict = evaluateVersion(packageCtx, packageFindings);

  const versions = new Map<string, Verdict>();
  for (const version of versionKeys) {
    const facts: VersionFacts = { ...base };
    if (needs.times) {
      const { fact, upperBound } = publishedAtFact(packument, version);
      facts.publishedAt = fact;
      if (upperBound) facts.publishedAtIsUpperBound = true;
    }
    const tags = tagsByVersion.get(version);
    if (tags) facts.repositoryTags = tags;
    versions.set(version, evaluateVersion({ name, version, policy, facts, now, popular }, packageFindings));
  }
  return { packageFindings, packageVerdict, packageDecision: packageVerdict.decision, versions };
}

/** The advisories fact of one package, for all of its versions. */
async function advisoriesOf(name: string, versions: string[], sources: Sources): Promise<Fact<Advisory[]>> {
  if (!sources.advisories)
    return { status: 'unavailable', source: 'advisories', reason: 'no advisory source is configured' };
  const answers = await sources.advisories.getAdvisories(new Map([[name, versions]]));
  return (
    answers.get(name) ?? {
      status: 'unavailable',
      source: sources.advisories.source,
      reason: `no answer for ${name}`,
    }
  );
}

/**
 * The repository-tags fact of every version: one lookup per distinct GitHub repository (newest
 * versions first, at most MAX_TAG_REPOSITORIES_PER_PACKUMENT of them), a few at a time.
 */
async function readTagsPerVersion(
  packument: Packument,
  versionKeys: readonly string[],
  sources: Sources,
): Promise<Map<string, Fact<RepositoryTags>>> {
  const parsedByField = new Map<string, RepositoryRef>();
  const repoOf = new Map<string, RepositoryRef>();
  const parseRepository = await loadRepositoryParser();
  for (const version of versionKeys) {
    const field = manifestField(packument, version, 'repository') ?? packument.repository;
    const key = JSON.stringify(field ?? null) ?? 'null';
    let parsed = parsedByField.get(key);
    if (!parsed) {
      parsed = parseRepository(field);
      parsedByField.set(key, parsed);
    }
    repoOf.set(version, parsed);
  }
  const looked = new Map<string, Fact<RepositoryTags>>();
  const wanted: string[] = [];
  let tooMany = 0;
  // Registries list versions oldest first; the newest ones are what clients install.
  for (const version of [...versionKeys].reverse()) {
    const ref = repoOf.get(version)!;
    if (ref.status !== 'github' || looked.has(ref.repo) || wanted.includes(ref.repo)) continue;
    if (wanted.length < MAX_TAG_REPOSITORIES_PER_PACKUMENT) wanted.push(ref.repo);
    else tooMany++;
  }
  await mapConcurrent(wanted, TAG_LOOKUP_CONCURRENCY, async (repo) => {
    const tags = await sources.tags.getTags(repo);
    looked.set(
      repo,
      tags.status === 'unavailable' ? tags : { status: 'ok', value: { repo, tags: tags.value } },
    );
  });
  const out = new Map<string, Fact<RepositoryTags>>();
  for (const version of versionKeys) {
    const ref = repoOf.get(version)!;
    if (ref.status !== 'github') {
      out.set(version, { status: 'unavailable', source: 'repository', reason: ref.reason });
      continue;
    }
    out.set(
      version,
      looked.get(ref.repo) ?? {
        status: 'unavailable',
        source: 'repository',
        reason: `too many distinct repositories in this packument (${MAX_TAG_REPOSITORIES_PER_PACKUMENT + tooMany}; tags are looked up for ${MAX_TAG_REPOSITORIES_PER_PACKUMENT})`,
      },
    );
  }
  return out;
}

/** Name-level checks for a name the upstream does not know (`npm install expres`). */
export function evaluateUnknownPackage(
  name: string,
  ctx: Omit<PackumentContext, 'sources'> & { sources?: Sources },
): PackumentEvaluation {
  const facts: VersionFacts = { packageKnown: { status: 'ok', value: false } };
  const packageCtx = { name, version: null, policy: ctx.policy, facts, now: ctx.now, popular: ctx.popular };
  const packageFindings = evaluatePackageLevel(packageCtx);
  const packageVerdict = evaluateVersion(packageCtx, packageFindings);
  return { packageFindings, packageVerdict, packageDecision: packageVerdict.decision, versions: new Map() };
}
