// Evidence from the registry about names on the wider list that the typosquatting rules flag:
// a name ranked in the top 200,000 by downloads may still be a squat living off typo traffic
// (npm's security placeholders for removed malware keep their downloads). Each flagged name's
// packument decides whether it stays on the list of established names. Used by
// generate-popular-list.mjs; results are cached by name so a re-run after a rule change only
// fetches the names it has not seen.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A look-alike with a short history whose downloads are below this share of its target's is
 * read as living off typo traffic: a mistyped install of a package with 500M downloads a month
 * brings a squat hundreds of thousands. Real alternatives with look-alike names sit far above
 * it (preact/react 15%, safer-buffer/safe-buffer 40%).
 */
export const TYPO_TRAFFIC_SHARE = 0.001;

/**
 * This many published versions is a history of its own, whatever the downloads (`getstream`,
 * 85 versions, has 0.03% of `get-stream`'s). Fewer is no proof: `expres` has 3 versions from
 * 2012 and 0.02% of `express`'s downloads, which is what typing mistakes bring.
 */
export const HISTORY_VERSIONS = 10;

/**
 * What a packument says about a name: `{squat, versions, reason}`. `squat` is set for what
 * the registry shows was never a package of its own: gone (404, unpublished) or replaced by
 * npm's security placeholder after its malware was removed.
 */
export function readEvidence(packument) {
  if (packument === null) return { squat: true, versions: 0, reason: 'not on the registry' };
  const versions = Object.keys(packument.versions ?? {});
  if (versions.length === 0 || packument.time?.unpublished) {
    return { squat: true, versions: 0, reason: 'unpublished' };
  }
  const placeholder = versions.some(
    (v) =>
      /-security$/.test(v) ||
      /security holding package/i.test(String(packument.versions[v]?.description ?? '')),
  );
  if (placeholder) return { squat: true, versions: versions.length, reason: 'security placeholder' };
  return { squat: false, versions: versions.length, reason: `${versions.length} versions` };
}

/**
 * Whether a flagged name stays on the list of established names: no squat, and either a history
 * of HISTORY_VERSIONS versions or downloads beyond typo traffic. Returns the reason it does not.
 */
export function judgeLookalike(evidence, monthly, targetMonthly) {
  if (evidence.squat) return { established: false, reason: evidence.reason };
  if (evidence.versions >= HISTORY_VERSIONS) return { established: true, reason: evidence.reason };
  if (monthly >= targetMonthly * TYPO_TRAFFIC_SHARE) return { established: true, reason: 'downloads' };
  return { established: false, reason: `under ${HISTORY_VERSIONS} versions, typo traffic` };
}

/** Fetches each name's packument and reads its evidence (cached in `cacheFile`), `concurrency` at a time. */
export async function readEvidenceFor(names, { registry, cacheFile, concurrency = 8, log = () => {} }) {
  const cache = cacheFile && existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
  const todo = names.filter((name) => !(name in cache));
  log(`vetting ${names.length} flagged names (${todo.length} not cached) against ${registry}`);
  let done = 0;
  const worker = async () => {
    while (todo.length > 0) {
      const name = todo.pop();
      const url = new URL(name.replace('/', '%2f'), registry.endsWith('/') ? registry : `${registry}/`);
      let verdict;
      for (let attempt = 1; !verdict; attempt++) {
        try {
          const res = await fetch(url, { headers: { accept: 'application/json' } });
          if (res.status === 404) verdict = readEvidence(null);
          else if (!res.ok) throw new Error(`HTTP ${res.status}`);
          else verdict = readEvidence(await res.json());
        } catch (err) {
          if (attempt >= 3) throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      cache[name] = verdict;
      if (++done % 200 === 0) log(`  ${done} fetched...`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (cacheFile) {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(cache));
  }
  return new Map(names.map((name) => [name, cache[name]]));
}
