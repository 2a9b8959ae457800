// The command line as users run it: bin/lockwarden.js loading the bundle in lib/cli/ (npm run
// build). `check` must load only what it runs (issue 15: start-up within 300 ms), so the bundle's
// structure is checked from esbuild's metafile, and the bundled commands are run for real: a
// request through undici's dispatchers (imported on first use, without the rest of undici), an
// audit through Arborist (left in node_modules).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_CLI, builtCliEnv } from '../helpers/built-cli-env.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<
    string,
    {
      entryPoint?: string;
      imports: { path: string; kind: string; external?: boolean }[];
      inputs: Record<string, unknown>;
    }
  >;
}

let registry: FakeRegistry;
let dir: string;
let meta: Metafile;

beforeAll(async () => {
  registry = await startFakeRegistry({
    shape: 'mirror',
    packuments: [
      makePackument({
        name: 'expres',
        versions: [{ version: '0.0.1', publishedAt: new Date(daysAgo(3)) }],
      }),
    ],
  });
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-cli-bundle-'));
  await writeFile(join(dir, 'policy.json'), JSON.stringify({ id: 'typo', typosquatting: true }));
  execFileSync(
    process.execPath,
    ['scripts/build-cli.mjs', '--outdir', join(dir, 'cli'), '--metafile', join(dir, 'meta.json')],
    { stdio: 'ignore' },
  );
  meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Metafile;
});

afterAll(async () => {
  await registry?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Inputs and external packages loaded by importing these entries, dynamic imports not followed. */
function staticClosure(entries: string[]): { inputs: Set<string>; externals: Set<string> } {
  const byEntry = new Map(Object.entries(meta.outputs).map(([file, o]) => [o.entryPoint, file]));
  const todo = entries.map((e) => {
    const file = byEntry.get(e);
    if (!file) throw new Error(`${e} is no entry of the bundle`);
    return file;
  });
  const seen = new Set<string>();
  const inputs = new Set<string>();
  const externals = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const output = meta.outputs[file]!;
    for (const input of Object.keys(output.inputs)) inputs.add(input);
    for (const imp of output.imports) {
      if (imp.kind !== 'import-statement') continue;
      if (imp.external) externals.add(imp.path);
      else todo.push(imp.path);
    }
  }
  return { inputs, externals };
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BUILT_CLI, ...args],
      {
        cwd: dir,
        env: builtCliEnv(dir, env),
        timeout: 180_000,
      },
      (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('the CLI bundle (scripts/build-cli.mjs)', () => {
  it('loads for `check` none of what other commands need', () => {
    // What `lockwarden check <name>` imports under a typosquatting policy (src/cli/main.ts).
    const { inputs, externals } = staticClosure([
      'src/cli/main.ts',
      'src/sources/popular-list.ts',
      'src/policy/popular-index.ts',
      'src/policy/typosquatting.ts',
      'src/sources/create-sources.ts',
    ]);
    expect(inputs).toContain('src/policy/find-lookalike.ts');
    expect([...externals].filter((e) => !isBuiltin(e))).toEqual([]);
    const heavy = [...inputs].filter((i) =>
      /node_modules\/(undici|ae-cvss-calculator|@npmcli\/(arborist|package-json|git|map-workspaces)|pacote|typescript|koa|pg|pino)\/|node_modules\/zod\/v4\/locales\/(?!en\.js)/.test(
        i,
      ),
    );
    expect(heavy).toEqual([]);
    expect([...inputs].filter((i) => i.startsWith('server/') || i.startsWith('src/lockfile/'))).toEqual([]);
    // npm-package-arg (with hosted-git-info and lru-cache) loads only for a spec that is not a
    // plain name or name@version, and for a policy that checks git tags.
    expect(
      [...inputs].filter((i) => /node_modules\/(npm-package-arg|hosted-git-info|lru-cache)\//.test(i)),
    ).toEqual([]);
    expect([...externals].filter((e) => /^(node:)?(crypto|perf_hooks|http2|child_process)$/.test(e))).toEqual(
      [],
    );
    // zod's `z` object holds every schema kind, so importing it bundles all of zod; the policy
    // parser's `import * as z` leaves out what it never calls (coercions, ISO formats, the
    // JSON Schema reader, z.compile...): 195 KB of the chunk instead of 406 KB.
    expect(inputs).toContain('node_modules/zod/v4/core/schemas.js');
    expect(
      [...inputs].filter((i) =>
        /node_modules\/zod\/v4\/(classic\/(external|iso|coerce)|core\/compile)\.js/.test(i),
      ),
    ).toEqual([]);
  });

  it("loads for the first request undici's dispatchers, not the rest of undici", () => {
    // What http-client.ts imports when a run sends its first request.
    const { inputs } = staticClosure(['src/sources/http-dispatcher.ts']);
    expect(inputs).toContain('node_modules/undici/lib/dispatcher/agent.js');
    expect(inputs).toContain('node_modules/undici/lib/dispatcher/env-http-proxy-agent.js');
    const rest = [...inputs].filter((i) =>
      /node_modules\/undici\/(index\.js|lib\/(mock|cache|interceptor)\/|lib\/web\/(websocket|eventsource|cache|cookies)\/|lib\/web\/fetch\/index\.js)/.test(
        i,
      ),
    );
    expect(rest).toEqual([]);
  });

  it('keeps the heavy dependencies in node_modules', () => {
    const bundled = Object.keys(meta.inputs).filter((i) =>
      /node_modules\/(@npmcli\/arborist|pacote|typescript|koa|pg|pino)\//.test(i),
    );
    expect(bundled).toEqual([]);
  });

  it('checks a look-alike through the registry (undici loaded on first use)', async () => {
    // Which Node.js built-ins the run loaded, written by a preload when it exits: the costly ones
    // `check` has no use for stay unloaded (a global such as `performance` loads one unseen).
    const preload = join(dir, 'builtins-preload.cjs');
    const report = join(dir, 'builtins.json');
    await writeFile(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(process.moduleLoadList)));`,
    );
    const r = await run(
      [
        'check',
        'expres',
        '--policy',
        'policy.json',
        '--registry',
        registry.url,
        '--cache-dir',
        join(dir, 'cache'),
      ],
      { NODE_OPTIONS: `--require ${preload}` },
    );
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.stdout).toMatch(/expres looks like express .*: one character omitted/);
    expect(r.code).toBe(1);
    const loaded = (JSON.parse(await readFile(report, 'utf8')) as string[])
      .filter((m) => m.startsWith('NativeModule '))
      .map((m) => m.slice('NativeModule '.length));
    expect(loaded).toContain('http'); // the run did send its request
    expect(loaded.filter((m) => /^(crypto|perf_hooks|http2|child_process|worker_threads)$/.test(m))).toEqual(
      [],
    );
  });

  it('audits a lockfile through Arborist', async () => {
    const r = await run([
      'audit',
      resolve('test/fixtures/lockfiles/alias'),
      '--policy',
      join(dir, 'policy.json'),
      '--registry',
      registry.url,
      '--cache-dir',
      join(dir, 'cache'),
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/unexpected error/);
    const report = JSON.parse(r.stdout) as { exitCode: number };
    expect(report.exitCode).toBe(r.code);
  });
});
