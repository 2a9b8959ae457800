import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLockwardenError } from '../../src/errors.js';
import {
  loadNpmConfig,
  readNpmAuthorization,
  readNpmRegistry,
  readNpmReplaceRegistryHost,
} from '../../src/sources/npm-config.js';

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
  // The project root is where npm finds package.json (its "local prefix").
  await writeFile(join(project, 'package.json'), '{}');
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

  it("reads the project root's .npmrc only, never one in a directory above it", async () => {
    await writeFile(join(root, '.npmrc'), 'registry=http://127.0.0.1:4999/\n');
    await writeFile(globalFile, 'registry=http://127.0.0.1:4875/\n');
    expect(await readNpmRegistry(isolated())).toBe('http://127.0.0.1:4875/');
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
    await writeFile(join(project, 'packages', '.npmrc'), 'registry=http://127.0.0.1:4999/\n');
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
    const url = await readNpmRegistry(isolated({ npm_config_userconfig: join(home, 'none') }));
    expect(url).toMatch(/^https?:\/\/[^/\s]+\/$/);
  });
});

describe('readNpmReplaceRegistryHost', () => {
  it.each<[string, string | undefined, Record<string, string>, string]>([
    ["npm's default", undefined, {}, 'npmjs'],
    ['the project .npmrc', 'replace-registry-host=never\n', {}, 'never'],
    ['a host name', 'replace-registry-host=old.example.test\n', {}, 'old.example.test'],
    ['a URL', 'replace-registry-host=https://old.example.test/npm/\n', {}, 'https://old.example.test/npm/'],
    [
      'the environment over the project',
      'replace-registry-host=never\n',
      { npm_config_replace_registry_host: 'always' },
      'always',
    ],
  ])('%s', async (_what, npmrc, env, expected) => {
    if (npmrc !== undefined) await writeFile(join(project, '.npmrc'), npmrc);
    expect(await readNpmReplaceRegistryHost(isolated(env))).toBe(expected);
  });
});

describe('credentials', () => {
  it('finds the most specific nerf-darted _authToken, _auth or username/_password, per host', async () => {
    await writeFile(
      join(home, '.npmrc'),
      [
        `//127.0.0.1:4873/:_authToken=${ref('NPM_TOKEN')}`,
        '//127.0.0.1:4873/private/:_authToken=path-token',
        '//127.0.0.1:4874/:_auth=dXNlcjpwYXNz',
        '//127.0.0.1:4876/npm/:username=ci',
        `//127.0.0.1:4876/npm/:_password=${Buffer.from('s3cret').toString('base64')}`,
      ].join('\n'),
    );
    const opts = isolated({ NPM_TOKEN: 'env-token' });
    expect(await readNpmAuthorization('http://127.0.0.1:4873/', opts)).toBe('Bearer env-token');
    expect(await readNpmAuthorization('http://127.0.0.1:4873/private/', opts)).toBe('Bearer path-token');
    expect(await readNpmAuthorization('http://127.0.0.1:4873/other/', opts)).toBe('Bearer env-token');
    // Tarballs of the registry get its credentials too.
    expect(await readNpmAuthorization('http://127.0.0.1:4874/a/-/a-1.0.0.tgz', opts)).toBe(
      'Basic dXNlcjpwYXNz',
    );
    expect(await readNpmAuthorization('http://127.0.0.1:4876/npm/a', opts)).toBe(
      `Basic ${Buffer.from('ci:s3cret').toString('base64')}`,
    );
    // Never to another host or another path than configured.
    expect(await readNpmAuthorization('http://127.0.0.1:4875/', opts)).toBeUndefined();
    expect(await readNpmAuthorization('http://127.0.0.1:4876/', opts)).toBeUndefined();
  });
});

describe('network settings', () => {
  it('takes https-proxy (else proxy), noproxy, cafile and strict-ssl from the files', async () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    await writeFile(join(root, 'ca.pem'), ca + ca);
    await writeFile(
      join(project, '.npmrc'),
      `proxy=http://127.0.0.1:3128/\nnoproxy=localhost,.corp.example\ncafile=${join(root, 'ca.pem')}\nstrict-ssl=false\n`,
    );
    const config = await loadNpmConfig(isolated());
    expect(config.network).toEqual({
      httpProxy: 'http://127.0.0.1:3128/',
      httpsProxy: 'http://127.0.0.1:3128/',
      noProxy: 'localhost,.corp.example',
      ca: [ca.trim(), ca.trim()],
      strictSsl: false,
    });
    await writeFile(
      join(project, '.npmrc'),
      'https-proxy=http://127.0.0.1:3129/\nproxy=http://127.0.0.1:3128/\n',
    );
    expect((await loadNpmConfig(isolated())).network).toMatchObject({
      httpProxy: 'http://127.0.0.1:3129/',
      httpsProxy: 'http://127.0.0.1:3129/',
    });
  });

  it('falls back to HTTPS_PROXY, HTTP_PROXY and NO_PROXY (any case) as npm does', async () => {
    const config = await loadNpmConfig(
      isolated({
        HTTPS_PROXY: 'http://127.0.0.1:3130/',
        http_proxy: 'http://127.0.0.1:3131/',
        NO_PROXY: '.internal',
      }),
    );
    expect(config.network).toEqual({
      httpsProxy: 'http://127.0.0.1:3130/',
      httpProxy: 'http://127.0.0.1:3130/',
      noProxy: '.internal',
    });
    expect((await loadNpmConfig(isolated({ http_proxy: 'http://127.0.0.1:3131/' }))).network).toEqual({
      httpProxy: 'http://127.0.0.1:3131/',
    });
  });
});

describe('a project .npmrc supplied from elsewhere', () => {
  it('replaces the file in the working tree (the Action reads it at the base commit)', async () => {
    await writeFile(
      join(project, '.npmrc'),
      'registry=http://127.0.0.1:6666/\n//127.0.0.1:6666/:_authToken=head\n',
    );
    const supplied = await loadNpmConfig({
      ...isolated(),
      projectNpmrc: { text: 'registry=http://127.0.0.1:4873/\nstrict-ssl=false\n', origin: '.npmrc at base' },
    });
    expect(supplied.registry).toBe('http://127.0.0.1:4873/');
    expect(supplied.network.strictSsl).toBe(false);
    expect(supplied.authorizationFor('http://127.0.0.1:6666/')).toBeUndefined();
    await writeFile(globalFile, 'registry=http://127.0.0.1:4875/\n');
    expect((await loadNpmConfig({ ...isolated(), projectNpmrc: null })).registry).toBe(
      'http://127.0.0.1:4875/',
    );
  });
});

describe('agrees with `npm config get` on the same files', () => {
  it.each(['registry', '@corp:registry', 'https-proxy', 'noproxy', 'strict-ssl'])('%s', async (key) => {
    await writeFile(join(root, '.npmrc'), 'registry=http://127.0.0.1:4999/\nstrict-ssl=false\n');
    await writeFile(join(project, '.npmrc'), '@corp:registry=http://127.0.0.1:4874/\nnoproxy=.corp\n');
    await writeFile(join(home, '.npmrc'), 'https-proxy=http://127.0.0.1:3128/\n');
    await writeFile(globalFile, 'registry=http://127.0.0.1:4875/\n');
    const env = { PATH: process.env.PATH ?? '', HOME: home, npm_config_globalconfig: globalFile };
    const printed = await new Promise<string>((resolve, reject) =>
      execFile('npm', ['config', 'get', key], { cwd, env }, (err, stdout) =>
        err ? reject(err) : resolve(stdout.trim()),
      ),
    );
    const config = await loadNpmConfig({ cwd, homeDir: home, env });
    const ours: Record<string, string | undefined> = {
      registry: config.registry,
      '@corp:registry': config.scopeRegistries.get('@corp'),
      'https-proxy': config.network.httpsProxy,
      noproxy: config.network.noProxy,
      'strict-ssl': String(config.network.strictSsl !== false),
    };
    expect(ours[key]).toBe(printed);
  });
});
