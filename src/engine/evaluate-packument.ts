// The proxy's entry point: one packument, every version, through the same evaluateVersion as the
// CLI. Facts shared by all versions (downloads, tags of one repository) are fetched once.
import { evaluatePackageLevel, evaluateVersion } from '../policy/evaluate.js';
import type {
  Decision,
  Fact,
  Finding,
  Policy,
  PopularIndex,
  RepositoryTags,
  Verdict,
  VersionFacts,
} from '../policy/types.js';
import type { Packument, Sources } from '../sources/types.js';
import { factNeeds, publishedAtFact, readRepositoryTags } from './gather-facts.js';

export interface PackumentEvaluation {
  /** Name-level findings: typosquatting, popularity (and their unavailable variants). */
  packageFindings: Finding[];
  /** The verdict for the package as a whole; `block` means refuse the whole package (403). */
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
}

export async function evaluatePackument(
  packument: Packument,
  ctx: PackumentContext,
): Promise<PackumentEvaluation> {
  const { policy, sources, now, popular } = ctx;
  const name = packument.name;
  const needs = factNeeds(policy);
  const base: VersionFacts = { packageKnown: { status: 'ok', value: true } };
  if (needs.downloads) {
    const dl = await sources.downloads.getWeeklyDownloads([name]);
    base.weeklyDownloads = dl.get(name) ?? {
      status: 'unavailable',
      source: 'downloads',
      reason: `no answer for ${name}`,
    };
  }
  const versionKeys = Object.keys(packument.versions ?? {});
  base.knownVersions = versionKeys;

  // One tag lookup per distinct repository field (usually one for the whole package).
  const tagsByRepo = new Map<string, Promise<Fact<RepositoryTags>>>();
  const tagsFor = (repository: unknown): Promise<Fact<RepositoryTags>> => {
    const key = JSON.stringify(repository ?? null);
    let p = tagsByRepo.get(key);
    if (!p) {
      p = readRepositoryTags(sources, repository);
      tagsByRepo.set(key, p);
    }
    return p;
  };

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
    if (needs.tags) {
      const manifest = packument.versions[version];
      facts.repositoryTags = await tagsFor(manifest?.repository ?? packument.repository);
    }
    versions.set(version, evaluateVersion({ name, version, policy, facts, now, popular }, packageFindings));
  }
  return { packageFindings, packageVerdict, packageDecision: packageVerdict.decision, versions };
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
