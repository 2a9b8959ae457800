// yarn classic's workspace globs, expanded against a commit's file list as npm expands them on disk.
import { describe, expect, it } from 'vitest';
import { matchWorkspaceFolders, workspacePatterns } from '../../src/action/read-base-workspaces.js';

const FILES = [
  'package.json',
  'yarn.lock',
  'packages/web/package.json',
  'packages/web/src/index.js',
  'packages/api/package.json',
  'packages/legacy/package.json',
  'packages/.hidden/package.json',
  'packages/web/node_modules/dep/package.json',
  'packages/nopkg/README.md',
  'apps/site/package.json',
  'apps/site/fixtures/nested/package.json',
  'tools/package.json',
];

describe('workspacePatterns', () => {
  it.each([
    { declared: undefined, want: { positive: [], negated: [] } },
    { declared: 'packages/*', want: { positive: [], negated: [] } },
    { declared: ['packages/*', 7, ''], want: { positive: ['packages/*'], negated: [] } },
    { declared: { packages: ['./apps/*/', '/tools'] }, want: { positive: ['apps/*', 'tools'], negated: [] } },
    {
      declared: ['packages/*', '!packages/legacy', '!!tools'],
      want: { positive: ['packages/*', 'tools'], negated: ['packages/legacy'] },
    },
  ])('$declared', ({ declared, want }) => {
    expect(workspacePatterns(JSON.stringify({ name: 'root', workspaces: declared }))).toEqual(want);
  });

  it('a package.json that is not JSON has no patterns', () => {
    expect(workspacePatterns('{"workspaces": [')).toEqual({ positive: [], negated: [] });
    expect(workspacePatterns(undefined)).toEqual({ positive: [], negated: [] });
  });
});

describe('matchWorkspaceFolders', () => {
  it.each([
    { workspaces: ['packages/*'], want: ['packages/api', 'packages/legacy', 'packages/web'] },
    { workspaces: ['packages/*', '!packages/legacy'], want: ['packages/api', 'packages/web'] },
    { workspaces: ['apps/**'], want: ['apps/site', 'apps/site/fixtures/nested'] },
    { workspaces: ['tools', 'apps/site'], want: ['apps/site', 'tools'] },
    // Nothing outside the project: the file list has no `..`, so such a pattern matches nothing.
    { workspaces: ['../*', '../../etc'], want: [] },
    // The root is never its own workspace; node_modules is never searched.
    {
      workspaces: ['.', '**'],
      want: [
        'apps/site',
        'apps/site/fixtures/nested',
        'packages/api',
        'packages/legacy',
        'packages/web',
        'tools',
      ],
    },
  ])('$workspaces', ({ workspaces, want }) => {
    expect(matchWorkspaceFolders(workspacePatterns(JSON.stringify({ workspaces })), FILES)).toEqual(want);
  });
});
