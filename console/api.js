// The admin API (/-/lockwarden/v1/) with the session cookie. Writes carry the session's CSRF token
// in a header another origin cannot set; a 401 means the session ended, and the app shows sign-in.
export const API = '/-/lockwarden/v1';
const SESSION = '/-/lockwarden/console/session';
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, message, problems) {
    super(message);
    this.status = status;
    /** The engine's validation problems: [{path, message}]. */
    this.problems = Array.isArray(problems) ? problems : [];
  }
}

async function send(method, url, body, extraHeaders = {}) {
  const headers = { accept: 'application/json', ...extraHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-lockwarden-csrf'] = csrfToken;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ApiError(0, `the service did not answer (${err.message}); is it running?`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    data = { error: text.slice(0, 200) };
  }
  if (!res.ok) {
    if (res.status === 401 && url !== SESSION) dispatchEvent(new Event('lw:signed-out'));
    throw new ApiError(res.status, data?.error ?? `HTTP ${res.status}`, data?.problems);
  }
  return data;
}

export const api = {
  get: (path) => send('GET', API + path),
  post: (path, body) => send('POST', API + path, body ?? {}),
  put: (path, body, headers) => send('PUT', API + path, body, headers),
  delete: (path) => send('DELETE', API + path),
};

export const session = {
  async current() {
    const s = await send('GET', SESSION);
    csrfToken = s?.signedIn ? s.csrfToken : null;
    return s;
  },
  async signIn(token) {
    const s = await send('POST', SESSION, { token });
    csrfToken = s.csrfToken;
    return s;
  },
  async signOut() {
    await send('DELETE', SESSION);
    csrfToken = null;
  },
};

/** A query string from an object, leaving out empty values. */
export function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}
