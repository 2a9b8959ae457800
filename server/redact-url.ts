// An upstream URL may carry `user:password@`; the service shows it in /health, the start banner,
// logs and error messages, none of which may repeat the password.

/** Origin and path of a URL, without userinfo, query or fragment. */
export function displayUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return redactUrlCredentials(raw);
  }
}

const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"']*@/gi;

/** `text` with the userinfo of every URL in it removed (upstream error reasons quote URLs). */
export function redactUrlCredentials(text: string): string {
  return text.replace(USERINFO, '$1');
}
