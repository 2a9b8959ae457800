// `lockwarden serve` as the CLI runs it: flags, the printed NPM_CONFIG_REGISTRY lines and admin
// token, a real port on loopback, and a clean stop.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { displayUrl, redactUrlCredentials } from '../../server/redact-url.js';
import { parseServeArgs, runServe } from '../../server/serve-command.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';

let dir: string;
let registry: FakeRegistry;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-serve-cmd-'));
  registry = await startFakeRegistry({
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: [{ version: '1.0.0', publishedAt: new Date('2020-01-01T00:00:00Z') }],
      }),
    ],
  });
});
afterEach(async () => {
  await registry.close();
  await rm(dir, { recursive: true, force: true });
});

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => {
    text += d;
  });
  return { stream, text: () => text };
}

const env = () => ({
  HOME: dir,
  LOCKWARDEN_DOWNLOADS_URL: 'http://127.0.0.1:9/',
  GITHUB_API_URL: 'http://127.0.0.1:9/',
  LOCKWARDEN_LOG_LEVEL: 'silent',
});

describe('runServe', () => {
  it('starts with a policy file, prints the registry lines and the admin token once, serves, and stops', async () => {
    await writeFile(join(dir, 'strict.yaml'), 'id: strict\nname: Strict\ncoolingOffDays: 7\n');
    const out = capture();
    const err = capture();
    const stop = new AbortController();
    let url = '';
    let ready: () => void = () => {};
    const listening = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const exited = runServe(
      ['--port', '0', '--data', 'state', '--upstream', registry.url, '--policy', 'strict.yaml'],
      {
        stdout: out.stream,
        stderr: err.stream,
        env: env(),
        cwd: dir,
        signal: stop.signal,
        onListening: (info) => {
          url = info.url;
          ready();
        },
      },
    );
    await listening;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const text = out.text();
    expect(text).toContain(`lockwarden serve: listening on ${url}/ (upstream ${registry.url})`);
    expect(text).toMatch(/Admin token \(shown once; store it now, or set LOCKWARDEN_ADMIN_TOKEN\): lw_\S+/);
    expect(text).toContain(
      `NPM_CONFIG_REGISTRY=${url}/strict/    # Strict, block mode (from ${join(dir, 'strict.yaml')})`,
    );
    expect(text).toContain(
      `Add a consumer label for the audit log after "~": NPM_CONFIG_REGISTRY=${url}/strict~<label>/`,
    );

    const ping = await fetch(`${url}/-/ping`);
    expect(await ping.json()).toEqual({});
    // Once listening, the service checked its upstream (server/warm-up.ts), once.
    await vi.waitFor(() => expect(registry.requests.filter((r) => r.path === '/-/ping')).toHaveLength(1));
    const doc = (await (await fetch(`${url}/strict/left-pad`)).json()) as {
      versions: Record<string, { dist: { tarball: string } }>;
    };
    expect(doc.versions['1.0.0']?.dist.tarball).toBe(`${url}/strict/left-pad/-/left-pad-1.0.0.tgz`);
    stop.abort();
    expect(await exited).toBe(0);
    expect(err.text()).toBe('');

    // Second start on the same data dir: the token is not printed again.
    const out2 = capture();
    const stop2 = new AbortController();
    const exited2 = runServe(['--port', '0', '--data', 'state', '--upstream', registry.url], {
      stdout: out2.stream,
      stderr: capture().stream,
      env: env(),
      cwd: dir,
      signal: stop2.signal,
      onListening: () => stop2.abort(),
    });
    expect(await exited2).toBe(0);
    expect(out2.text()).not.toContain('Admin token');
    expect(out2.text()).toMatch(
      /NPM_CONFIG_REGISTRY=http:\/\/127\.0\.0\.1:\d+\/default\/ {4}# Default, block mode\n/,
    );
  });

  it('never shows upstream credentials, and accepts check tokens from flags and environment', async () => {
    const upstream = registry.url.replace('http://', 'http://lw-user:s3cret-pass@');
    const out = capture();
    const err = capture();
    const stop = new AbortController();
    let url = '';
    let ready: () => void = () => {};
    const listening = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const exited = runServe(
      ['--port', '0', '--data', 'state', '--upstream', upstream, '--check-token', 'ci-flag'],
      {
        stdout: out.stream,
        stderr: err.stream,
        env: { ...env(), LOCKWARDEN_ADMIN_TOKEN: 'admin-env', LOCKWARDEN_CHECK_TOKEN: 'ci-env-1, ci-env-2' },
        cwd: dir,
        signal: stop.signal,
        onListening: (info) => {
          url = info.url;
          ready();
        },
      },
    );
    await listening;
    expect(out.text()).toContain(`(upstream ${registry.url})`);
    const health = await (await fetch(`${url}/-/lockwarden/v1/health`)).text();
    expect(JSON.parse(health).upstream).toBe(registry.url);
    const check = (token: string) =>
      fetch(`${url}/-/lockwarden/v1/policies/default/check`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ packages: [{ name: 'left-pad', version: '1.0.0' }] }),
      });
    for (const token of ['ci-flag', 'ci-env-1', 'ci-env-2', 'admin-env'])
      expect((await check(token)).status).toBe(200);
    expect((await check('wrong')).status).toBe(401);
    const policies = await fetch(`${url}/-/lockwarden/v1/policies`, {
      headers: { authorization: 'Bearer ci-flag' },
    });
    expect(policies.status).toBe(403);
    stop.abort();
    expect(await exited).toBe(0);
    for (const text of [out.text(), err.text(), health]) expect(text).not.toContain('s3cret-pass');
  });

  it('reports a bad policy file and exits 2 before listening', async () => {
    await writeFile(join(dir, 'bad.json'), '{"id": "bad", "coolingOffDays": "7d"}');
    const err = capture();
    const code = await runServe(
      ['--port', '0', '--data', 'state', '--upstream', registry.url, '--policy', 'bad.json'],
      {
        stdout: capture().stream,
        stderr: err.stream,
        env: env(),
        cwd: dir,
      },
    );
    expect(code).toBe(2);
    expect(err.text()).toMatch(/bad\.json: invalid policy, 1 problem:\n.*coolingOffDays/);
  });

  it('says which database it cannot reach, without its password, and exits 2', async () => {
    const err = capture();
    const code = await runServe(
      [
        '--port',
        '0',
        '--data',
        'state',
        '--upstream',
        registry.url,
        '--database-url',
        `postgres://lw:s3cret@/lw?host=${dir}/nowhere`,
      ],
      { stdout: capture().stream, stderr: err.stream, env: env(), cwd: dir },
    );
    expect(code).toBe(2);
    expect(err.text()).toMatch(/^lockwarden serve: database postgres:\/\/lw@\/lw: .*ENOENT/);
    expect(err.text()).not.toContain('s3cret');
  });

  it('names the command once in a usage error', async () => {
    const err = capture();
    const code = await runServe(['--bogus'], {
      stdout: capture().stream,
      stderr: err.stream,
      env: env(),
      cwd: dir,
    });
    expect(code).toBe(2);
    expect(err.text()).toBe("lockwarden serve: Unknown option '--bogus'; see lockwarden serve --help\n");
  });
});

describe('parseServeArgs', () => {
  const cases: Array<{ argv: string[]; env?: Record<string, string>; error: RegExp }> = [
    { argv: ['--port', 'abc'], error: /--port: expected an integer from 0 to 65535, got "abc"/ },
    {
      argv: [],
      env: { LOCKWARDEN_PORT: '70000' },
      error: /LOCKWARDEN_PORT: expected an integer from 0 to 65535/,
    },
    {
      argv: ['--upstream', 'ftp://x'],
      error: /upstream registry URL \(--upstream\) "ftp:\/\/x" must be http:\/\/ or https:\/\//,
    },
    { argv: ['--bogus'], error: /^Unknown option '--bogus'/ },
    { argv: ['--timeout', '0'], error: /--timeout: expected an integer from 1 to 3600000, got "0"/ },
    { argv: ['--log-level', 'loud'], error: /--log-level: expected fatal, error/ },
    { argv: ['--domain', 'not a domain'], error: /--domain: expected a DNS name/ },
    { argv: ['extra'], error: /Unexpected argument 'extra'/ },
    {
      argv: ['--database-url', 'mysql://db/x'],
      error: /--database-url: expected postgres:\/\/user:password@host/,
    },
  ];
  it.each(cases)('rejects $argv', ({ argv, env: e, error }) => {
    expect(() => parseServeArgs(argv, e ?? {}, '/srv')).toThrow(error);
  });

  it('reads flags over environment, with documented defaults', () => {
    const s = parseServeArgs(
      ['--port', '9000', '--policy', 'a.yaml', '--policy', 'b.json'],
      { LOCKWARDEN_PORT: '1', LOCKWARDEN_HOST: '0.0.0.0', LOCKWARDEN_DATA_DIR: '/data' },
      '/srv',
    );
    expect(s).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/data',
      policyFiles: ['/srv/a.yaml', '/srv/b.json'],
      cacheTtlMs: 60_000,
      auditMaxEntries: 100_000,
      auditMaxAgeDays: 90,
    });
    expect(parseServeArgs([], {}, '/srv')).toMatchObject({
      port: 4880,
      host: '127.0.0.1',
      dataDir: '/srv/.lockwarden-data',
    });
    expect(parseServeArgs([], { LOCKWARDEN_POLICY: 'x.yaml, y.yaml' }, '/srv')).toMatchObject({
      policyFiles: ['/srv/x.yaml', '/srv/y.yaml'],
    });
    expect(parseServeArgs(['--timeout', '5000'], { LOCKWARDEN_TIMEOUT: '1' }, '/srv')).toMatchObject({
      timeoutMs: 5_000,
    });
    expect(parseServeArgs([], { LOCKWARDEN_TIMEOUT: '7000' }, '/srv')).toMatchObject({ timeoutMs: 7_000 });
    expect(parseServeArgs([], {}, '/srv')).not.toHaveProperty('timeoutMs');
    expect(parseServeArgs(['--help'], {}, '/srv')).toBe('help');
    expect(parseServeArgs([], {}, '/srv')).toMatchObject({ prefetch: true });
    expect(parseServeArgs(['--no-prefetch'], {}, '/srv')).toMatchObject({ prefetch: false });
    expect(parseServeArgs([], { LOCKWARDEN_DATABASE_URL: 'postgres://lw:pw@db/lw' }, '/srv')).toMatchObject({
      databaseUrl: 'postgres://lw:pw@db/lw',
    });
  });
});

describe('upstream URLs shown without credentials', () => {
  const cases: Array<{ input: string; shown: string; redacted: string }> = [
    {
      input: 'https://user:pa55@registry.example.test/npm/?token=x',
      shown: 'https://registry.example.test/npm/',
      redacted: 'https://registry.example.test/npm/?token=x',
    },
    { input: 'http://tok@127.0.0.1:9/', shown: 'http://127.0.0.1:9/', redacted: 'http://127.0.0.1:9/' },
    { input: 'http://127.0.0.1:9/a', shown: 'http://127.0.0.1:9/a', redacted: 'http://127.0.0.1:9/a' },
  ];
  it.each(cases)('$input', ({ input, shown, redacted }) => {
    expect(displayUrl(input)).toBe(shown);
    expect(redactUrlCredentials(`registry ${input}: HTTP 500`)).toBe(`registry ${redacted}: HTTP 500`);
  });
});
