// Bundled packages judged after an update's resolution, as the proxy judges them: a package the
// registry does not know is judged as audit judges such a pin, and an unavailable packument is
// never a pass.
import type Arborist from '@npmcli/arborist';
import { describe, expect, it } from 'vitest';
import { judgeNewBundles } from '../../src/engine/judge-bundles.js';
import {
  PackumentUnavailableError,
  type PolicyPackumentCache,
} from '../../src/engine/policy-packument-cache.js';
import { EMPTY_POPULAR, makePolicy, NOW } from '../helpers/make-policy.js';

const bundler = { name: 'tap', version: '19.0.0' };
const bundled = {
  name: 'evil',
  version: '1.0.1',
  inBundle: true,
  getBundler: () => bundler,
  location: 'node_modules/tap/node_modules/evil',
};
const tree = { inventory: new Map([['x', bundled]]) } as unknown as Arborist.Node;
const cacheThrowing = (err: Error) =>
  ({
    decide: async () => {
      throw err;
    },
  }) as unknown as PolicyPackumentCache;
const ctx = (overrides = {}) => ({
  policy: makePolicy({ coolingOffDays: 7, ...overrides }),
  now: NOW,
  popular: EMPTY_POPULAR,
});

describe('judgeNewBundles', () => {
  it("passes a bundled package the registry does not know (the bundler's own copy), unless a list names it", async () => {
    const cache = cacheThrowing(new PackumentUnavailableError('evil', 'HTTP 404', true));
    expect(await judgeNewBundles(tree, new Map(), cache, ctx())).toEqual([]);
    expect(await judgeNewBundles(tree, new Map(), cache, ctx({ block: ['evil'] }))).toEqual([
      expect.objectContaining({
        name: 'tap',
        version: '19.0.0',
        rule: 'blocklist',
        message: expect.stringMatching(/^tap@19\.0\.0 bundles evil@1\.0\.1: /),
      }),
    ]);
  });

  it('fails, never passes, when the bundled package cannot be judged (registry unavailable)', async () => {
    const cache = cacheThrowing(new PackumentUnavailableError('evil', 'connection refused', false));
    await expect(judgeNewBundles(tree, new Map(), cache, ctx())).rejects.toThrow(/connection refused/);
  });

  it('leaves out links, workspaces, and what the project or a workspace bundles (its own dependencies)', async () => {
    const cache = cacheThrowing(new PackumentUnavailableError('evil', 'HTTP 404', true));
    // A policy that would veto the bundler of `evil`, were it judged.
    const blocking = ctx({ block: ['evil'] });
    const trees = [
      { ...bundled, isLink: true },
      { ...bundled, isWorkspace: true },
      { ...bundled, getBundler: () => ({ ...bundler, isProjectRoot: true }) },
      { ...bundled, getBundler: () => ({ ...bundler, isWorkspace: true }) },
    ].map((node) => ({ inventory: new Map([['x', node]]) }) as unknown as Arborist.Node);
    for (const t of trees) expect(await judgeNewBundles(t, new Map(), cache, blocking)).toEqual([]);
  });
});
