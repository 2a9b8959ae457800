// Policies the service enforces: the ones managed through the admin API (kept by the state store:
// a file in the data directory, or PostgreSQL shared by replicas) and the ones loaded from files
// with `--policy` (read-only here, so a policy that lives in git is changed in git). Requests read
// an in-memory copy, replaced only after the store accepted a write, and reloaded when another
// replica changed the policies. Caches and ETags key on `cacheKey`, which changes with every
// revision and when a policy is deleted and created again.
import { createHash, randomBytes } from 'node:crypto';
import { LockwardenError } from '../src/errors.js';
import { DEFAULT_POLICY, serializePolicy, validatePolicy } from '../src/policy/parse-policy.js';
import type { Policy } from '../src/policy/types.js';
import { type PolicyRecord, type PolicyRecords, StoreError } from './state-store.js';

export interface StoredPolicy {
  policy: Policy;
  revision: number;
  /** Changes with every revision and content; the key of cached documents and their ETags. */
  cacheKey: string;
  origin: { kind: 'store' } | { kind: 'file'; file: string };
  createdAt: string;
  updatedAt: string;
}

export interface PolicyStore {
  get(id: string): Promise<StoredPolicy | undefined>;
  list(): Promise<StoredPolicy[]>;
  create(input: unknown): Promise<StoredPolicy>;
  /** `ifRevision`: refuse (StoreError conflict) unless the stored revision is this one. */
  update(id: string, input: unknown, options?: { ifRevision?: number }): Promise<StoredPolicy>;
  remove(id: string): Promise<void>;
  /** Reads the stored policies again (another replica changed them). */
  reload(): Promise<void>;
}

export interface PolicyStoreOptions {
  records: PolicyRecords;
  /** Policies read from `--policy` files; they shadow stored policies of the same id. */
  filePolicies: ReadonlyArray<{ policy: Policy; file: string }>;
  now: () => Date;
  /** Where stored policies come from, for messages about one that does not validate. */
  source: string;
}

function cacheKeyOf(policy: Policy, revision: number): string {
  const hash = createHash('sha256')
    .update(JSON.stringify(serializePolicy(policy)))
    .digest('base64url');
  return `${policy.id}:${revision}:${hash.slice(0, 16)}`;
}

function validateBody(input: unknown): Policy {
  return validatePolicy(input, { file: 'request body' });
}

export async function createPolicyStore(options: PolicyStoreOptions): Promise<PolicyStore> {
  const { records } = options;
  let stored = new Map<string, StoredPolicy>();

  function fromRecord(record: PolicyRecord, at: string): StoredPolicy {
    const policy = validatePolicy(record.policy, { file: `${options.source} policy "${record.id}"` });
    if (policy.id !== record.id) {
      throw new LockwardenError('EPOLICY', `${at}: policy id "${policy.id}" is stored as "${record.id}"`);
    }
    const revision = Number.isSafeInteger(record.revision) && record.revision > 0 ? record.revision : 1;
    return {
      policy,
      revision,
      cacheKey: `${cacheKeyOf(policy, revision)}:${record.stamp}`,
      origin: { kind: 'store' },
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  async function load(): Promise<void> {
    const next = new Map<string, StoredPolicy>();
    for (const record of await records.list()) {
      const same = stored.get(record.id);
      const entry = fromRecord(record, options.source);
      // Unchanged policies keep their object, so their cached evaluations stay in use.
      next.set(record.id, same && same.cacheKey === entry.cacheKey ? same : entry);
    }
    stored = next;
  }
  await load();

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

  function assertWritable(id: string): void {
    const file = fromFiles.get(id);
    if (file && file.origin.kind === 'file') {
      throw new StoreError(
        'conflict',
        `policy "${id}" is loaded from ${file.origin.file}; change that file and restart the service`,
      );
    }
  }

  function recordOf(policy: Policy, revision: number, createdAt: string): PolicyRecord {
    return {
      id: policy.id,
      policy: serializePolicy(policy),
      revision,
      createdAt,
      updatedAt: options.now().toISOString(),
      stamp: randomBytes(6).toString('base64url'),
    };
  }

  /** Copy-on-write: readers never see a change the store has not accepted. */
  function publish(id: string, entry: StoredPolicy | undefined): void {
    const next = new Map(stored);
    if (entry) next.set(id, entry);
    else next.delete(id);
    stored = next;
  }

  const list = (): StoredPolicy[] => {
    const all = new Map(stored);
    for (const [id, p] of fromFiles) all.set(id, p);
    return [...all.values()].sort((a, b) => a.policy.id.localeCompare(b.policy.id));
  };

  const store: PolicyStore = {
    async get(id) {
      return fromFiles.get(id) ?? stored.get(id);
    },
    async list() {
      return list();
    },
    async create(input) {
      const policy = validateBody(input);
      assertWritable(policy.id);
      const record = recordOf(policy, 1, options.now().toISOString());
      try {
        await records.insert(record);
      } catch (err) {
        if (err instanceof StoreError && err.kind === 'conflict') {
          throw new StoreError(
            'conflict',
            `policy "${policy.id}" already exists; use PUT /-/lockwarden/v1/policies/${policy.id}`,
          );
        }
        throw err;
      }
      const entry = fromRecord(record, 'request body');
      publish(policy.id, entry);
      return entry;
    },
    async update(id, input, updateOptions) {
      assertWritable(id);
      const existing = stored.get(id);
      if (!existing) throw new StoreError('not-found', `no policy "${id}"`);
      const expected = updateOptions?.ifRevision;
      if (expected !== undefined && expected !== existing.revision) {
        throw new StoreError(
          'conflict',
          `policy "${id}" changed since revision ${expected} was read (it is at revision ${existing.revision}); reload it and edit again`,
        );
      }
      const body =
        input !== null && typeof input === 'object' && !Array.isArray(input) && !('id' in input)
          ? { ...input, id }
          : input;
      const policy = validateBody(body);
      if (policy.id !== id) {
        throw new LockwardenError(
          'EPOLICY',
          `request body: id "${policy.id}" does not match the policy in the URL ("${id}")`,
        );
      }
      const record = recordOf(policy, existing.revision + 1, existing.createdAt);
      try {
        await records.replace(record);
      } catch (err) {
        // Another replica changed or deleted it meanwhile: show the caller what is stored now.
        if (err instanceof StoreError) await load();
        throw err;
      }
      const entry = fromRecord(record, 'request body');
      publish(id, entry);
      return entry;
    },
    async remove(id) {
      assertWritable(id);
      try {
        await records.remove(id);
      } catch (err) {
        if (err instanceof StoreError) await load();
        throw err;
      }
      publish(id, undefined);
    },
    reload: load,
  };

  if (list().length === 0) {
    try {
      await records.insert(recordOf({ ...DEFAULT_POLICY }, 1, options.now().toISOString()));
    } catch (err) {
      // Another replica starting at the same time stored it first.
      if (!(err instanceof StoreError && err.kind === 'conflict')) throw err;
    }
    await load();
  }
  return store;
}
