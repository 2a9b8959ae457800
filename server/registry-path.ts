// Turns a request path into a policy, an optional consumer label and a registry request.
// Everything a client sends ends up in an upstream URL, so names are decoded once, validated
// with the same rules as the sources, and anything else is a 4xx before any I/O.
import { explainInvalidPackageName, explainInvalidVersionSegment } from '../src/sources/package-name.js';

export type RegistryRequest =
  | { kind: 'packument'; name: string }
  | { kind: 'version'; name: string; spec: string }
  | { kind: 'tarball'; name: string; file: string }
  /** `/-/...` endpoints under a policy prefix: `segments` excludes the leading `-`. */
  | { kind: 'special'; segments: string[] };

export interface ParsedRegistryPath {
  policyId: string;
  label: string | null;
  request: RegistryRequest;
}

export type ParseOutcome =
  | { ok: true; value: ParsedRegistryPath }
  | { ok: false; status: 400 | 404; message: string };

export const LABEL_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const POLICY_SEGMENT = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Between a policy id and a consumer label in the first path segment: `/strict~api-image/`. */
export const LABEL_SEPARATOR = '~';
const MAX_SPEC_LENGTH = 256;
const MAX_PATH_LENGTH = 1024;

/**
 * Splits a raw (still percent-encoded) path. `/<policy>[~<label>]/<registry path>`; when host
 * routing already named the policy and label, pass them and the path is the registry path.
 */
export function parseRegistryPath(
  rawPath: string,
  fromHost?: { policyId: string; label: string | null },
): ParseOutcome {
  if (rawPath.length > MAX_PATH_LENGTH) return fail(400, `path is longer than ${MAX_PATH_LENGTH} characters`);
  const rawSegments = rawPath.split('/').slice(1);
  if (rawSegments.length > 0 && rawSegments[rawSegments.length - 1] === '') rawSegments.pop();
  const segments: string[] = [];
  for (const raw of rawSegments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return fail(400, `path segment ${JSON.stringify(raw)} is not valid percent-encoding`);
    }
    if (decoded === '' || decoded === '.' || decoded === '..') {
      return fail(400, `path ${JSON.stringify(rawPath)} has an empty, "." or ".." segment`);
    }
    // `@scope%2fname` is one segment that is really two; any other encoded slash is hostile.
    if (decoded.includes('/')) {
      const parts = decoded.split('/');
      if (!(decoded.startsWith('@') && parts.length === 2)) {
        return fail(400, `path segment ${JSON.stringify(raw)} contains an encoded "/"`);
      }
      segments.push(parts[0]!, parts[1]!);
      continue;
    }
    if (decoded.includes('\\') || hasControlCharacter(decoded)) {
      return fail(400, `path segment ${JSON.stringify(raw)} contains a backslash or a control character`);
    }
    segments.push(decoded);
  }

  let policyId: string;
  let label: string | null = fromHost?.label ?? null;
  let rest: string[];
  if (fromHost) {
    policyId = fromHost.policyId;
    rest = segments;
  } else {
    const first = segments[0];
    if (first === undefined) return fail(404, 'no policy in the path: use /<policy-id>/ as the registry URL');
    if (first === '-') {
      return fail(
        404,
        `${rawPath.slice(0, 200)} is not a lockwarden endpoint; registry endpoints live under /<policy-id>/-/`,
      );
    }
    // `<policy>~<label>`: the label lives in the prefix, never where a package name or a
    // dist-tag could be, so it can never change which package a path names.
    const tilde = first.indexOf(LABEL_SEPARATOR);
    const policyPart = tilde < 0 ? first : first.slice(0, tilde);
    if (!POLICY_SEGMENT.test(policyPart)) return fail(404, `${JSON.stringify(first)} is not a policy id`);
    if (tilde >= 0) {
      const labelPart = first.slice(tilde + 1);
      if (!LABEL_PATTERN.test(labelPart)) {
        return fail(
          404,
          `${JSON.stringify(labelPart)} is not a consumer label (letters, digits, ".", "_" or "-", up to 64)`,
        );
      }
      label = labelPart;
    }
    policyId = policyPart;
    rest = segments.slice(1);
  }

  const request = parseRequest(rest);
  if (request) return { ok: true, value: { policyId, label, request } };
  if (rest.length === 0) return fail(404, `no package in the path; set NPM_CONFIG_REGISTRY to this URL`);
  return fail(400, explainRest(rest));
}

/**
 * The registry part: `name`, `@scope/name`, `name/<version or dist-tag>`, `name/-/<file>.tgz`,
 * `-/...`. The first one or two segments are always the package: `lodash/latest` is the `latest`
 * dist-tag of lodash, whatever other package is called `latest`.
 */
function parseRequest(seg: readonly string[]): RegistryRequest | undefined {
  if (seg.length === 0) return undefined;
  if (seg[0] === '-') return { kind: 'special', segments: seg.slice(1) };
  let name: string;
  let tail: readonly string[];
  if (seg[0]!.startsWith('@')) {
    if (seg.length < 2) return undefined;
    name = `${seg[0]}/${seg[1]}`;
    tail = seg.slice(2);
  } else {
    name = seg[0]!;
    tail = seg.slice(1);
  }
  if (explainInvalidPackageName(name) !== undefined) return undefined;
  if (tail.length === 0) return { kind: 'packument', name };
  // Any version or tag spelling: it is only looked up in the served document (never sent
  // upstream), so one that does not exist is a 404 for this package, not another package.
  if (tail.length === 1 && tail[0] !== '-' && tail[0]!.length <= MAX_SPEC_LENGTH) {
    return { kind: 'version', name, spec: tail[0]! };
  }
  if (tail.length === 2 && tail[0] === '-' && tail[1]!.endsWith('.tgz')) {
    return { kind: 'tarball', name, file: tail[1]! };
  }
  return undefined;
}

function explainRest(rest: readonly string[]): string {
  const first = rest[0]!;
  const name = first.startsWith('@') && rest[1] !== undefined ? `${first}/${rest[1]}` : first;
  const why = explainInvalidPackageName(name);
  if (why !== undefined) return `${JSON.stringify(name)} is not a valid npm package name: ${why}`;
  return `${JSON.stringify('/' + rest.join('/'))} is not a registry path lockwarden serves (packument, version, tarball or /-/ endpoint)`;
}

/** The version in a tarball file name `<unscoped name>-<version>.tgz`, or undefined. */
export function versionFromTarballFile(name: string, file: string): string | undefined {
  const unscoped = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  const prefix = `${unscoped}-`;
  if (!file.startsWith(prefix) || !file.endsWith('.tgz')) return undefined;
  const version = file.slice(prefix.length, -'.tgz'.length);
  return explainInvalidVersionSegment(version) === undefined ? version : undefined;
}

/** `<policy>[-<label>].<domain>` host routing; the longest matching policy id wins. */
export function routeFromHost(
  host: string,
  domain: string,
  policyIds: Iterable<string>,
): { policyId: string; label: string | null } | undefined {
  const hostname = host.replace(/:\d+$/, '').toLowerCase();
  const suffix = `.${domain.toLowerCase()}`;
  if (!hostname.endsWith(suffix)) return undefined;
  const sub = hostname.slice(0, -suffix.length);
  if (sub === '' || sub.includes('.')) return undefined;
  let best: { policyId: string; label: string | null } | undefined;
  for (const id of policyIds) {
    if (sub === id) return { policyId: id, label: null };
    if (sub.startsWith(`${id}-`) && (!best || id.length > best.policyId.length)) {
      const label = sub.slice(id.length + 1);
      if (LABEL_PATTERN.test(label)) best = { policyId: id, label };
    }
  }
  return best;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function fail(status: 400 | 404, message: string): ParseOutcome {
  return { ok: false, status, message };
}
