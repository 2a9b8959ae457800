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

/**
 * A request target for the log: the path, and the query's parameter names without their values
 * (`?access_token=…` would otherwise put a token in every log line). Search terms go too: the log
 * needs to say which endpoint was asked, not what for.
 */
export function redactQuery(target: string): string {
  const q = target.indexOf('?');
  if (q === -1) return target;
  const names = target
    .slice(q + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1 ? pair : `${pair.slice(0, eq)}=[redacted]`;
    });
  return `${target.slice(0, q)}?${names.join('&')}`;
}
