// Where a webhook may connect. A webhook URL is chosen by whoever holds the admin token, but the
// service runs inside the network, so a URL naming an internal address would turn it into a
// request forwarder (SSRF). The check runs on the addresses a connection is actually made to:
// the dispatcher's own name lookup resolves the host, refuses it when any address is loopback,
// link-local, private, unique-local, multicast or otherwise special (IPv4-mapped IPv6 judged as
// its IPv4 address), and hands the approved addresses to the connect; so a name that resolves to
// a public address for a check and to an internal one for the connection (DNS rebinding) cannot
// get through. Webhooks connect directly, never through npm's proxy: a proxy would resolve the
// name itself, out of this check's sight.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Dispatcher } from 'undici';
import { createCachedLookup, createDispatcher } from '../src/sources/http-dispatcher.js';

export class ForbiddenAddressError extends Error {
  readonly code = 'EWEBHOOKADDRESS';
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenAddressError';
  }
}

/** Why `address` may not be a webhook's, or undefined for a public unicast address. */
export function forbiddenAddressReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return 'not an IP address';
  let ip = ipaddr.parse(bare);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress())
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  if (range === 'unicast') return undefined;
  const words: Record<string, string> = {
    loopback: 'a loopback address',
    private: 'a private address',
    uniqueLocal: 'a unique-local address',
    linkLocal: 'a link-local address',
    carrierGradeNat: 'a carrier-grade NAT address',
    unspecified: 'the unspecified address',
  };
  return words[range] ?? `a special-purpose address (${range})`;
}

export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

const systemResolve: Resolve = (hostname) =>
  new Promise((ok, fail) => dnsLookup(hostname, { all: true }, (err, all) => (err ? fail(err) : ok(all))));

export interface WebhookDispatcherOptions {
  /** `--allow-private-webhooks`: skip the address check (receivers on the same host or network). */
  allowPrivate: boolean;
  connectTimeoutMs: number;
  /** Headers and body each within this long. */
  responseTimeoutMs: number;
  /** Injected in tests. */
  resolve?: Resolve;
}

/**
 * Checks what can be checked before connecting: the scheme, and a host that is an IP literal
 * (Node connects to those without a lookup, so the dispatcher's lookup never sees them).
 */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ForbiddenAddressError(`url: not a URL: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ForbiddenAddressError(`url: must be http(s), not ${url.protocol}`);
  if (url.username || url.password)
    throw new ForbiddenAddressError('url: must not carry a user name or password; put secrets in the path');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate) {
    if (isIP(host)) {
      const reason = forbiddenAddressReason(host);
      if (reason)
        throw new ForbiddenAddressError(
          `url: ${host} is ${reason}; webhooks go to public addresses unless the service runs with --allow-private-webhooks`,
        );
    } else if (host === 'localhost' || host.endsWith('.localhost')) {
      throw new ForbiddenAddressError(
        `url: ${host} is a loopback name; webhooks go to public addresses unless the service runs with --allow-private-webhooks`,
      );
    }
  }
  return url;
}

/** The dispatcher webhook deliveries go through: the project's undici Agent, with the checking lookup. */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): Dispatcher {
  const resolve = options.resolve ?? systemResolve;
  const guarded: Resolve = async (hostname) => {
    const all = await resolve(hostname);
    if (!options.allowPrivate) {
      for (const a of all) {
        const reason = forbiddenAddressReason(a.address);
        if (reason)
          throw new ForbiddenAddressError(
            `${hostname} resolves to ${a.address}, ${reason}; webhooks go to public addresses unless the service runs with --allow-private-webhooks`,
          );
      }
    }
    return all;
  };
  return createDispatcher({
    connections: 4,
    connectTimeoutMs: options.connectTimeoutMs,
    headersTimeoutMs: options.responseTimeoutMs,
    bodyTimeoutMs: options.responseTimeoutMs,
    // A short cache: the answer a connection used is the one that was checked, and a changed
    // record is picked up within seconds.
    lookup: createCachedLookup({ resolve: guarded, ttlMs: 5_000, negativeTtlMs: 5_000 }),
  });
}
