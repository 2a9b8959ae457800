// How npm reaches the network, without undici: npm's configuration (npm-config.ts) and the
// HTTP client read these at start-up, and undici itself loads only when a request goes out (a
// `lockwarden check` answered from the cache never loads it; issue 15's start-up budget).

/** How npm reaches the network, as read from its configuration (see npm-config.ts). */
export interface NetworkConfig {
  /** Proxy for http:// URLs (`proxy`, HTTP_PROXY). */
  httpProxy?: string;
  /**
   * Proxy for https:// URLs: npm's `https-proxy` or else `proxy` (npm-registry-fetch passes either
   * for every URL), else HTTPS_PROXY only; absent: https goes direct even with an http proxy.
   */
  httpsProxy?: string;
  /** Comma-separated hosts (domain suffixes) reached directly (`noproxy`, NO_PROXY). */
  noProxy?: string;
  /** Certificate authorities to trust instead of Node's bundle (`ca`, `cafile`). */
  ca?: string[];
  /** `strict-ssl=false` accepts any certificate, as npm does. */
  strictSsl?: boolean;
  /**
   * Origins (`https://host[:port]`) that `ca` and `strict-ssl` apply to: npm's settings are for its
   * registries, and the downloads API and GitHub (which gets the github-token) keep Node's own
   * trust. Absent: every origin (the proxy's upstream dispatcher, which reaches registries only).
   */
  tlsOrigins?: string[];
}

/**
 * The proxy settings npm (through @npmcli/agent) takes from the environment when its
 * configuration names none: `https_proxy` for https URLs, `https_proxy`, `http_proxy` or `proxy`
 * for http ones, `no_proxy` (names in any case).
 */
export function networkFromEnv(env: NodeJS.ProcessEnv): NetworkConfig {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v) lower[k.toLowerCase()] = v;
  const httpsProxy = lower.https_proxy;
  const httpProxy = lower.https_proxy ?? lower.http_proxy ?? lower.proxy;
  return {
    ...(httpProxy ? { httpProxy } : {}),
    ...(httpsProxy ? { httpsProxy } : {}),
    ...(lower.no_proxy ? { noProxy: lower.no_proxy } : {}),
  };
}

/**
 * A connection is not reused within this long of the idle timeout a server announces in its
 * `Keep-Alive` header. undici's default (2 s) is longer than the whole idle window of servers that
 * announce 1 s, and then every request opens a new connection; half a second still leaves a wide
 * margin against the server closing a connection just as a request goes out.
 */
export const KEEP_ALIVE_TIMEOUT_THRESHOLD_MS = 500;
