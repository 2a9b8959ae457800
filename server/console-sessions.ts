// Console sign-in: the admin token is exchanged once for a session cookie, so the browser never
// keeps the token itself. A session is a signed value (id, expiry, HMAC), not a server-side row,
// so every replica on one database accepts it: the signing key is kept by the state store's
// settings (created once, shared), mixed with the admin token's fingerprint, so a new admin
// token (--reset-admin-token, another LOCKWARDEN_ADMIN_TOKEN) signs every console out. Signing
// out records the session id as revoked in the same settings until it would have expired anyway.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SettingRecords } from './state-store.js';

export const SESSION_COOKIE = 'lockwarden_session';
export const CSRF_HEADER = 'x-lockwarden-csrf';
export const SESSION_TTL_MS = 12 * 60 * 60_000;
const KEY_SETTING = 'consoleSessionKey';
const REVOKED_SETTING = 'consoleRevokedSessions';

export interface ConsoleSession {
  id: string;
  expiresAt: number;
  /** Sent back by the console on every write (a header no other origin can set). */
  csrfToken: string;
}

export interface ConsoleSessions {
  /** A new session; `cookie` is the value to set. */
  create(): { cookie: string; session: ConsoleSession };
  /** The session a cookie value stands for, or undefined (forged, expired, revoked). */
  verify(cookie: string | undefined): Promise<ConsoleSession | undefined>;
  /** Whether a presented CSRF token belongs to the session (constant time). */
  csrfMatches(session: ConsoleSession, presented: string | undefined): boolean;
  revoke(session: ConsoleSession): Promise<void>;
}

export async function createConsoleSessions(options: {
  settings: SettingRecords;
  /** Changes when the admin token changes. */
  adminFingerprint: string;
  now: () => Date;
  ttlMs?: number;
}): Promise<ConsoleSessions> {
  const ttlMs = options.ttlMs ?? SESSION_TTL_MS;
  const stored = await options.settings.putIfAbsent(KEY_SETTING, randomBytes(32).toString('hex'));
  const key = createHmac('sha256', Buffer.from(stored, 'hex')).update(options.adminFingerprint).digest();
  const mac = (text: string) => createHmac('sha256', key).update(text).digest('base64url');
  const csrfOf = (id: string) => mac(`csrf.${id}`);

  const parseRevoked = (text: string | undefined): Record<string, number> => {
    if (text === undefined) return {};
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, number>) : {};
    } catch {
      return {};
    }
  };
  const readRevoked = async () => parseRevoked(await options.settings.get(REVOKED_SETTING));

  return {
    create() {
      const id = randomBytes(16).toString('base64url');
      const expiresAt = options.now().getTime() + ttlMs;
      const body = `${id}.${expiresAt}`;
      return { cookie: `${body}.${mac(body)}`, session: { id, expiresAt, csrfToken: csrfOf(id) } };
    },
    async verify(cookie) {
      const match = /^([A-Za-z0-9_-]{22})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
      if (!match) return undefined;
      const [, id, expires, presented] = match as unknown as [string, string, string, string];
      const expected = Buffer.from(mac(`${id}.${expires}`));
      if (!timingSafeEqual(expected, Buffer.from(presented))) return undefined;
      const expiresAt = Number(expires);
      if (expiresAt <= options.now().getTime()) return undefined;
      if ((await readRevoked())[id] !== undefined) return undefined;
      return { id, expiresAt, csrfToken: csrfOf(id) };
    },
    csrfMatches(session, presented) {
      if (presented === undefined) return false;
      const a = Buffer.from(session.csrfToken);
      const b = Buffer.from(presented);
      return a.length === b.length && timingSafeEqual(a, b);
    },
    async revoke(session) {
      const nowMs = options.now().getTime();
      // Atomic across replicas: two consoles signing out at once on two replicas both stay revoked.
      await options.settings.update(REVOKED_SETTING, (current) => {
        // Only sessions that would still be valid need remembering: the list stays small.
        const kept: Record<string, number> = {};
        for (const [id, until] of Object.entries(parseRevoked(current))) if (until > nowMs) kept[id] = until;
        kept[session.id] = session.expiresAt;
        return JSON.stringify(kept);
      });
    },
  };
}
