// GitHub's REST conventions, shared by the CLI's tag lookups (github-tags-source.ts) and the
// Action's calls (src/action/github-api.ts): both go through the one HTTP layer with these
// headers and this retry rule, so there is one GitHub client, not an octokit beside it.
import type { HttpHeaders } from './http-client.js';

export const GITHUB_API_VERSION = '2022-11-28';

/** Request headers for a GitHub REST call; the token only ever goes to the API URL it was given for. */
export function githubHeaders(accept: string, token: string | undefined): Record<string, string> {
  return {
    accept,
    'x-github-api-version': GITHUB_API_VERSION,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/** Which statuses are worth retrying: not an exhausted primary rate limit (it lasts up to an hour). */
export function shouldRetryGitHub(code: number, headers: HttpHeaders): boolean {
  if ((code === 403 || code === 429) && headers['x-ratelimit-remaining'] === '0') return false;
  // Secondary limits come with Retry-After; the client waits if it is short.
  if (code === 403) return headers['retry-after'] !== undefined;
  return code === 429 || code >= 500;
}
