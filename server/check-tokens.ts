// Tokens that may call the check API and nothing else: the ones configured at start
// (`--check-token`, LOCKWARDEN_CHECK_TOKEN; every policy) and the ones issued through the admin
// API, each for the policies it names, revocable without a restart. Only SHA-256 hashes are kept,
// in memory and in `check-tokens.json`: a heap dump, an error message or a copy of the data
// directory cannot carry a token. An issued token is shown once, in the answer that issues it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { StoreError, type TokenRecord, type TokenRecords } from './state-store.js';

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
  grantOf(presented: string): Promise<CheckGrant | undefined>;
  /** How many were configured at start (they are not listed). */
  readonly configured: number;
  list(): Promise<IssuedCheckToken[]>;
  /** Validates `{name, policies?}` and issues a token; the token is in the answer only. */
  issue(
    input: unknown,
    policyExists: (id: string) => Promise<boolean>,
  ): Promise<IssuedCheckToken & { token: string }>;
  revoke(id: string): Promise<void>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_ISSUED = 1_000;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function createCheckTokens(opts: {
  records: TokenRecords;
  configured: readonly string[];
  now: () => Date;
}): CheckTokens {
  const configured = opts.configured.filter((t) => t !== '').map(sha256);
  const { records } = opts;
  // Ids being revoked here, refused at once: a revocation never waits on the store, and one the
  // store refused stays refused on this replica while it stays listed to be retried.
  const revoking = new Set<string>();

  const shown = ({ id, name, policies, createdAt }: TokenRecord): IssuedCheckToken => ({
    id,
    name,
    policies: policies ? [...policies] : null,
    createdAt,
  });

  return {
    configured: configured.length,
    async grantOf(presented) {
      const h = sha256(presented);
      // Every configured token is compared, so the time taken says nothing about which matched.
      let ok = false;
      for (const expected of configured) ok = timingSafeEqual(h, expected) || ok;
      if (ok) return { name: 'configured', policies: null };
      // Issued tokens are looked up by the hash of what was presented: the timing reveals nothing
      // useful about any token, since nobody can choose what a hash starts with.
      const issued = await records.byHash(h.toString('hex'));
      return issued && !revoking.has(issued.id)
        ? { name: issued.name, policies: issued.policies }
        : undefined;
    },
    list: async () => (await records.list()).map(shown),
    async issue(input, policyExists) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new StoreError(
          'invalid',
          'request body: expected {"name": "...", "policies": ["<policy id>", ...]}',
        );
      }
      const problems: string[] = [];
      const body = input as { name?: unknown; policies?: unknown };
      for (const key of Object.keys(body)) {
        if (key !== 'name' && key !== 'policies') problems.push(`${key}: unknown field`);
      }
      if (typeof body.name !== 'string' || !NAME.test(body.name)) {
        problems.push('name: expected letters, digits, ".", "_" or "-" (up to 64), e.g. "ci-web"');
      }
      let policies: string[] | null = null;
      if (body.policies !== undefined && body.policies !== null) {
        if (!Array.isArray(body.policies) || body.policies.length === 0) {
          problems.push('policies: expected a non-empty array of policy ids, or null for every policy');
        } else {
          policies = [];
          for (const [i, id] of body.policies.entries()) {
            if (typeof id !== 'string') problems.push(`policies[${i}]: expected a policy id`);
            else if (!(await policyExists(id))) problems.push(`policies[${i}]: no policy "${id}"`);
            else if (!policies.includes(id)) policies.push(id);
          }
        }
      }
      if (problems.length > 0) {
        throw new StoreError('invalid', `request body: ${problems.join('; ')}`, problems);
      }
      const token = `lwc_${randomBytes(24).toString('base64url')}`;
      const record: TokenRecord = {
        id: randomBytes(8).toString('hex'),
        name: body.name as string,
        policies,
        createdAt: opts.now().toISOString(),
        sha256: sha256(token).toString('hex'),
      };
      try {
        // The store refuses a taken name or a full list; a refused or failed insert leaves no trace.
        await records.insert(record, MAX_ISSUED);
      } catch (err) {
        if (err instanceof StoreError && err.kind === 'conflict') {
          throw new StoreError('invalid', `request body: ${err.message}`, [err.message]);
        }
        throw err;
      }
      return { ...shown(record), token };
    },
    async revoke(id) {
      const known = (await records.list()).some((t) => t.id === id);
      if (known) revoking.add(id);
      await records.remove(id);
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
export function problemsInTokenFile(data: unknown): string[] {
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
