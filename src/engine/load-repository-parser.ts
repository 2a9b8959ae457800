// parseRepository (src/policy/repository.ts) on first use. It brings hosted-git-info and its LRU
// cache, ~7 ms of a `lockwarden check`'s start-up (CPU profile of npm run bench:check), and only a
// policy that checks git tags (requireGitTag) ever calls it.
import type { parseRepository } from '../policy/repository.js';

let parser: Promise<typeof parseRepository> | undefined;

export function loadRepositoryParser(): Promise<typeof parseRepository> {
  parser ??= import('../policy/repository.js').then((m) => m.parseRepository);
  return parser;
}
