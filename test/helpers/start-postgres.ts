// A throwaway PostgreSQL server for tests: initdb into a temporary directory and `postgres` on a
// Unix socket there (no TCP port, so no clash with anything else on the machine). PostgreSQL
// refuses to run as root, so under root (CI) the cluster belongs to `nobody` and the server runs
// as that user. Needs Debian's `postgresql` package (.ci/run installs it).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** A new empty database; returns its connection URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

const NOBODY = 65_534;

async function findBinaries(): Promise<string> {
  const fromPath = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates: string[] = [];
  if (fromPath.status === 0) candidates.push(fromPath.stdout.trim());
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = (await readdir(root)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(root, v, 'bin'));
  }
  const found = candidates.find(
    (dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
  );
  if (!found) {
    throw new Error(
      'PostgreSQL is not installed (no initdb/postgres): apt-get install -y postgresql (.ci/run does this)',
    );
  }
  return found;
}

function run(file: string, args: string[], asUser: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...asUser });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}:\n${output}`)),
    );
  });
}

/** `durable`: keep fsync on (benchmarks); tests run without it. */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const bin = await findBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'lockwarden-pg-'));
  const asUser = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : undefined;
  if (asUser) {
    await chown(dir, asUser.uid, asUser.gid);
    await chmod(dir, 0o700);
  }
  const data = join(dir, 'data');
  await run(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    asUser,
  );
  let log = '';
  const server: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      ...['-D', data, '-k', dir, '-c', 'listen_addresses=', '-c', 'max_connections=200'],
      ...(options.durable ? [] : ['-c', 'fsync=off']),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...asUser },
  );
  server.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  server.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const urlOf = (db: string) => `postgres://postgres@/${db}?host=${encodeURIComponent(dir)}`;

  // Ready when it accepts a connection (it logs before it listens, so the log cannot tell). Up to
  // a minute of 50 ms waits (it ends as soon as the server is up; 15 s left a loaded machine little room).
  for (let attempt = 0; ; attempt++) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}:\n${log}`);
    const client = new pg.Client({ connectionString: urlOf('postgres') });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (err) {
      await client.end().catch(() => {});
      if (attempt > 1200)
        throw new Error(`postgres did not accept connections: ${(err as Error).message}\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  let counter = 0;
  return {
    async createDatabase(name = `test_${process.pid}_${++counter}`) {
      const admin = new pg.Client({ connectionString: urlOf('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return urlOf(name);
    },
    async stop() {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
