// Bundled packages judged after an update's resolution: an unavailable packument is never a pass.
import type Arborist from '@npmcli/arborist';
import { describe, expect, it } from 'vitest';
import { judgeNewBundles } from '../../src/engine/judge-bundles.js';
import {
  PackumentUnavailableError,
  type PolicyPackumentCache,
} from '../../src/engine/policy-packument-cache.js';

const bundler = { name: 'tap', version: '19.0.0' };
const bundled = { name: 'evil', version: '1.0.1', inBundle: true, getBundler: () => bundler };
const tree = { inventory: new Map([['x', bundled]]) } as unknown as Arborist.Node;
const cacheThrowing = (err: Error) =>
  ({
    decide: async () => {
      throw err;
    },
  }) as unknown as PolicyPackumentCache;

describe('judgeNewBundles', () => {
  it('skips a bundled package the registry does not know (private), nothing to judge', async () => {
    const cache = cacheThrowing(new PackumentUnavailableError('evil', 'HTTP 404', true));
    expect(await judgeNewBundles(tree, new Map(), cache)).toEqual([]);
  });

  it('fails, never passes, when the bundled package cannot be judged (registry unavailable)', async () => {
    const cache = cacheThrowing(new PackumentUnavailableError('evil', 'connection refused', false));
    await expect(judgeNewBundles(tree, new Map(), cache)).rejects.toThrow(/connection refused/);
  });
});
