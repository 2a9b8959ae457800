// The state store with no setup: small JSON documents in the data directory (policies.json,
// check-tokens.json, admin-token.json; each written whole, atomically, through lowdb) and the
// append-only audit log in `audit/`. Each document's new content is written first and replaces
// the one in memory only once the write succeeded, so a write the disk refuses changes nothing.
// One process owns a data directory; replicas share PostgreSQL instead (postgres-store.ts).
import { join } from 'node:path';
import { Low } from 'lowdb';
import { LockwardenError } from '../src/errors.js';
import { AtomicJsonFile } from './atomic-json-file.js';
import type { AuditRetention } from './audit-log.js';
import { problemsInTokenFile } from './check-tokens.js';
import { openEmbeddedOutbox } from './embedded-outbox.js';
import { createSegmentAuditLog } from './segment-audit-log.js';
import {
  type PolicyRecord,
  type SettingRecords,
  type StateStore,
  StoreError,
  type TokenRecord,
} from './state-store.js';
import type { WebhookRecord } from './webhook-outbox.js';

export interface EmbeddedStoreOptions {
  dataDir: string;
  now: () => Date;
  audit: AuditRetention & { segmentEntries?: number };
  onAuditError?: (err: unknown) => void;
  onCorrupt?: (file: string, movedTo: string, reason: string) => void;
  onMigrated?: (file: string, entries: number, movedTo: string) => void;
  onSnapshotProblem?: (file: string, reason: string) => void;
}

/** A lowdb document whose writes replace the in-memory data only after they reached the disk. */
class Document<T> {
  readonly file: string;
  readonly #db: Low<T>;
  readonly #adapter: AtomicJsonFile<T>;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(file: string, fallback: T, onCorrupt: EmbeddedStoreOptions['onCorrupt']) {
    this.file = file;
    this.#adapter = new AtomicJsonFile<T>(file, onCorrupt ? { onCorrupt } : {});
    this.#db = new Low<T>(this.#adapter, fallback);
  }

  async read(): Promise<T> {
    await this.#db.read();
    return this.#db.data;
  }

  get data(): T {
    return this.#db.data;
  }

  /**
   * Applies `change` to the current data (it returns the new data, or throws to refuse) and
   * writes it; changes run one at a time, each on the result of the previous one.
   */
  change(change: (data: T) => T): Promise<void> {
    const run = this.#writing.then(async () => {
      const next = change(this.#db.data);
      await this.#adapter.write(next);
      this.#db.data = next;
    });
    this.#writing = run.catch(() => {});
    return run;
  }
}

interface PolicyFile {
  version: 1;
  policies: Array<Omit<PolicyRecord, 'id' | 'stamp'> & { stamp?: string }>;
}

interface TokenFile {
  version: 1;
  tokens: TokenRecord[];
}

type SettingsFile = { version: 1 } & Record<string, unknown>;

interface WebhookFile {
  version: 1;
  webhooks: WebhookRecord[];
}

export async function createEmbeddedStore(options: EmbeddedStoreOptions): Promise<StateStore> {
  const { dataDir, onCorrupt } = options;
  const policyDoc = new Document<PolicyFile>(
    join(dataDir, 'policies.json'),
    { version: 1, policies: [] },
    onCorrupt,
  );
  const policyData = await policyDoc.read();
  if (!Array.isArray(policyData.policies)) {
    throw new LockwardenError(
      'ECONFIG',
      `${policyDoc.file}: expected {"policies": [...]}; fix or remove the file`,
    );
  }
  const tokenDoc = new Document<TokenFile>(
    join(dataDir, 'check-tokens.json'),
    { version: 1, tokens: [] },
    onCorrupt,
  );
  const problems = problemsInTokenFile(await tokenDoc.read());
  if (problems.length > 0) {
    throw new LockwardenError('ECONFIG', `${tokenDoc.file}: ${problems.join('; ')}; fix or remove the file`, {
      details: problems,
    });
  }
  const settingsDoc = new Document<SettingsFile>(
    join(dataDir, 'admin-token.json'),
    { version: 1 },
    onCorrupt,
  );
  await settingsDoc.read();

  const idOf = (p: PolicyFile['policies'][number]): string => String((p.policy as { id?: unknown })?.id);
  const toRecord = (p: PolicyFile['policies'][number]): PolicyRecord => ({
    id: idOf(p),
    policy: p.policy,
    revision: p.revision,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    // Files from before stamps: the time of the last write tells revisions apart as well.
    stamp: p.stamp ?? p.updatedAt,
  });
  const fromRecord = ({ id: _id, ...rest }: PolicyRecord): PolicyFile['policies'][number] => rest;

  const settings: SettingRecords = {
    async get(key) {
      const value = settingsDoc.data[key];
      return typeof value === 'string' ? value : undefined;
    },
    async putIfAbsent(key, value) {
      await settingsDoc.change((data) => (typeof data[key] === 'string' ? data : { ...data, [key]: value }));
      return settingsDoc.data[key] as string;
    },
    async put(key, value) {
      await settingsDoc.change((data) => ({ ...data, [key]: value }));
    },
    async update(key, change) {
      // Changes of the document run one at a time, each on the previous result: atomic here.
      await settingsDoc.change((data) => {
        const current = data[key];
        return { ...data, [key]: change(typeof current === 'string' ? current : undefined) };
      });
      return settingsDoc.data[key] as string;
    },
  };

  const webhookDoc = new Document<WebhookFile>(
    join(dataDir, 'webhooks.json'),
    { version: 1, webhooks: [] },
    onCorrupt,
  );
  if (!Array.isArray((await webhookDoc.read()).webhooks)) {
    throw new LockwardenError(
      'ECONFIG',
      `${webhookDoc.file}: expected {"webhooks": [...]}; fix or remove the file`,
    );
  }
  const outbox = await openEmbeddedOutbox(join(dataDir, 'webhooks'), (file, reason) =>
    options.onCorrupt?.(file, file, reason),
  );

  const audit = await createSegmentAuditLog({
    dir: join(dataDir, 'audit'),
    legacyFile: join(dataDir, 'audit.json'),
    now: options.now,
    ...options.audit,
    ...(options.onAuditError ? { onError: options.onAuditError } : {}),
    ...(onCorrupt ? { onCorrupt } : {}),
    ...(options.onMigrated ? { onMigrated: options.onMigrated } : {}),
    ...(options.onSnapshotProblem ? { onSnapshotProblem: options.onSnapshotProblem } : {}),
  });

  return {
    kind: 'embedded',
    policies: {
      async list() {
        return policyDoc.data.policies.map(toRecord);
      },
      insert(record) {
        return policyDoc.change((data) => {
          if (data.policies.some((p) => idOf(p) === record.id))
            throw new StoreError('conflict', `policy "${record.id}" exists`);
          return { version: 1, policies: [...data.policies, fromRecord(record)] };
        });
      },
      replace(record) {
        return policyDoc.change((data) => {
          const at = data.policies.findIndex((p) => idOf(p) === record.id);
          if (at === -1) throw new StoreError('not-found', `no policy "${record.id}"`);
          if (data.policies[at]!.revision !== record.revision - 1)
            throw new StoreError('conflict', `policy "${record.id}" changed meanwhile; read it and retry`);
          const policies = [...data.policies];
          policies[at] = fromRecord(record);
          return { version: 1, policies };
        });
      },
      remove(id) {
        return policyDoc.change((data) => {
          const policies = data.policies.filter((p) => idOf(p) !== id);
          if (policies.length === data.policies.length)
            throw new StoreError('not-found', `no policy "${id}"`);
          return { version: 1, policies };
        });
      },
    },
    checkTokens: {
      async list() {
        return tokenDoc.data.tokens.map((t) => ({ ...t }));
      },
      async byHash(sha256) {
        return tokenDoc.data.tokens.find((t) => t.sha256 === sha256);
      },
      insert(record, limit) {
        return tokenDoc.change((data) => {
          if (data.tokens.some((t) => t.name === record.name))
            throw new StoreError(
              'conflict',
              `name: a token named "${record.name}" exists; revoke it first or pick another name`,
            );
          if (data.tokens.length >= limit)
            throw new StoreError('conflict', `at most ${limit} issued tokens; revoke some`);
          return { version: 1, tokens: [...data.tokens, record] };
        });
      },
      remove(id) {
        return tokenDoc.change((data) => {
          const tokens = data.tokens.filter((t) => t.id !== id);
          if (tokens.length === data.tokens.length)
            throw new StoreError('not-found', `no issued check token with id "${id}"`);
          return { version: 1, tokens };
        });
      },
    },
    settings,
    audit,
    webhooks: {
      async list() {
        return webhookDoc.data.webhooks.map((w) => ({ ...w }));
      },
      async get(id) {
        const w = webhookDoc.data.webhooks.find((x) => x.id === id);
        return w ? { ...w } : undefined;
      },
      insert(record, limit) {
        return webhookDoc.change((data) => {
          if (data.webhooks.length >= limit)
            throw new StoreError('conflict', `at most ${limit} webhooks; delete some`);
          return { version: 1, webhooks: [...data.webhooks, record] };
        });
      },
      async remove(id) {
        await webhookDoc.change((data) => {
          const webhooks = data.webhooks.filter((w) => w.id !== id);
          if (webhooks.length === data.webhooks.length)
            throw new StoreError('not-found', `no webhook "${id}"`);
          return { version: 1, webhooks };
        });
        await outbox.removeSubscription(id);
      },
    },
    outbox,
    onPoliciesChanged: () => () => {},
    describe: () => ({ kind: 'embedded', dataDir }),
    close: async () => {
      await audit.close();
      await outbox.close();
    },
  };
}
