import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parsePopularList, readPopularList } from '../../src/sources/popular-list.js';

describe('readPopularList', () => {
  it('loads the shipped list, most popular first', () => {
    const list = readPopularList();
    expect(list.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(list.packages.length).toBeGreaterThan(1000);
    const [first, second] = list.packages as readonly (readonly [string, number])[];
    expect(first![1]).toBeGreaterThanOrEqual(second![1]);
    expect(readPopularList()).toBe(list);
  });

  it('travels inside an esbuild bundle, with no file beside it', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lw-bundle-'));
    try {
      const entry = join(out, 'entry.ts');
      const module = fileURLToPath(new URL('../../src/sources/popular-list.ts', import.meta.url));
      await writeFile(entry, `export { readPopularList } from ${JSON.stringify(module)};\n`);
      await build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: join(out, 'bundle.mjs'),
        logLevel: 'silent',
      });
      const bundled = (await import(pathToFileURL(join(out, 'bundle.mjs')).href)) as {
        readPopularList: typeof readPopularList;
      };
      const { known, ...list } = bundled.readPopularList();
      const { known: ownKnown, ...ownList } = readPopularList();
      expect(list).toEqual(ownList);
      // The wider list of known names travels with it.
      expect(known?.().size).toBe(ownKnown?.().size);
      expect(known?.().has('getstream')).toBe(true);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('parsePopularList', () => {
  it('keeps the pairs', () => {
    expect(
      parsePopularList(
        {
          asOf: '2026-03-01',
          source: 'x',
          packages: [
            ['a', 10],
            ['@s/b', 0],
          ],
        },
        'f.json',
      ),
    ).toEqual({
      asOf: '2026-03-01',
      packages: [
        ['a', 10],
        ['@s/b', 0],
      ],
    });
  });

  it.each([
    [null, 'not a JSON object'],
    [{ asOf: 'March', packages: [] }, '"asOf" is not a YYYY-MM-DD date'],
    [{ asOf: '2026-03-01', packages: {} }, '"packages" is not an array'],
    [
      { asOf: '2026-03-01', packages: [['a', 1], ['b']] },
      'packages[1] is not a [name, monthlyDownloads] pair',
    ],
    [{ asOf: '2026-03-01', packages: [['a', -1]] }, 'packages[0] (a) has an invalid download count'],
  ])('rejects %j: %s', (raw, message) => {
    expect(() => parsePopularList(raw, 'data/popular-packages.json')).toThrow(
      `data/popular-packages.json: ${message}`,
    );
  });
});
