// What the Action needs from the workflow run: the repository, the pull request and the base
// commit to diff the lockfile against. Pure: the caller reads the env and the event payload file.
import { LockwardenError } from '../errors.js';

export interface EventContext {
  eventName: string;
  /** `owner/repo`, validated. */
  repository?: { owner: string; repo: string };
  /** Commit the lockfile changes are measured against, when the event has one. */
  baseSha?: string;
  headSha?: string;
  /** Pull request number, for the sticky comment. */
  pullNumber?: number;
  /**
   * Set when the run gates changes not yet on the base branch (a pull request or a merge group):
   * then the base commit's policy applies, not the one the change brings.
   */
  changeKind?: 'pull_request' | 'merge_group';
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const ZERO_SHA = /^0+$/;
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function sha(value: unknown): string | undefined {
  return typeof value === 'string' && SHA.test(value) && !ZERO_SHA.test(value) ? value : undefined;
}

export function parseRepository(value: string | undefined): { owner: string; repo: string } | undefined {
  if (value === undefined || value === '') return undefined;
  const [owner, repo, extra] = value.split('/');
  if (
    extra !== undefined ||
    !owner ||
    !repo ||
    !OWNER.test(owner) ||
    !REPO.test(repo) ||
    repo.startsWith('.')
  ) {
    throw new LockwardenError('ECONFIG', `GITHUB_REPOSITORY: "${value}" is not an owner/repo name`);
  }
  return { owner, repo };
}

/**
 * Reads the base commit from the payload: the pull request's base SHA (pull_request and
 * pull_request_target), the merge group's base (merge_group), or the previous head (push).
 */
export function parseEventContext(input: {
  eventName: string;
  payload: unknown;
  repository?: string;
}): EventContext {
  const ctx: EventContext = { eventName: input.eventName };
  const repository = parseRepository(input.repository);
  if (repository) ctx.repository = repository;
  const payload = record(input.payload) ?? {};
  const pr = record(payload.pull_request);
  if (pr) {
    ctx.changeKind = 'pull_request';
    const base = sha(record(pr.base)?.sha);
    const head = sha(record(pr.head)?.sha);
    if (base) ctx.baseSha = base;
    if (head) ctx.headSha = head;
    if (typeof pr.number === 'number' && Number.isSafeInteger(pr.number) && pr.number > 0) {
      ctx.pullNumber = pr.number;
    }
    return ctx;
  }
  const group = record(payload.merge_group);
  if (group) {
    ctx.changeKind = 'merge_group';
    const base = sha(group.base_sha);
    const head = sha(group.head_sha);
    if (base) ctx.baseSha = base;
    if (head) ctx.headSha = head;
    return ctx;
  }
  const before = sha(payload.before);
  const after = sha(payload.after);
  if (before) ctx.baseSha = before;
  if (after) ctx.headSha = after;
  return ctx;
}
