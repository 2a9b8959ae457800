// Content negotiation and the write of a packument: which form the client asked for (full or
// abbreviated, or a 406), and the cached body (gzipped when accepted) or a 304 for its ETag.
import type { Context } from 'koa';
import type { ServedVariant } from './evaluate-package-state.js';
import { HttpError } from './http-error.js';
import type { PackageCache } from './package-cache.js';

const ABBREVIATED = 'application/vnd.npm.install-v1+json';

export function wantsAbbreviated(accept: string): boolean {
  if (accept === '') return false;
  const acceptable = parseAccept(accept);
  const abbreviatedQ = acceptable.get(ABBREVIATED) ?? 0;
  const jsonQ = Math.max(
    acceptable.get('application/json') ?? 0,
    acceptable.get('application/*') ?? 0,
    acceptable.get('*/*') ?? 0,
  );
  if (abbreviatedQ === 0 && jsonQ === 0) {
    throw new HttpError(
      406,
      `cannot serve ${JSON.stringify(accept.slice(0, 200))}: this registry answers application/json or ${ABBREVIATED}`,
    );
  }
  return abbreviatedQ > 0 && abbreviatedQ >= jsonQ;
}

function parseAccept(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of header.slice(0, 1024).split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    if (!type) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number.parseFloat(m[1]!) || 0;
    }
    out.set(type.trim(), Math.max(out.get(type.trim()) ?? 0, q));
  }
  return out;
}

export async function sendVariant(
  ctx: Context,
  variant: ServedVariant,
  packages: PackageCache,
): Promise<void> {
  ctx.set('etag', variant.etag);
  ctx.set('vary', 'accept, accept-encoding');
  ctx.set('cache-control', 'no-cache');
  ctx.set('content-type', variant.contentType);
  if (matchesEtag(ctx.get('if-none-match'), variant.etag)) {
    ctx.status = 304;
    return;
  }
  ctx.status = 200;
  if (variant.body.length >= 1024 && /\bgzip\b/i.test(ctx.get('accept-encoding'))) {
    ctx.set('content-encoding', 'gzip');
    ctx.body = variant.gzip ?? (await packages.gzipOf(variant));
    return;
  }
  ctx.body = variant.body;
}

function matchesEtag(header: string, etag: string): boolean {
  if (header === '') return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
