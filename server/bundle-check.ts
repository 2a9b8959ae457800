// The proxy's check of what a bundler's tarball carries, before it serves it. The bytes judged are
// the bytes served: the tarball is fetched the way every tarball is (upstream.ts: the upstream's
// origin, `--tarball-origin` hosts, redirects, the tarball deadline), checked against the
// document's integrity (or shasum), listed, judged (src/engine/bundled-packages.ts, the same
// judgement as the update's), and then that buffer is sent. The list is remembered per integrity,
// so later downloads of the same bundler stream as any tarball does (clients check the integrity).
import {
  type BundledFacts,
  type BundleJudgement,
  type BundleLimits,
  type BundleList,
  declaresBundles,
  judgeBundledPackages,
  listBundledPackages,
} from '../src/engine/bundled-packages.js';
import type { PopularIndex } from '../src/policy/types.js';
import { readBody } from '../src/sources/read-body.js';
import { createSemaphore, type Semaphore } from '../src/sources/semaphore.js';
import { matchesIntegrity, matchesShasum, publishedDigest } from '../src/sources/tarball-integrity.js';
import type { Manifest } from '../src/sources/types.js';
import { refusalMessage } from './evaluate-package-state.js';
import type { PackageCache } from './package-cache.js';
import type { StoredPolicy } from './policy-store.js';
import { redactUrlCredentials } from './redact-url.js';
import { discardBody } from './stream-body.js';
import type { Upstream } from './upstream.js';

/** A judgement, and the verified bytes when they were read for it (send those). */
export type BundleOutcome = BundleJudgement & { body?: Buffer };

export interface BundleCheck {
  /** Judges what `name@version` bundles; only for manifests that declare bundles. */
  check(
    stored: StoredPolicy,
    name: string,
    version: string,
    manifest: Manifest,
    tarballUrl: string,
    /**
     * The asking client's: aborted when it leaves. A read still waiting for a slot is dropped
     * once every download that asked for it has left (a read under way finishes: its list is kept).
     */
    client?: AbortSignal,
  ): Promise<BundleOutcome>;
  /** The judgement from a list already read (the refusal page bun is sent to); undefined if none. */
  judgeKnown(
    stored: StoredPolicy,
    name: string,
    version: string,
    manifest: Manifest,
  ): Promise<BundleJudgement | undefined>;
  /**
   * What bun's refusal page says of a bundler's tarball: from the list its refusal was judged
   * from, else (forgotten, another replica, no digest) from the tarball read and judged again;
   * undefined when it bundles nothing blocked (or declares no bundles).
   */
  refusalFor(
    stored: StoredPolicy,
    name: string,
    version: string,
    manifest: Manifest,
    client?: AbortSignal,
  ): Promise<{ status: 403 | 502; message: string } | undefined>;
}

export interface BundleCheckOptions extends BundleLimits {
  packages: PackageCache;
  upstream: Upstream;
  popular: PopularIndex;
  now: () => Date;
  /** Largest bundler tarball read (default 64 MB); a larger one cannot be checked, so is not served. */
  maxTarballBytes?: number;
  /** Bundler tarballs read at once, service-wide (default 2): each may inflate to many MB. */
  concurrency?: number;
  /**
   * The service-wide limiter of tarball reads (`concurrency` slots), shared with the check API's
   * bundle reads (create-app.ts); one of its own when absent.
   */
  limit?: Semaphore;
}

/** Tarballs whose bundled packages are remembered (a list is a few names). */
const MAX_LISTS = 1_000;
/** A tarball that could not be read is not fetched again for this long (a bomb, a wrong integrity). */
const FAILURE_TTL_MS = 60_000;

/** Where a list is remembered: the bundler version and the digest its bytes were checked against. */
function listKey(name: string, version: string, digest: { integrity: string } | { shasum: string }): string {
  return `${name}@${version}\u0000${'integrity' in digest ? digest.integrity : `sha1:${digest.shasum}`}`;
}

/**
 * A list, with the verified bytes when they were read for it; or why it could not be had
 * (`abandoned`: never read, every client that asked left while it waited; not a failure).
 */
type Read = { list: BundleList; body?: Buffer } | { error: string; abandoned?: true };

const ABANDONED: Read = {
  error: 'every download that asked for it left before it was read',
  abandoned: true,
};

/** A read in flight, shared by the downloads waiting for it. */
interface PendingRead {
  result: Promise<Read>;
  /** Downloads waiting for it that may still leave (one without a signal never does). */
  waiters: number;
  started: boolean;
  /** Aborted when the last waiter leaves before the read started: it gives up its queue place. */
  abandon: AbortController;
}

export function createBundleCheck(options: BundleCheckOptions): BundleCheck {
  const lists = new Map<string, BundleList>();
  const failures = new Map<string, { error: string; untilMs: number }>();
  const reading = new Map<string, PendingRead>();
  const limit = options.limit ?? createSemaphore(options.concurrency ?? 2);

  function read(manifest: Manifest, url: string, pending: PendingRead): Promise<Read> {
    const run = async (): Promise<Read> => {
      pending.started = true;
      try {
        const res = await options.upstream.fetchTarball(url, { accept: '*/*' });
        if (res.statusCode !== 200) {
          discardBody(res.body);
          return { error: `the upstream answered HTTP ${res.statusCode} for its tarball` };
        }
        const encoding = res.headers['content-encoding'];
        const body = await readBody(
          res.body,
          typeof encoding === 'string' ? encoding : undefined,
          options.maxTarballBytes ?? 64 * 1024 * 1024,
          () => {},
        );
        const digest = publishedDigest(manifest);
        const matches =
          digest === undefined ||
          ('integrity' in digest
            ? matchesIntegrity(body, digest.integrity)
            : matchesShasum(body, digest.shasum));
        if (!matches) return { error: 'the tarball does not match the digest its document published' };
        return { list: await listBundledPackages(body, options), body };
      } catch (err) {
        return { error: redactUrlCredentials(err instanceof Error ? err.message : String(err)) };
      }
    };
    return limit(run, {
      signal: pending.abandon.signal,
      onGiveUp: () => ABANDONED,
    });
  }

  /**
   * Joins (or starts) the read under `key` for one download. `settle` runs once, when a read this
   * call started ends. A waiter whose client leaves is counted out; the last one out of a read
   * that has not started drops it, and the next download starts a new one.
   */
  function join(
    key: string,
    manifest: Manifest,
    url: string,
    client: AbortSignal | undefined,
    settle?: (result: Read) => void,
  ): Promise<Read> {
    let pending = reading.get(key);
    // Gone before it asked: nothing is started for it (a free slot would start a read at once).
    if (!pending && client?.aborted) return Promise.resolve(ABANDONED);
    if (!pending) {
      const created: PendingRead = {
        result: undefined as unknown as Promise<Read>,
        waiters: 0,
        started: false,
        abandon: new AbortController(),
      };
      created.result = read(manifest, url, created).then((result) => {
        if (reading.get(key) === created) reading.delete(key);
        settle?.(result);
        return result;
      });
      reading.set(key, created);
      pending = created;
    }
    const joined = pending;
    if (!client) {
      // Never leaves: the read is never dropped for the others' sake.
      joined.waiters = Number.POSITIVE_INFINITY;
      return joined.result;
    }
    joined.waiters++;
    const leave = () => {
      joined.waiters--;
      if (joined.waiters > 0 || joined.started) return;
      if (reading.get(key) === joined) reading.delete(key);
      joined.abandon.abort();
    };
    if (client.aborted) leave();
    else {
      client.addEventListener('abort', leave, { once: true });
      void joined.result.finally(() => client.removeEventListener('abort', leave));
    }
    return joined.result;
  }

  /** The list for these bytes: remembered, being read, or read now (with the bytes read). */
  async function listFor(
    name: string,
    version: string,
    manifest: Manifest,
    url: string,
    client: AbortSignal | undefined,
  ): Promise<Read> {
    const digest = publishedDigest(manifest);
    // Nothing says which bytes these are: read every time, shared only by downloads in flight.
    if (digest === undefined) return join(`${name}@${version}\u0000${url}`, manifest, url, client);
    const key = listKey(name, version, digest);
    const known = lists.get(key);
    if (known) {
      lists.delete(key);
      lists.set(key, known);
      return { list: known };
    }
    const failed = failures.get(key);
    if (failed && failed.untilMs > options.now().getTime()) return { error: failed.error };
    return join(key, manifest, url, client, (result) => {
      if ('error' in result) {
        // A read nobody waited for says nothing about the tarball.
        if (!result.abandoned)
          failures.set(key, { error: result.error, untilMs: options.now().getTime() + FAILURE_TTL_MS });
      } else {
        failures.delete(key);
        lists.set(key, result.list);
        while (lists.size > MAX_LISTS) lists.delete(lists.keys().next().value as string);
      }
      while (failures.size > MAX_LISTS) failures.delete(failures.keys().next().value as string);
    });
  }

  function judge(
    stored: StoredPolicy,
    name: string,
    version: string,
    list: BundleList,
  ): Promise<BundleJudgement> {
    const factsOf = async (bundled: string): Promise<BundledFacts> => {
      const { state } = await options.packages.lookup(stored, bundled, { prefetch: false });
      switch (state.kind) {
        case 'ok':
          return { kind: 'known', evaluation: state.evaluation };
        case 'refused':
          // Refused as a whole from its document (every version blocked): judged by that
          // evaluation; a name the registry does not know is judged as unknown (its own rules).
          return state.evaluation
            ? { kind: 'known', evaluation: state.evaluation }
            : { kind: 'unknown-name' };
        case 'not-found':
          return { kind: 'unknown-name' };
        case 'unavailable':
          return { kind: 'unavailable', reason: state.message };
      }
    };
    return judgeBundledPackages({ name, version }, list, factsOf, {
      policy: stored.policy,
      now: options.now(),
      popular: options.popular,
      ...(options.maxBundled === undefined ? {} : { maxBundled: options.maxBundled }),
    });
  }

  const check: BundleCheck['check'] = async (stored, name, version, manifest, tarballUrl, client) => {
    const result = await listFor(name, version, manifest, tarballUrl, client);
    if ('error' in result) {
      return {
        kind: 'unavailable',
        message: `could not read what ${name}@${version} bundles: ${result.error}; lockwarden serves no unchecked tarballs`,
      };
    }
    const judged = await judge(stored, name, version, result.list);
    if (judged.kind === 'unavailable')
      return { ...judged, message: `${judged.message}; lockwarden serves no unchecked tarballs` };
    return judged.kind === 'ok' && result.body ? { ...judged, body: result.body } : judged;
  };

  const judgeKnown: BundleCheck['judgeKnown'] = async (stored, name, version, manifest) => {
    const digest = publishedDigest(manifest);
    if (digest === undefined) return undefined;
    const list = lists.get(listKey(name, version, digest));
    return list ? judge(stored, name, version, list) : undefined;
  };

  return {
    check,
    judgeKnown,
    async refusalFor(stored, name, version, manifest, client) {
      if (!declaresBundles(manifest)) return undefined;
      const url = manifest.dist?.tarball;
      const judged =
        (await judgeKnown(stored, name, version, manifest)) ??
        (typeof url === 'string' && options.upstream.allowsTarballUrl(url)
          ? await check(stored, name, version, manifest, url, client)
          : undefined);
      if (judged?.kind === 'blocked')
        return { status: 403, message: refusalMessage(judged.findings, stored) };
      return judged?.kind === 'unavailable' ? { status: 502, message: judged.message } : undefined;
    },
  };
}
