import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLockwardenError } from '../../src/errors.js';
import { readNpmAuthToken, readNpmRegistry } from '../../src/sources/npm-config.js';

/** npm's `${NAME}` reference, spelled without tripping the template-literal lint. */
const ref = (name: string) => `$\{${name}}`;

let root: string;
let project: string;
let cwd: string;
let home: string;
let globalFile: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lw-npmrc-'));
  project = join(root, 'project');
  cwd = join(project, 'packages', 'app');
  home = join(root, 'home');
  globalFile = join(root, 'prefix', 'etc', 'npmrc');
  await mkdir(cwd, { recursive: true });
  await mkdir(home);
  await mkdir(join(root, 'prefix', 'etc'), { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Options that never look at the real machine's configuration. */
function isolated(env: Record<string, string> = {}) {
  return { cwd, homeDir: home, env: { npm_config_globalconfig: globalFile, ...env } };
}

describe('readNpmRegistry', () => {
  it.each([
    ['npm_config_registry', 'http://127.0.0.1:4873'],
    ['NPM_CONFIG_REGISTRY', 'http://127.0.0.1:4874/'],
    ['Npm_Config_Registry', 'http://127.0.0.1:4875/sub'],
  ])('takes %s from the environment first', async (key, value) => {
    await writeFile(join(project, '.npmrc'), 'registry=http://127.0.0.1:9999/\n');
    const url = await readNpmRegistry(isolated({ [key]: value }));
    expect(url).toBe(value.endsWith('/') ? value : `${value}/`);
  });

  it('walks up from cwd to the project .npmrc, which beats user and global config', async () => {
    await writeFile(
      join(project, '.npmrc'),
      '; comment\nsave-exact=true\nregistry = http://127.0.0.1:4873/project\n',
    );
    await writeFile(join(home, '.npmrc'), 'registry=http://127.0.0.1:4874/\n');
    await writeFile(globalFile, 'registry=http://127.0.0.1:4875/\n');
    expect(await readNpmRegistry(isolated())).toBe('http://127.0.0.1:4873/project/');
  });

  it('skips a project .npmrc that does not set the registry', async () => {
    await writeFile(join(cwd, '.npmrc'), 'fund=false\n');
    await writeFile(join(project, '.npmrc'), 'registry=http://127.0.0.1:4873/\n');
    expect(await readNpmRegistry(isolated())).toBe('http://127.0.0.1:4873/');
  });

  it.each([
    ['~/.npmrc', async () => writeFile(join(home, '.npmrc'), 'registry=http://127.0.0.1:4874/\n'), {}],
    [
      'npm_config_userconfig',
      async () => writeFile(join(root, 'custom-npmrc'), 'registry=http://127.0.0.1:4874/\n'),
      { npm_config_userconfig: 'CUSTOM' },
    ],
  ])('reads the user config (%s) before the global one', async (_label, setup, env) => {
    await setup();
    await writeFile(globalFile, 'registry=http://127.0.0.1:4875/\n');
    const resolvedEnv = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v === 'CUSTOM' ? join(root, 'custom-npmrc') : v]),
    );
    expect(await readNpmRegistry(isolated(resolvedEnv))).toBe('http://127.0.0.1:4874/');
  });

  it('reads the global config from $PREFIX/etc/npmrc', async () => {
    await writeFile(globalFile, 'registry=http://127.0.0.1:4875/\n');
    const url = await readNpmRegistry({
      cwd,
      homeDir: home,
      env: { npm_config_prefix: join(root, 'prefix') },
    });
    expect(url).toBe('http://127.0.0.1:4875/');
  });

  it('expands environment references', async () => {
    await writeFile(join(project, '.npmrc'), `registry=http://${ref('REG_HOST')}/npm/\n`);
    expect(await readNpmRegistry(isolated({ REG_HOST: '127.0.0.1:4873' }))).toBe(
      'http://127.0.0.1:4873/npm/',
    );
  });

  it.each([
    [`registry=http://${ref('MISSING_HOST')}/\n`, /refers to \$\{MISSING_HOST\}, which is not set/],
    ['registry=not a url\n', /registry in .*\.npmrc "not a url" is not a valid URL/],
    ['registry=ftp://127.0.0.1/\n', /must be http:\/\/ or https:\/\//],
  ])('rejects %j with ECONFIG naming the problem', async (content, message) => {
    await writeFile(join(project, '.npmrc'), content);
    const err = await readNpmRegistry(isolated()).catch((e: unknown) => e);
    expect(isLockwardenError(err) && err.code).toBe('ECONFIG');
    expect((err as Error).message).toMatch(message);
  });

  it("falls back to npm's built-in default when nothing sets the registry", async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      npm_config_userconfig: join(home, '.npmrc'),
      npm_config_globalconfig: globalFile,
    };
    const url = await readNpmRegistry({ cwd, homeDir: home, env });
    expect(url).toMatch(/^https?:\/\/[^/\s]+\/$/);
  });

  it('says how to fix it when npm cannot be asked either', async () => {
    const err = await readNpmRegistry({ ...isolated(), npmCommand: join(root, 'no-such-npm') }).catch(
      (e) => e,
    );
    expect(isLockwardenError(err) && err.code).toBe('ECONFIG');
    expect((err as Error).message).toMatch(/pass --registry or set npm_config_registry/);
  });
});

describe('readNpmAuthToken', () => {
  it('finds the most specific //host/path/:_authToken, expanding variables', async () => {
    await writeFile(
      join(home, '.npmrc'),
      [
        `//127.0.0.1:4873/:_authToken=${ref('NPM_TOKEN')}`,
        '//127.0.0.1:4873/private/:_authToken=path-token',
        '//127.0.0.1:4874/:_authToken=other-host',
      ].join('\n'),
    );
    const opts = isolated({ NPM_TOKEN: 'env-token' });
    expect(await readNpmAuthToken('http://127.0.0.1:4873/', opts)).toBe('env-token');
    expect(await readNpmAuthToken('http://127.0.0.1:4873/private/', opts)).toBe('path-token');
    expect(await readNpmAuthToken('http://127.0.0.1:4873/other/', opts)).toBe('env-token');
    expect(await readNpmAuthToken('http://127.0.0.1:4875/', opts)).toBeUndefined();
  });
});
