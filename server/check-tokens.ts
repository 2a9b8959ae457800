// Tokens that may call the check API and nothing else: the ones configured at start
// (`--check-token`, LOCKWARDEN_CHECK_TOKEN; every policy) and the ones issued through the admin
// API, each for the policies it names, revocable without a restart. Only SHA-256 hashes are kept,
// in memory and in `check-tokens.json`: a heap dump, an error message or a copy of the data
// directory cannot carry a token. An issued token is shown once, in the answer that issues it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Low } from 'lowdb';
import { LockwardenError } from '../src/errors.js';
import { AtomicJsonFile } from './atomic-json-file.js';
import { HttpError } from './http-error.js';

/** What a presented token may do. */
export interface CheckGrant {
  /** `configured` for `--check-token` ones, else the name given when it was issued. */
  name: string;
  /** The policies it may check; null: every policy. */
  policies: readonly string[] | null;
}

/** An issued token as the API shows it: never the token itself. */
export interface IssuedCheckToken {
  id: string;
  name: string;
  policies: string[] | null;
  createdAt: string;
}

export interface CheckTokens {
  grantOf(presented: string): CheckGrant | undefined;
  /** How many were configured at start (they are not listed). */
  readonly configured: number;
  list(): IssuedCheckToken[];
  /** Validates `{name, policies?}` and issues a token; the token is in the answer only. */
  issue(input: unknown, policyExists: (id: string) => boolean): Promise<IssuedCheckToken & { token: string }>;
  revoke(id: string): Promise<void>;
}

interface StoredToken extends IssuedCheckToken {
  sha256: string;
}

interface TokenFile {
  version: 1;
  tokens: StoredToken[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_ISSUED = 1_000;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export async function createCheckTokens(opts: {
  file: string;
  configured: readonly string[];
  now: () => Date;
  onCorrupt?: (file: string, movedTo: string, reason: string) => void;
}): Promise<CheckTokens> {
  const configured = opts.configured.filter((t) => t !== '').map(sha256);
  const db = new Low<TokenFile>(
    new AtomicJsonFile(opts.file, opts.onCorrupt ? { onCorrupt: opts.onCorrupt } : {}),
    { version: 1, tokens: [] },
  );
  await db.read();
  const problems = problemsInFile(db.data);
  if (problems.length > 0) {
    throw new LockwardenError('ECONFIG', `${opts.file}: ${problems.join('; ')}; fix or remove the file`, {
      details: problems,
    });
  }
  // Issued tokens by hash: a lookup by the hash of what was presented reveals nothing useful about
  // any token through its timing, since nobody can choose what a hash starts with.
  const byHash = new Map<string, StoredToken>();
  for (const t of db.data.tokens) byHash.set(t.sha256, t);

  const shown = ({ id, name, policies, createdAt }: StoredToken): IssuedCheckToken => ({
    id,
    name,
    policies: policies ? [...policies] : null,
    createdAt,
  });

  return {
    configured: configured.length,
    grantOf(presented) {
      const h = sha256(presented);
      // Every configured token is compared, so the time taken says nothing about which matched.
      let ok = false;
      for (const expected of configured) ok = timingSafeEqual(h, expected) || ok;
      if (ok) return { name: 'configured', policies: null };
      const issued = byHash.get(h.toString('hex'));
      return issued ? { name: issued.name, policies: issued.policies } : undefined;
    },
    list: () => db.data.tokens.map(shown),
    async issue(input, policyExists) {
      const problems: string[] = [];
      const body = (input ?? {}) as { name?: unknown; policies?: unknown };
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new HttpError(400, 'request body: expected {"name": "...", "policies": ["<policy id>", ...]}');
      }
      for (const key of Object.keys(body)) {
        if (key !== 'name' && key !== 'policies') problems.push(`${key}: unknown field`);
      }
      if (typeof body.name !== 'string' || !NAME.test(body.name)) {
        problems.push('name: expected letters, digits, ".", "_" or "-" (up to 64), e.g. "ci-web"');
      } else if (db.data.tokens.some((t) => t.name === body.name)) {
        problems.push(`name: a token named "${body.name}" exists; revoke it first or pick another name`);
      }
      let policies: string[] | null = null;
      if (body.policies !== undefined && body.policies !== null) {
        if (!Array.isArray(body.policies) || body.policies.length === 0) {
          problems.push('policies: expected a non-empty array of policy ids, or null for every policy');
        } else {
          policies = [];
          for (const [i, id] of body.policies.entries()) {
            if (typeof id !== 'string') problems.push(`policies[${i}]: expected a policy id`);
            else if (!policyExists(id)) problems.push(`policies[${i}]: no policy "${id}"`);
            else if (!policies.includes(id)) policies.push(id);
          }
        }
      }
      if (db.data.tokens.length >= MAX_ISSUED)
        problems.push(`at most ${MAX_ISSUED} issued tokens; revoke some`);
      if (problems.length > 0) {
        throw new HttpError(400, `request body: ${problems.join('; ')}`, { extra: { problems } });
      }
      const token = `lwc_${randomBytes(24).toString('base64url')}`;
      const stored: StoredToken = {
        id: randomBytes(8).toString('hex'),
        name: body.name as string,
        policies,
        createdAt: opts.now().toISOString(),
        sha256: sha256(token).toString('hex'),
      };
      db.data.tokens.push(stored);
      try {
        await db.write();
      } catch (err) {
        // Nobody will ever see this token: it must not stay listed, hold its name, or reach the
        // file with the next write.
        const at = db.data.tokens.indexOf(stored);
        if (at !== -1) db.data.tokens.splice(at, 1);
        throw err;
      }
      byHash.set(stored.sha256, stored);
      return { ...shown(stored), token };
    },
    async revoke(id) {
      const at = db.data.tokens.findIndex((t) => t.id === id);
      if (at === -1) throw new HttpError(404, `no issued check token with id "${id}"`);
      const [gone] = db.data.tokens.splice(at, 1);
      // Refused from now on, before the file is written: revoking must never wait on the disk.
      byHash.delete(gone!.sha256);
      try {
        await db.write();
      } catch (err) {
        // Still in the file, so a restart would accept it again: it stays listed (and refused) so
        // that the revocation can be retried instead of answering "no issued check token".
        db.data.tokens.splice(Math.min(at, db.data.tokens.length), 0, gone!);
        throw err;
      }
    },
  };
}

/**
 * The file decides who may check which policy, so an entry that is not what `issue` writes (edited
 * by hand, damaged) stops the start instead of being read as something else: `"policies": "web"`
 * would let `includes` grant every policy whose id is part of "web", a missing `policies` would
 * fail every check, an entry without an id could never be revoked, and a token stored twice would
 * come back after a restart when one copy was revoked.
 */
function problemsInFile(data: unknown): string[] {
  const tokens = (data as { tokens?: unknown } | null)?.tokens;
  if (typeof data !== 'object' || !Array.isArray(tokens)) return ['expected {"version": 1, "tokens": [...]}'];
  const problems: string[] = [];
  const ids = new Set<string>();
  const hashes = new Set<string>();
  tokens.forEach((entry: unknown, i) => {
    const at = `tokens[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${at}: expected an object`);
      return;
    }
    const { id, name, policies, createdAt, sha256 } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') problems.push(`${at}.id: expected a non-empty string`);
    else if (ids.has(id)) problems.push(`${at}.id: ${JSON.stringify(id)} is used by an earlier entry`);
    else ids.add(id);
    if (typeof name !== 'string') problems.push(`${at}.name: expected a string`);
    if (policies !== null && !(Array.isArray(policies) && policies.every((p) => typeof p === 'string')))
      problems.push(`${at}.policies: expected null (every policy) or an array of policy ids`);
    if (typeof createdAt !== 'string') problems.push(`${at}.createdAt: expected a string`);
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))
      problems.push(`${at}.sha256: expected 64 lowercase hex digits`);
    else if (hashes.has(sha256)) problems.push(`${at}.sha256: the same token as an earlier entry`);
    else hashes.add(sha256);
  });
  return problems;
}
