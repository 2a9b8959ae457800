// A lockwarden service in front of a fake upstream registry and downloads API, all on loopback,
// with a pinned clock. Contract tests call the Koa app in process (`request`); e2e tests and the
// benchmark can `listen()` to give real clients a port.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type CreateAppOptions, createApp, type LockwardenService } from '../../server/create-app.js';
import { createPopularIndex } from '../../src/policy/popular-index.js';
import type { PopularPackage } from '../../src/policy/types.js';
import { type ClosableSources, createSources } from '../../src/sources/create-sources.js';
import { MAX_DOCUMENT_DEPTH } from '../../src/sources/parse-registry-document.js';
import type { Sources } from '../../src/sources/types.js';
import { type FakeDownloads, startFakeDownloads } from './fake-downloads.js';
import {
  type FakeRegistry,
  type FakeRegistryOptions,
  type RegistryShape,
  startFakeRegistry,
} from './fake-registry.js';
import { type InjectedResponse, type InjectOptions, inject } from './inject-request.js';
import type { FullPackument } from './make-packument.js';
import { makePolicy, NOW } from './make-policy.js';

export const ADMIN_TOKEN = 'test-admin-token';

export interface ProxyHarnessOptions {
  packuments?: FullPackument[];
  shape?: RegistryShape;
  /** Keep `dist.tarball` URLs as the documents have them (tarballs on another host). */
  keepTarballUrls?: boolean;
  /** File-form policy overrides (through the real validator); each becomes a `--policy` file policy. */
  filePolicies?: Record<string, unknown>[];
  downloads?: Record<string, number>;
  popular?: PopularPackage[];
  now?: Date;
  /** Reuse a data directory (restart tests); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Generate the admin token instead of fixing it. */
  generatedToken?: boolean;
  app?: Partial<CreateAppOptions>;
  /** Upstream client retries (0 keeps failure tests fast). */
  retries?: number;
  /** Replaces parts of the real sources (a source that throws, for failure tests). */
  wrapSources?: (sources: ClosableSources) => Sources;
  headersTimeoutMs?: number;
  /** Total deadline of one upstream request. */
  timeoutMs?: number;
  /** Upstream documents above this fail as too large. */
  maxBodyBytes?: number;
  /** A (fake) GitHub REST API for tag lookups, with the token that selects it over git. */
  github?: { apiUrl: string; token: string };
  /** Further fake registry options (tarball bytes that differ from the generated ones). */
  registryOptions?: Pick<FakeRegistryOptions, 'tarballs' | 'advisories'>;
}

export interface ProxyHarness {
  registry: FakeRegistry;
  downloads: FakeDownloads;
  service: LockwardenService;
  sources: ClosableSources;
  dataDir: string;
  clock: { now: Date; advance(ms: number): void };
  request(options: InjectOptions): Promise<InjectedResponse>;
  admin(method: string, path: string, body?: unknown): Promise<InjectedResponse>;
  /** Opens a loopback port for real clients; returns the base URL without a trailing slash. */
  listen(): Promise<string>;
  /** Closes the service and starts a new one on the same data directory and fakes. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_POPULAR: PopularPackage[] = [
  { name: 'express', monthlyDownloads: 150_000_000 },
  { name: 'react', monthlyDownloads: 120_000_000 },
  { name: 'lodash', monthlyDownloads: 200_000_000 },
];

export async function startProxyHarness(options: ProxyHarnessOptions = {}): Promise<ProxyHarness> {
  const registry = await startFakeRegistry({
    shape: options.shape ?? 'public',
    packuments: options.packuments ?? [],
    keepTarballUrls: options.keepTarballUrls ?? false,
    ...options.registryOptions,
  });
  const downloads = await startFakeDownloads({ counts: options.downloads ?? {} });
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'lockwarden-serve-')));
  const clock = {
    now: options.now ?? NOW,
    advance(ms: number) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  const now = () => clock.now;
  const popularList = { asOf: '2026-03-01', packages: options.popular ?? DEFAULT_POPULAR };
  const sources = createSources(
    {
      registryUrl: registry.url,
      npm: { cwd: dataDir, env: {} },
      downloadsUrl: downloads.url,
      // Never asked unless a test policy enables suspiciousVersion; a closed loopback port fails fast.
      githubApiUrl: options.github?.apiUrl ?? 'http://127.0.0.1:9/',
      ...(options.github ? { githubToken: options.github.token } : {}),
      gitBaseUrl: 'http://127.0.0.1:9',
      cacheDir: join(dataDir, 'cache'),
      // As `serve` sets it: the proxy re-serializes documents.
      maxDocumentDepth: MAX_DOCUMENT_DEPTH,
      http: {
        retries: options.retries ?? 0,
        // The client's own timeouts unless a test sets one: no test waits for them, and 2 s ones
        // could fire on a loaded machine before a healthy answer was read (a false 504).
        ...(options.headersTimeoutMs ? { headersTimeoutMs: options.headersTimeoutMs } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
      },
    },
    { popular: popularList, now },
  );
  const filePolicies = (options.filePolicies ?? []).map((overrides) => {
    const policy = makePolicy(overrides);
    return { policy, file: `policies/${policy.id}.json` };
  });

  const start = () =>
    createApp({
      dataDir,
      sources: options.wrapSources ? options.wrapSources(sources) : sources,
      popular: createPopularIndex(popularList),
      now,
      ...(options.generatedToken ? {} : { adminToken: ADMIN_TOKEN }),
      filePolicies,
      logger: pino({ level: 'silent' }),
      version: 'test',
      ...options.app,
    });
  let service = await start();
  let server: Server | undefined;

  const harness: ProxyHarness = {
    registry,
    downloads,
    get service() {
      return service;
    },
    sources,
    dataDir,
    clock,
    request: (o) => inject(service.app.callback(), o),
    admin: (method, path, body) =>
      inject(service.app.callback(), {
        method,
        url: `/-/lockwarden/v1${path}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        ...(body === undefined ? {} : { body: body as object }),
      }),
    async listen() {
      server = createServer(service.app.callback());
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async restart() {
      await service.close();
      service = await start();
    },
    async close() {
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      await service.close();
      await sources.close();
      await registry.close();
      await downloads.close();
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
