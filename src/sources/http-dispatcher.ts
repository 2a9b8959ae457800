// The connection layer under every outbound request (fact sources, the proxy's tarballs and
// pass-through, the Action's GitHub and service calls): undici dispatchers built the way npm
// would connect — its proxy settings (`proxy`, `https-proxy`, `noproxy`, HTTP(S)_PROXY/NO_PROXY),
// its TLS settings (`ca`/`cafile`, `strict-ssl`; for its registries only) — plus a name cache: one
// lookup per name in flight, answers reused for a minute, and a host that definitely does not
// exist answered from the cache for a second, not looked up once per request.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { SecureContext } from 'node:tls';
import { Agent, Dispatcher, EnvHttpProxyAgent } from 'undici';
import { KEEP_ALIVE_TIMEOUT_THRESHOLD_MS, type NetworkConfig } from './network-config.js';

// Kept apart from undici (network-config.ts): npm's configuration and the HTTP client's callers
// need them without loading it.
export { KEEP_ALIVE_TIMEOUT_THRESHOLD_MS, type NetworkConfig, networkFromEnv } from './network-config.js';

export interface DispatcherOptions {
  network?: NetworkConfig;
  /** Connections per origin: undici keeps a separate pool per origin, so a slow host never takes another's. */
  connections: number;
  connectTimeoutMs: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  lookup?: CachedLookup;
}

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const net = opts.network ?? {};
  const customTls = (net.ca && net.ca.length > 0) || net.strictSsl === false;
  if (!customTls || net.tlsOrigins === undefined) return createOneDispatcher(opts, net);
  const { ca: _ca, strictSsl: _strict, ...plain } = net;
  // npm's TLS settings matter to its https registries only. Their pool (and its TLS context) is
  // built on the first request to one of them: a `lockwarden check` against a registry on plain
  // http never loads node:tls for a `cafile` it does not use.
  const registries = new Set(net.tlsOrigins.filter((origin) => origin.startsWith('https:')));
  if (registries.size === 0) return createOneDispatcher(opts, plain);
  // Two connection pools: npm's TLS settings for its registries, Node's defaults for the rest.
  return new OriginRouter(
    (origin) => registries.has(origin),
    () => createOneDispatcher(opts, net),
    createOneDispatcher(opts, plain),
  );
}

/**
 * Sends each request to `matched` when its origin (`https://host[:port]`) matches, else to
 * `other`. `matched` may be given as a function that builds it on the first request it gets.
 */
class OriginRouter extends Dispatcher {
  #matched: Dispatcher | undefined;
  constructor(
    private readonly matches: (origin: string) => boolean,
    private readonly buildMatched: Dispatcher | (() => Dispatcher),
    private readonly other: Dispatcher,
  ) {
    super();
    if (buildMatched instanceof Dispatcher) this.#matched = buildMatched;
  }
  private get matched(): Dispatcher {
    this.#matched ??= (this.buildMatched as () => Dispatcher)();
    return this.#matched;
  }
  /** The dispatchers built so far (closing must not build one). */
  private built(): Dispatcher[] {
    return this.#matched ? [this.#matched, this.other] : [this.other];
  }
  /** Decisions per origin as given (a few per run): parsing a URL per request showed in profiles. */
  private readonly routes = new Map<string, Dispatcher>();
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const given = options.origin === undefined ? '' : String(options.origin);
    let route = this.routes.get(given);
    if (!route) {
      route = this.matches(given === '' ? '' : new URL(given).origin) ? this.matched : this.other;
      if (this.routes.size < 1000) this.routes.set(given, route);
    }
    return route.dispatch(options, handler);
  }
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | undefined {
    const done = Promise.all(this.built().map((d) => d.close())).then(() => {});
    if (!callback) return done;
    done.then(callback, callback);
    return undefined;
  }
  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | undefined {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all(this.built().map((d) => d.destroy(err))).then(() => {});
    if (!callback) return done;
    done.then(callback, callback);
    return undefined;
  }
}

/**
 * npm's TLS settings as connect options. Its `ca` (often a system bundle through `cafile`) becomes
 * one TLS context shared by every connection: given as `ca`, Node.js builds a new context for each
 * connection and parses every certificate again, ~45 ms of the event loop per connection for
 * Debian's bundle, 1.7 s of a proxy's CPU during one cold `pnpm install` of 62 packages (V8
 * profile; `npm run bench:pnpm-real`). node:tls loads only when a `ca` is configured.
 */
function tlsOptions(net: NetworkConfig): { secureContext?: SecureContext; rejectUnauthorized?: false } {
  return {
    ...(net.ca && net.ca.length > 0 ? { secureContext: secureContextFor(net.ca) } : {}),
    ...(net.strictSsl === false ? { rejectUnauthorized: false as const } : {}),
  };
}

/** One context per list of CAs: a service builds several dispatchers from one npm configuration. */
const secureContexts = new WeakMap<readonly string[], SecureContext>();

function secureContextFor(ca: readonly string[]): SecureContext {
  let context = secureContexts.get(ca);
  if (!context) {
    context = process.getBuiltinModule('node:tls').createSecureContext({ ca: [...ca] });
    secureContexts.set(ca, context);
  }
  return context;
}

function createOneDispatcher(opts: DispatcherOptions, net: NetworkConfig): Dispatcher {
  const tls = tlsOptions(net);
  const connect = {
    timeout: opts.connectTimeoutMs,
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
    ...tls,
  };
  const agentOptions = {
    keepAliveTimeout: 10_000,
    keepAliveTimeoutThreshold: KEEP_ALIVE_TIMEOUT_THRESHOLD_MS,
    connections: opts.connections,
    connect,
    ...(opts.headersTimeoutMs ? { headersTimeout: opts.headersTimeoutMs } : {}),
    ...(opts.bodyTimeoutMs ? { bodyTimeout: opts.bodyTimeoutMs } : {}),
  };
  if (!net.httpProxy && !net.httpsProxy) return new Agent(agentOptions);
  // Empty strings, not undefined: undici would otherwise read process.env itself, and the
  // environment that counts is the one npm's configuration was read from.
  const proxied = new EnvHttpProxyAgent({
    ...agentOptions,
    httpProxy: net.httpProxy ?? '',
    httpsProxy: net.httpsProxy ?? '',
    noProxy: net.noProxy ?? '',
    // TLS to the registry through the tunnel, and to an https proxy, trusts the same CAs.
    requestTls: tls,
    proxyTls: tls,
  });
  if (net.httpsProxy) return proxied;
  // No proxy for https (npm takes only https_proxy for https URLs): EnvHttpProxyAgent would fall
  // back to the http proxy, so https origins get a plain Agent.
  return new OriginRouter((origin) => origin.startsWith('https:'), new Agent(agentOptions), proxied);
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export type CachedLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

export interface CachedLookupOptions {
  /** How long a resolved name is reused. */
  ttlMs?: number;
  /**
   * How long a definitive "no such name" (ENOTFOUND, ENODATA) is answered from the cache. Other
   * failures (EAI_AGAIN, a resolver that timed out, anything else) are never cached.
   */
  negativeTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
  /** Injected in tests. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

/**
 * Lookup failures that are the resolver's answer, not its trouble: the name has no address. A
 * transient failure (EAI_AGAIN: the resolver did not answer in time) says nothing about the next
 * lookup, so caching it made one hiccup fail every request to the host for the negative TTL, and
 * the retries above (the HTTP client's, the proxy's) could never succeed.
 */
const DEFINITIVE_LOOKUP_FAILURES = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * `dns.lookup` with a cache and one lookup in flight per name: every request waiting for a name
 * shares its one lookup, success or failure. Only definitive failures are cached, and briefly (a
 * second by default): a downloads host that does not resolve then costs a lookup per second, not
 * one per request, each of which would hold one of libuv's four threads that every registry
 * lookup also needs. A transient failure is handed to the requests that were waiting for it and
 * forgotten, so their retries look the name up again (as cacheable-lookup does for errors it does
 * not cache, and undici's DNS interceptor for every error).
 *
 * Hand-written rather than undici 7's `interceptors.dns`: it rewrites the request's origin to an
 * address (which a proxy tunnel and `noproxy` must not see), and does not share a lookup in
 * flight between concurrent requests (a burst of 64 tarballs would start 64 lookups of one name).
 */
export function createCachedLookup(options: CachedLookupOptions = {}): CachedLookup {
  const ttlMs = options.ttlMs ?? 60_000;
  const negativeTtlMs = options.negativeTtlMs ?? 1_000;
  const maxEntries = options.maxEntries ?? 1_000;
  const now = options.now ?? Date.now;
  const resolve =
    options.resolve ??
    ((hostname: string) =>
      new Promise<LookupAddress[]>((ok, fail) =>
        dnsLookup(hostname, { all: true }, (err, addresses) => (err ? fail(err) : ok(addresses))),
      ));
  const cache = new Map<string, { expiresAt: number; addresses?: LookupAddress[]; error?: Error }>();
  const pending = new Map<string, Promise<LookupAddress[]>>();

  const lookupAll = (hostname: string): Promise<LookupAddress[]> => {
    const hit = cache.get(hostname);
    if (hit && hit.expiresAt > now()) {
      return hit.error ? Promise.reject(hit.error) : Promise.resolve(hit.addresses!);
    }
    let p = pending.get(hostname);
    if (!p) {
      p = resolve(hostname).then(
        (addresses) => {
          remember(hostname, { expiresAt: now() + ttlMs, addresses });
          return addresses;
        },
        (error: NodeJS.ErrnoException) => {
          if (DEFINITIVE_LOOKUP_FAILURES.has(error?.code ?? ''))
            remember(hostname, { expiresAt: now() + negativeTtlMs, error });
          throw error;
        },
      );
      p.finally(() => pending.delete(hostname)).catch(() => {});
      pending.set(hostname, p);
    }
    return p;
  };
  const remember = (
    hostname: string,
    entry: { expiresAt: number; addresses?: LookupAddress[]; error?: Error },
  ) => {
    cache.delete(hostname);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(hostname, entry);
  };

  return (hostname, opts, callback) => {
    lookupAll(hostname).then(
      (all) => {
        const family = typeof opts.family === 'number' ? opts.family : 0;
        const fitting = family === 0 ? all : all.filter((a) => a.family === family);
        if (fitting.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = 'ENOTFOUND';
          callback(err, opts.all ? [] : '');
        } else if (opts.all) callback(null, fitting);
        else callback(null, fitting[0]!.address, fitting[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, opts.all ? [] : ''),
    );
  };
}
