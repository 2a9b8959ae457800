import { describe, expect, it } from 'vitest';
import { assertGitHubTokenStaysHome, npmConfigEnvironment } from '../../src/action/keep-secrets-home.js';

const TOKEN = 'ghs_0123456789abcdef';

describe('npmConfigEnvironment', () => {
  it("drops the Action's inputs (any case) and keeps the runner's variables", () => {
    expect(
      npmConfigEnvironment({
        'INPUT_GITHUB-TOKEN': TOKEN,
        'input_service-token': 'x',
        NODE_AUTH_TOKEN: 'npm-token',
        PATH: '/bin',
      }),
    ).toEqual({ NODE_AUTH_TOKEN: 'npm-token', PATH: '/bin' });
  });
});

describe('assertGitHubTokenStaysHome', () => {
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  it.each([
    ['a registry token', { registryUrl: 'http://127.0.0.1:9/', registryToken: TOKEN }, 'registryToken'],
    [
      'a bearer header',
      { registryUrl: 'http://127.0.0.1:9/', registryAuthorization: `Bearer ${TOKEN}` },
      'registryAuthorization',
    ],
    [
      'a basic header',
      { registryUrl: 'http://127.0.0.1:9/', registryAuthorization: basic('x-access-token', TOKEN) },
      'registryAuthorization',
    ],
    ['a registry URL path', { registryUrl: `http://127.0.0.1:9/${TOKEN}/` }, 'registryUrl'],
    [
      "a scope's registry",
      { scopeRegistries: [{ scope: '@acme', url: 'http://127.0.0.1:9/', token: TOKEN }] },
      'scopeRegistries[0].token',
    ],
  ])('refuses %s carrying the github-token, naming the setting and not the value', (_what, config, where) => {
    let error: Error | undefined;
    try {
      assertGitHubTokenStaysHome({ ...config, githubToken: TOKEN }, TOKEN);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toContain(`npm configuration: ${where} carries the job's github-token`);
    expect(error?.message).not.toContain(TOKEN);
  });

  it('lets the github-token go to the GitHub API and other tokens to their registries', () => {
    expect(() =>
      assertGitHubTokenStaysHome(
        {
          registryUrl: 'http://127.0.0.1:9/',
          registryToken: 'npm_other',
          githubToken: TOKEN,
          npm: { env: { GITHUB_TOKEN: TOKEN } },
        },
        TOKEN,
      ),
    ).not.toThrow();
    expect(() => assertGitHubTokenStaysHome({ registryToken: TOKEN }, undefined)).not.toThrow();
  });
});
