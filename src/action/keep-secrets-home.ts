// The Action's own secrets are not npm configuration. `${INPUT_GITHUB-TOKEN}` in an `.npmrc` (a
// registry URL, an `_authToken` line) would hand the job's token to whatever host that file names,
// in a header, a request path or a cache key. So npm's configuration is read without the Action's
// inputs in its environment, and a configuration that still carries the github-token toward a
// registry (`NODE_AUTH_TOKEN: ${{ github.token }}`, say) is refused: the github-token goes only to
// GITHUB_API_URL's host.
import { LockwardenError } from '../errors.js';

/** The environment npm's configuration is read with: the runner's, minus the Action's inputs. */
export function npmConfigEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (/^INPUT_/i.test(key)) continue;
    out[key] = value;
  }
  return out;
}

function carries(value: string, secret: string): boolean {
  if (value.includes(secret) || value.includes(encodeURIComponent(secret))) return true;
  const basic = /^basic\s+(\S+)$/i.exec(value);
  return basic !== null && Buffer.from(basic[1]!, 'base64').toString('utf8').includes(secret);
}

/**
 * Throws ECONFIG when any registry setting of `config` (its URLs, tokens, authorization headers)
 * carries `githubToken`. `config.githubToken` itself (for the GitHub API) and the environment the
 * configuration was read from are not looked at. The message names the setting, never its value.
 */
export function assertGitHubTokenStaysHome(config: object, githubToken: string | undefined): void {
  if (!githubToken || githubToken.length < 8) return;
  const visit = (value: unknown, where: string): void => {
    if (typeof value === 'string') {
      if (carries(value, githubToken)) {
        throw new LockwardenError(
          'ECONFIG',
          `npm configuration: ${where} carries the job's github-token; lockwarden sends the github-token only to the GitHub API (GITHUB_API_URL). Give the registry its own token (a separate secret in the runner's npmrc or NODE_AUTH_TOKEN), or leave the \`registry\` input and .npmrc without it`,
        );
      }
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, `${where}[${i}]`);
    } else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) visit(v, where ? `${where}.${k}` : k);
  };
  for (const [key, value] of Object.entries(config)) {
    if (key === 'githubToken' || key === 'npm') continue;
    visit(value, key);
  }
}
