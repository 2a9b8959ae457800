// Policies the service enforces: the ones managed through the admin API (kept in a lowdb file in
// the data directory) and the ones loaded from files with `--policy` (read-only here, so a
// policy that lives in git is changed in git). Every change bumps a revision; caches and ETags
// key on `cacheKey`, which also changes when a policy is deleted and created again.
import { createHash } from 'node:crypto';
import { Low } from 'lowdb';
import { isLockwardenError, LockwardenError } from '../src/errors.js';
import { DEFAULT_POLICY, serializePolicy, validatePolicy } from '../src/policy/parse-policy.js';
import type { Policy } from '../src/policy/types.js';
import { AtomicJsonFile } from './atomic-json-file.js';
import { HttpError } from './http-error.js';

export interface StoredPolicy {
  policy: Policy;
  revision: number;
  /** Changes with every revision and content; the key of cached documents and their ETags. */
  cacheKey: string;
  origin: { kind: 'store' } | { kind: 'file'; file: string };
  createdAt: string;
  updatedAt: string;
}

interface StoredRecord {
  policy: Record<string, unknown>;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

interface PolicyFileData {
  version: 1;
  policies: StoredRecord[];
}

export interface PolicyStore {
  get(id: string): StoredPolicy | undefined;
  list(): StoredPolicy[];
  create(input: unknown): Promise<StoredPolicy>;
  update(id: string, input: unknown): Promise<StoredPolicy>;
  remove(id: string): Promise<void>;
}

export interface PolicyStoreOptions {
  file: string;
  /** Policies read from `--policy` files; they shadow stored policies of the same id. */
  filePolicies: ReadonlyArray<{ policy: Policy; file: string }>;
  now: () => Date;
  onCorrupt?: (file: string, movedTo: string, reason: string) => void;
}

function cacheKeyOf(policy: Policy, revision: number): string {
  const hash = createHash('sha256')
    .update(JSON.stringify(serializePolicy(policy)))
    .digest('base64url');
  return `${policy.id}:${revision}:${hash.slice(0, 16)}`;
}

function validateBody(input: unknown): Policy {
  try {
    return validatePolicy(input, { file: 'request body' });
  } catch (err) {
    if (isLockwardenError(err) && err.code === 'EPOLICY') {
      throw new HttpError(400, err.message, { extra: { problems: err.details } });
    }
    throw err;
  }
}

export async function createPolicyStore(options: PolicyStoreOptions): Promise<PolicyStore> {
  const db = new Low<PolicyFileData>(new AtomicJsonFile(options.file, { onCorrupt: options.onCorrupt }), {
    version: 1,
    policies: [],
  });
  await db.read();
  if (!Array.isArray(db.data.policies)) {
    throw new LockwardenError(
      'ECONFIG',
      `${options.file}: expected {"policies": [...]}; fix or remove the file`,
    );
  }
  const stored = new Map<string, StoredPolicy>();
  db.data.policies.forEach((record, i) => {
    const policy = validatePolicy(record.policy, { file: `${options.file} policies[${i}]` });
    const revision = Number.isSafeInteger(record.revision) && record.revision > 0 ? record.revision : 1;
    stored.set(policy.id, {
      policy,
      revision,
      cacheKey: cacheKeyOf(policy, revision),
      origin: { kind: 'store' },
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    });
  });

  const fromFiles = new Map<string, StoredPolicy>();
  const loadedAt = options.now().toISOString();
  for (const { policy, file } of options.filePolicies) {
    const earlier = fromFiles.get(policy.id);
    if (earlier && earlier.origin.kind === 'file') {
      throw new LockwardenError(
        'EPOLICY',
        `${file}: policy id "${policy.id}" is also defined in ${earlier.origin.file}`,
      );
    }
    fromFiles.set(policy.id, {
      policy,
      revision: 1,
      cacheKey: `file:${cacheKeyOf(policy, 1)}`,
      origin: { kind: 'file', file },
      createdAt: loadedAt,
      updatedAt: loadedAt,
    });
  }

  // Every deletion or edit makes a new key, so a recreated policy never meets its old cache entries.
  let generation = 0;
  const nextRevision = (id: string) => Math.max(stored.get(id)?.revision ?? 0, 0) + 1;

  async function persist(): Promise<void> {
    db.data = {
      version: 1,
      policies: [...stored.values()].map((s) => ({
        policy: serializePolicy(s.policy),
        revision: s.revision,
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
      })),
    };
    await db.write();
  }

  function assertWritable(id: string): void {
    const file = fromFiles.get(id);
    if (file && file.origin.kind === 'file') {
      throw new HttpError(
        409,
        `policy "${id}" is loaded from ${file.origin.file}; change that file and restart the service`,
      );
    }
  }

  function put(policy: Policy, revision: number, createdAt: string): StoredPolicy {
    const now = options.now().toISOString();
    const entry: StoredPolicy = {
      policy,
      revision,
      cacheKey: `${cacheKeyOf(policy, revision)}:${++generation}:${now}`,
      origin: { kind: 'store' },
      createdAt,
      updatedAt: now,
    };
    stored.set(policy.id, entry);
    return entry;
  }

  const store: PolicyStore = {
    get(id) {
      return fromFiles.get(id) ?? stored.get(id);
    },
    list() {
      const all = new Map(stored);
      for (const [id, p] of fromFiles) all.set(id, p);
      return [...all.values()].sort((a, b) => a.policy.id.localeCompare(b.policy.id));
    },
    async create(input) {
      const policy = validateBody(input);
      assertWritable(policy.id);
      if (stored.has(policy.id)) {
        throw new HttpError(
          409,
          `policy "${policy.id}" already exists; use PUT /-/lockwarden/v1/policies/${policy.id}`,
        );
      }
      const entry = put(policy, 1, options.now().toISOString());
      await persist();
      return entry;
    },
    async update(id, input) {
      assertWritable(id);
      const existing = stored.get(id);
      if (!existing) throw new HttpError(404, `no policy "${id}"`);
      const body =
        input !== null && typeof input === 'object' && !Array.isArray(input) && !('id' in input)
          ? { ...input, id }
          : input;
      const policy = validateBody(body);
      if (policy.id !== id) {
        throw new HttpError(
          400,
          `request body: id "${policy.id}" does not match the policy in the URL ("${id}")`,
        );
      }
      const entry = put(policy, nextRevision(id), existing.createdAt);
      await persist();
      return entry;
    },
    async remove(id) {
      assertWritable(id);
      if (!stored.delete(id)) throw new HttpError(404, `no policy "${id}"`);
      await persist();
    },
  };

  if (store.list().length === 0) {
    put({ ...DEFAULT_POLICY }, 1, options.now().toISOString());
    await persist();
  }
  return store;
}
