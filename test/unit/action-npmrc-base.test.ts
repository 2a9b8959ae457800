import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ini from 'ini';
import { afterEach, describe, expect, it } from 'vitest';
import { pullRequestReplaceRegistryHost, readActionNpmrc } from '../../src/action/read-action-npmrc.js';
import type { BaseFile } from '../../src/action/read-base-file.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lockwarden-npmrc-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

function baseOf(files: Record<string, string>) {
  return async (file: string): Promise<BaseFile> =>
    file in files ? { found: true, text: files[file]!, via: 'git' } : { found: false, via: 'git' };
}

describe('the base .npmrc names files in the repository', () => {
  it('reads its cafile at the base commit and drops userconfig/globalconfig that point into the checkout', async () => {
    const npmrc =
      'registry=http://127.0.0.1:4873/\ncafile=ca.pem\nuserconfig=.npmrc.ci\nglobalconfig=./g.npmrc\n';
    const dir = await workspace({
      '.npmrc': npmrc,
      'ca.pem': 'PR-CONTROLLED-CA',
      '.npmrc.ci': 'registry=http://evil/',
    });
    const seen: string[] = [];
    const res = await readActionNpmrc({
      workspace: dir,
      workingDirectory: '.',
      readBase: baseOf({ '.npmrc': npmrc, 'ca.pem': 'BASE-CA' }),
      log: (m) => seen.push(m),
    });
    const parsed = ini.parse(res.config!.text) as Record<string, string>;
    expect(parsed.registry).toBe('http://127.0.0.1:4873/');
    expect(parsed.userconfig).toBeUndefined();
    expect(parsed.globalconfig).toBeUndefined();
    expect(path.isAbsolute(parsed.cafile!)).toBe(true);
    expect(await readFile(parsed.cafile!, 'utf8')).toBe('BASE-CA');
    dirs.push(path.dirname(parsed.cafile!));
    expect(seen.join('\n')).toMatch(/userconfig=\.npmrc\.ci .* ignored/);
  });

  it('leaves paths outside the repository (the runner’s own files) as they are', async () => {
    const npmrc = 'cafile=/etc/ssl/corp-ca.pem\n';
    const dir = await workspace({ '.npmrc': npmrc });
    const res = await readActionNpmrc({
      workspace: dir,
      workingDirectory: '.',
      readBase: baseOf({ '.npmrc': npmrc }),
    });
    expect(res.config!.text).toBe(npmrc);
  });

  it('drops a cafile the base commit does not have', async () => {
    const npmrc = 'cafile=ca.pem\nstrict-ssl=true\n';
    const dir = await workspace({ '.npmrc': npmrc, 'ca.pem': 'PR-CONTROLLED-CA' });
    const res = await readActionNpmrc({
      workspace: dir,
      workingDirectory: '.',
      readBase: baseOf({ '.npmrc': npmrc }),
    });
    expect(ini.parse(res.config!.text)).toEqual({ 'strict-ssl': true });
  });
});

// What npm 11 itself prints (`npm config get replace-registry-host`) is noted where it differs
// from a plain ini parse: those forms are read as `never`, the narrowest a pull request can ask.
/** `${NAME}` as npm writes a variable in `.npmrc`. */
const v = (name: string) => `\${${name}}`;

describe("the pull request's own replace-registry-host", () => {
  it.each([
    { text: 'registry=http://127.0.0.1:4873/\n', expected: undefined },
    { text: '', expected: undefined },
    { text: 'replace-registry-host=always\n', expected: 'always' },
    { text: 'replace-registry-host=old.example.test\n', expected: 'old.example.test' },
    { text: `replace-registry-host=${v('RRH')}\n`, expected: `${v('RRH')}` },
    { text: 'replace-registry-host=\n', expected: '' },
    // npm: never (the key's `${LW_UNSET?}` expands to nothing, the later line wins).
    {
      text: `replace-registry-host=always\nreplace-registry-host${v('LW_UNSET?')}=never\n`,
      expected: 'never',
    },
    { text: `replace-registry-host${v('LW_UNSET?')}=always\n`, expected: 'never' },
    { text: `replace-${v('LW_PART')}registry-host=always\n`, expected: 'never' },
    { text: `replace-registry-host${v('LW_UNSET')}=always\n`, expected: 'never' },
    // npm: never.
    { text: 'replace-registry-host[]=never\n', expected: 'never' },
    // npm: `always,never`, a list.
    { text: 'replace-registry-host=always\nreplace-registry-host[]=never\n', expected: 'never' },
    { text: 'replace-registry-host[]=always\n', expected: 'never' },
    { text: `replace-registry-host${v('LW_UNSET?')}[]=always\n`, expected: 'never' },
    // npm: true (no string: no rewrite it can be trusted to make).
    { text: 'replace-registry-host=true\n', expected: 'never' },
  ])('$text -> $expected', ({ text, expected }) => {
    expect(pullRequestReplaceRegistryHost(text)).toBe(expected);
  });
});
