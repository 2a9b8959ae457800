// The sticky comment belongs to the identity behind the token: a user token's own login (from
// /user), or for installation tokens such as the default GITHUB_TOKEN, github-actions[bot].
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubApi } from '../../src/action/github-api.js';
import { type FakeGitHubRepoApi, startFakeGitHubRepoApi } from '../helpers/fake-github-repo-api.js';

const MARKER = '<!-- lockwarden:sticky-comment -->';
let github: FakeGitHubRepoApi | undefined;

afterEach(async () => {
  await github?.close();
  github = undefined;
});

describe('upsertComment', () => {
  it.each([
    { token: 'ghs_installation', users: {} as Record<string, string>, author: 'github-actions[bot]' },
    { token: 'ghp_user_token', users: { ghp_user_token: 'octocat' }, author: 'octocat' },
  ])('updates only the comment $author wrote', async ({ token, users, author }) => {
    github = await startFakeGitHubRepoApi({ users });
    const api = createGitHubApi({ apiUrl: github.url, owner: 'octo', repo: 'app', token });
    github.addComment('octo/app', 5, 'mallory', `${MARKER}\nforged`);
    github.addComment(
      'octo/app',
      5,
      author === 'octocat' ? 'github-actions[bot]' : 'octocat',
      `${MARKER}\nother`,
    );
    expect(await api.upsertComment(5, MARKER, `${MARKER}\nfirst`)).toBe('created');
    expect(await api.upsertComment(5, MARKER, `${MARKER}\nsecond`)).toBe('updated');
    const comments = github.comments('octo/app', 5);
    expect(comments.map((c) => `${c.user.login}: ${c.body.slice(MARKER.length + 1)}`)).toEqual([
      'mallory: forged',
      `${author === 'octocat' ? 'github-actions[bot]' : 'octocat'}: other`,
      `${author}: second`,
    ]);
  });
});
