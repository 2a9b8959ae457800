// There is no Docker engine here, so this tests what the images do rather than the images: the
// service image's settings reach `lockwarden serve`, its HEALTHCHECK command works against a
// running service, it does not run as root, and the consumer example points npm at a policy URL
// the service routes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegistryPath } from '../../server/registry-path.js';
import { parseServeArgs, runServe } from '../../server/serve-command.js';
import { runCli } from '../../src/cli/main.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';

interface Stage {
  instructions: Array<{ op: string; args: string }>;
}

/** FROM-separated stages, with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n\s*(#[^\n]*\n\s*)*/g, ' ').split('\n');
  const stages: Stage[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(trimmed) ?? [];
    if (!op) continue;
    if (op.toUpperCase() === 'FROM') stages.push({ instructions: [] });
    stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args: args ?? '' });
  }
  return stages;
}

function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.op === 'ENV')) {
    for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

const service = parseDockerfile(await readFile('Dockerfile', 'utf8'));
const final = service.at(-1)!;
const consumer = parseDockerfile(await readFile('examples/docker/Dockerfile', 'utf8')).at(-1)!;

describe('service image', () => {
  it('runs as a non-root user on a current Node LTS, with its data on a volume', () => {
    const from = final.instructions.find((i) => i.op === 'FROM')!.args;
    expect(from).toMatch(/^node:(22|24)\b/);
    const user = final.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)$/);
    const env = envOf(final);
    expect(final.instructions.find((i) => i.op === 'VOLUME')!.args).toContain(`"${env.LOCKWARDEN_DATA_DIR}"`);
    expect(final.instructions.find((i) => i.op === 'EXPOSE')!.args).toBe(env.LOCKWARDEN_PORT);
  });

  it('has git (tag checks without GITHUB_TOKEN run git ls-remote) and CA certificates, without apt lists', () => {
    const runs = final.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    const install = runs.find((r) => /apt-get install/.test(r));
    expect(install).toBeDefined();
    expect(install).toMatch(
      /apt-get install -y --no-install-recommends (?=.*\bgit\b)(?=.*\bca-certificates\b)/,
    );
    expect(install).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
    // Installed while still root: the USER switch comes after.
    const order = final.instructions.map((i) => i.op);
    expect(order.indexOf('RUN')).toBeLessThan(order.lastIndexOf('USER'));
  });

  it('passes its environment to lockwarden serve: all interfaces, the exposed port, the volume', () => {
    const settings = parseServeArgs([], envOf(final), '/app');
    expect(settings).toMatchObject({ host: '0.0.0.0', port: 4880, dataDir: '/data' });
  });

  it('starts lockwarden serve through the CLI entry point', async () => {
    const entry = final.instructions.find((i) => i.op === 'ENTRYPOINT')!.args;
    expect(JSON.parse(entry)).toEqual(['node', 'bin/lockwarden.js', 'serve']);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d;
    });
    const code = await runCli(['serve', '--help'], {
      stdout: out,
      stderr: new PassThrough(),
      env: {},
      cwd: '/app',
    });
    expect(code).toBe(0);
    expect(text).toMatch(/^Usage: lockwarden serve \[options\]/);
  });

  describe('HEALTHCHECK', () => {
    let registry: FakeRegistry;
    let dir: string;
    beforeAll(async () => {
      registry = await startFakeRegistry();
      dir = await mkdtemp(join(tmpdir(), 'lockwarden-health-'));
    });
    afterAll(async () => {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    });

    const healthcheck = () => {
      const args = final.instructions.find((i) => i.op === 'HEALTHCHECK')!.args;
      const cmd = /CMD\s+(\[.*\])\s*$/.exec(args)![1]!;
      return JSON.parse(cmd) as string[];
    };
    const runHealthcheck = (port: number) =>
      new Promise<number>((resolve) => {
        const [bin, ...args] = healthcheck();
        expect(bin).toBe('node');
        execFile(process.execPath, args, { env: { LOCKWARDEN_PORT: String(port) }, timeout: 10_000 }, (err) =>
          resolve(err ? Number(err.code ?? 1) : 0),
        );
      });

    it('succeeds against a running service and fails when nothing answers', async () => {
      const stop = new AbortController();
      let port = 0;
      let ready: () => void = () => {};
      const listening = new Promise<void>((resolve) => {
        ready = resolve;
      });
      const exited = runServe(
        ['--port', '0', '--data', dir, '--upstream', registry.url, '--log-level', 'silent'],
        {
          stdout: new PassThrough(),
          stderr: new PassThrough(),
          env: { HOME: dir, LOCKWARDEN_DOWNLOADS_URL: 'http://127.0.0.1:9/' },
          cwd: dir,
          signal: stop.signal,
          onListening: ({ url }) => {
            port = Number(new URL(url).port);
            ready();
          },
        },
      );
      await listening;
      expect(await runHealthcheck(port)).toBe(0);
      stop.abort();
      expect(await exited).toBe(0);
      expect(await runHealthcheck(port)).toBe(1);
    });
  });
});

describe('consumer example', () => {
  it('sets NPM_CONFIG_REGISTRY to a policy URL with a label that the service routes', () => {
    const arg = consumer.instructions.find(
      (i) => i.op === 'ARG' && i.args.startsWith('NPM_CONFIG_REGISTRY='),
    )!;
    const registry = new URL(arg.args.slice('NPM_CONFIG_REGISTRY='.length));
    expect(envOf(consumer).NPM_CONFIG_REGISTRY).toBe(['$', '{NPM_CONFIG_REGISTRY}'].join(''));
    const parsed = parseRegistryPath(`${registry.pathname}left-pad`);
    expect(parsed).toEqual({
      ok: true,
      value: { policyId: 'strict', label: 'api-image', request: { kind: 'packument', name: 'left-pad' } },
    });
    // Lockfile tarball URLs go through the policy as well.
    expect(envOf(consumer).NPM_CONFIG_REPLACE_REGISTRY_HOST).toBe('always');
    expect(consumer.instructions.some((i) => i.op === 'RUN' && /npm ci\b/.test(i.args))).toBe(true);
  });
});
