// name@version refs in, verdicts out: the path shared by `lockwarden audit`/`check`, the Action's
// inline mode and the service's check API.
import { evaluateVersion } from '../policy/evaluate.js';
import type { Policy, PopularIndex, Verdict } from '../policy/types.js';
import type { Sources } from '../sources/types.js';
import { type FactProgress, gatherFacts, type PackageRef } from './gather-facts.js';

export type { PackageRef } from './gather-facts.js';

export interface CheckContext {
  policy: Policy;
  sources: Sources;
  now: Date;
  popular: PopularIndex;
  concurrency?: number;
  onProgress?: (progress: FactProgress) => void;
}

export async function checkPackages(refs: readonly PackageRef[], ctx: CheckContext): Promise<Verdict[]> {
  const gathered = await gatherFacts(refs, ctx);
  return refs.map((ref, i) => {
    const { version, facts } = gathered[i]!;
    return evaluateVersion({
      name: ref.name,
      version,
      policy: ctx.policy,
      facts: ref.bundled ? { ...facts, bundled: true } : facts,
      now: ctx.now,
      popular: ctx.popular,
    });
  });
}
