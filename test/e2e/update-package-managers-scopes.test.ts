// `lockwarden update` on pnpm, yarn (1 and Berry) and bun projects whose packages come from two
// registries: the public one, and a corporate one for `@corp` that refuses any request without its
// token, each configured where the tool itself reads it (.npmrc, .yarnrc.yml npmScopes, bunfig.toml
// [install.scopes]) with the token from the environment. The update must resolve @corp from its
// registry with its token (and never send the token elsewhere), hide the young @corp version like
// any other, keep each package's real registry in the lockfile, leave no token in any output,
// lockfile or cache, and write a lockfile the tool's frozen install accepts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSandbox } from '../helpers/client-sandbox.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { LOCKFILE_OF, type LockClient, tempParent } from '../helpers/lock-with-clients.js';
import { makePackument } from '../helpers/make-packument.js';
import { packageManagerShims } from '../helpers/package-manager-shims.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const NOW = new Date();
const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const CORP_TOKEN = 'corp-secret-token-4f9a1c';
const CLIENTS = ['pnpm', 'yarn-classic', 'yarn-berry', 'bun'] as const;

const doc = (name: string, versions: [string, number][]) =>
  makePackument({ name, versions: versions.map(([version, days]) => ({ version, publishedAt: ago(days) })) });

let publicRegistry: FakeRegistry;
let corpRegistry: FakeRegistry;
let parent: string;
const sandbox = clientSandbox();

beforeAll(async () => {
  parent = await tempParent();
  publicRegistry = await startFakeRegistry({ shape: 'public' });
  corpRegistry = await startFakeRegistry({ shape: 'public' });
  corpRegistry.fault({
    kind: 'status',
    status: 401,
    body: '{"error":"authentication required"}',
    match: (req) => req.headers.authorization !== `Bearer ${CORP_TOKEN}`,
  });
  writeFileSync(
    path.join(parent, 'policy.json'),
    JSON.stringify({ id: 'ci', coolingOffDays: 7, typosquatting: false, semverHonesty: 'off' }),
  );
});

afterAll(async () => {
  await Promise.all([publicRegistry?.close(), corpRegistry?.close()]);
  await sandbox.cleanup();
  rmSync(parent, { recursive: true, force: true });
});

const tools = (client: LockClient) => packageManagerShims(parent, client);

/** The registries as each tool reads them, the token from the environment in every case. */
function writeRegistryConfig(client: LockClient, dir: string, userconfig: string) {
  const pub = publicRegistry.url;
  const corp = corpRegistry.url;
  if (client === 'yarn-berry') {
    writeFileSync(
      path.join(dir, '.yarnrc.yml'),
      [
        `npmRegistryServer: "${pub.replace(/\/$/, '')}"`,
        'unsafeHttpWhitelist: ["127.0.0.1"]',
        'enableGlobalCache: false',
        'enableTelemetry: false',
        'nodeLinker: node-modules',
        'npmScopes:',
        '  corp:',
        `    npmRegistryServer: "${corp.replace(/\/$/, '')}"`,
        `    npmAuthToken: "\${CORP_NPM_TOKEN}"`,
        '',
      ].join('\n'),
    );
  } else if (client === 'bun') {
    writeFileSync(
      path.join(dir, 'bunfig.toml'),
      [
        '[install]',
        `registry = "${pub}"`,
        '',
        '[install.scopes]',
        `corp = { url = "${corp}", token = "$CORP_NPM_TOKEN" }`,
        '',
      ].join('\n'),
    );
  } else {
    // The scope in the project's .npmrc, its token in the user's (pnpm expands variables in
    // credentials only there, since a project file could send them to a registry of its choosing).
    writeFileSync(path.join(dir, '.npmrc'), `registry=${pub}\n@corp:registry=${corp}\n`);
    writeFileSync(userconfig, `//127.0.0.1:${corpRegistry.port}/:_authToken=\${CORP_NPM_TOKEN}\n`);
  }
}

async function clientEnv(client: LockClient) {
  const env = await sandbox.clientEnv(publicRegistry.url);
  env.PATH = `${tools(client)}${path.delimiter}${env.PATH}`;
  env.CORP_NPM_TOKEN = CORP_TOKEN;
  // The registries come from the project's files here, as in a real project.
  for (const key of ['npm_config_registry', 'PNPM_CONFIG_REGISTRY', 'BUN_CONFIG_REGISTRY']) delete env[key];
  return env;
}

const LOCK: Record<Exclude<LockClient, 'npm'>, string[]> = {
  pnpm: ['pnpm', 'install', '--lockfile-only', '--ignore-scripts'],
  'yarn-classic': ['yarn', 'install', '--ignore-scripts', '--non-interactive', '--no-progress'],
  'yarn-berry': ['yarn', 'install', '--mode=update-lockfile'],
  bun: ['bun', 'install', '--lockfile-only', '--ignore-scripts'],
};
const FROZEN: Record<Exclude<LockClient, 'npm'>, string[]> = {
  pnpm: ['pnpm', 'install', '--frozen-lockfile', '--ignore-scripts'],
  'yarn-classic': [
    'yarn',
    'install',
    '--frozen-lockfile',
    '--ignore-scripts',
    '--non-interactive',
    '--no-progress',
  ],
  'yarn-berry': ['yarn', 'install', '--immutable'],
  bun: ['bun', 'install', '--frozen-lockfile', '--ignore-scripts'],
};

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

describe.each(CLIENTS)(
  'lockwarden update of a %s project with a scoped registry that needs a token',
  (client) => {
    it('resolves @corp from its registry with its token only, keeps each registry, and the frozen install passes', {
      timeout: 300_000,
    }, async () => {
      publicRegistry.addPackument(doc('left-pad', [['1.1.0', 400]]));
      corpRegistry.addPackument(doc('@corp/lib', [['2.0.0', 400]]));
      const dir = mkdtempSync(path.join(parent, `${client}-`));
      writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify(
          {
            name: 'app',
            version: '1.0.0',
            private: true,
            dependencies: { 'left-pad': '^1.1.0', '@corp/lib': '^2.0.0' },
          },
          null,
          2,
        ),
      );
      const env = await clientEnv(client);
      writeRegistryConfig(client, dir, env.npm_config_userconfig!);
      const [cmd, ...args] = LOCK[client];
      const locked = await sandbox.run(cmd!, args, dir, env);
      expect(locked.code, `${locked.stdout}\n${locked.stderr}`).toBe(0);
      rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true });

      publicRegistry.addPackument(
        doc('left-pad', [
          ['1.1.0', 400],
          ['1.3.0', 60],
        ]),
      );
      corpRegistry.addPackument(
        doc('@corp/lib', [
          ['2.0.0', 400],
          ['2.1.0', 30],
          ['2.2.0', 2],
        ]),
      );
      const seen = { pub: publicRegistry.requests.length, corp: corpRegistry.requests.length };
      const cacheDir = path.join(parent, `cache-${path.basename(dir)}`);
      mkdirSync(cacheDir);
      const r = await runCliCaptured(
        ['update', dir, '--json', '--cache-dir', cacheDir, '--policy', path.join(parent, 'policy.json')],
        { env, cwd: dir, now: () => NOW },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout);
      expect(json.updated).toEqual([
        { name: '@corp/lib', from: '2.0.0', to: '2.1.0' },
        { name: 'left-pad', from: '1.1.0', to: '1.3.0' },
      ]);
      expect(
        json.skipped.map((s: { name: string; version: string; rule: string }) => [s.name, s.version, s.rule]),
      ).toEqual([['@corp/lib', '2.2.0', 'cooling-off']]);
      expect(json.wrote).toBe(true);

      // @corp was asked of its registry, every time with its token; the token went nowhere else.
      const corpAsked = corpRegistry.requests.slice(seen.corp);
      expect(corpAsked.some((q) => q.path.includes('corp'))).toBe(true);
      for (const q of corpAsked) expect(q.headers.authorization, q.path).toBe(`Bearer ${CORP_TOKEN}`);
      for (const q of publicRegistry.requests.slice(seen.pub)) {
        expect(q.headers.authorization ?? '', q.path).not.toContain(CORP_TOKEN);
        expect(q.path).not.toContain('corp');
      }

      // The lockfile names only the real registries (no loopback proxy), each package its own.
      const text = readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8');
      expect(text).toContain('2.1.0');
      expect(text).not.toContain('2.2.0');
      for (const m of text.matchAll(/http:\/\/127\.0\.0\.1:(\d+)[^\s"',]*/g)) {
        expect([String(publicRegistry.port), String(corpRegistry.port)], m[0]).toContain(m[1]);
        if (m[0].includes('@corp')) expect(m[1], m[0]).toBe(String(corpRegistry.port));
        if (m[0].includes('left-pad')) expect(m[1], m[0]).toBe(String(publicRegistry.port));
      }
      if (client === 'yarn-classic' || client === 'bun') {
        // These two record each package's tarball URL: @corp's is its own registry's.
        expect(text).toContain(`${corpRegistry.url}@corp/lib/-/lib-2.1.0.tgz`);
        expect(text).toContain(`${publicRegistry.url}left-pad/-/left-pad-1.3.0.tgz`);
      }
      // No secret in what lockwarden printed, wrote or cached.
      expect(`${r.stdout}${r.stderr}${text}`).not.toContain(CORP_TOKEN);
      for (const file of filesUnder(cacheDir))
        expect(readFileSync(file).includes(CORP_TOKEN), file).toBe(false);

      // The tool itself, with the project's own configuration, installs exactly that lockfile.
      const [fcmd, ...fargs] = FROZEN[client];
      const frozen = await sandbox.run(fcmd!, fargs, dir, env);
      expect(frozen.code, `${frozen.stdout}\n${frozen.stderr}`).toBe(0);
      expect(
        JSON.parse(readFileSync(path.join(dir, 'node_modules/@corp/lib/package.json'), 'utf8')).version,
      ).toBe('2.1.0');
      expect(readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8')).toBe(text);

      // A wrong token: the update stops (exit 3), says which registry refused and where it is
      // set, shows no token, and writes nothing.
      const wrongCache = path.join(parent, `cache-wrong-${path.basename(dir)}`);
      mkdirSync(wrongCache);
      const failed = await runCliCaptured(
        ['update', dir, '--cache-dir', wrongCache, '--policy', path.join(parent, 'policy.json')],
        { env: { ...env, CORP_NPM_TOKEN: 'wrong-token-5d2e' }, cwd: dir, now: () => NOW },
      );
      expect(failed.code, failed.stderr).toBe(3);
      expect(failed.stderr).toContain(`registry ${corpRegistry.url}@corp%2flib: unexpected HTTP 401`);
      expect(failed.stderr).toContain(
        client === 'yarn-berry'
          ? `set by npmScopes.corp.npmRegistryServer in ${path.join(dir, '.yarnrc.yml')}`
          : client === 'bun'
            ? `set by install.scopes.corp in ${path.join(dir, 'bunfig.toml')}`
            : 'check the auth token for it in .npmrc',
      );
      expect(`${failed.stdout}${failed.stderr}`).not.toMatch(/wrong-token-5d2e|corp-secret-token/);
      expect(readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8')).toBe(text);

      // --latest over both registries (no names: every direct dependency, scoped ones included).
      corpRegistry.addPackument(
        doc('@corp/lib', [
          ['2.0.0', 400],
          ['2.1.0', 30],
          ['2.2.0', 2],
          ['3.0.0', 20],
        ]),
      );
      const latestCache = path.join(parent, `cache-latest-${path.basename(dir)}`);
      mkdirSync(latestCache);
      const latest = await runCliCaptured(
        [
          'update',
          dir,
          '--latest',
          '--json',
          '--cache-dir',
          latestCache,
          '--policy',
          path.join(parent, 'policy.json'),
        ],
        { env, cwd: dir, now: () => NOW },
      );
      expect(latest.stderr).toBe('');
      expect(latest.code).toBe(0);
      expect(JSON.parse(latest.stdout).updated).toEqual([{ name: '@corp/lib', from: '2.1.0', to: '3.0.0' }]);
      expect(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies['@corp/lib']).toBe(
        '^3.0.0',
      );
    });
  },
);
