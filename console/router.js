// Console URLs are real paths below /-/lockwarden/console/ (the service answers each with the
// same page), so links can be opened in a new tab, bookmarked and shared.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';

export const BASE = '/-/lockwarden/console/';

/** The path below the console, without leading slash, and the query. */
export function currentLocation() {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  return { path: path.replace(/\/+$/, ''), query: new URLSearchParams(location.search) };
}

export function navigate(to, { replace = false } = {}) {
  const url = BASE + to;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  dispatchEvent(new Event('lw:navigate'));
}

export function useLocation() {
  const [loc, setLoc] = useState(currentLocation);
  useEffect(() => {
    const update = () => setLoc(currentLocation());
    addEventListener('popstate', update);
    addEventListener('lw:navigate', update);
    return () => {
      removeEventListener('popstate', update);
      removeEventListener('lw:navigate', update);
    };
  }, []);
  return loc;
}

/** An ordinary link (middle-click and copy still work) that navigates in place on a plain click. */
export function Link({ to, children, ...rest }) {
  const onClick = (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return html`<a href=${BASE + to} onClick=${onClick} ...${rest}>${children}</a>`;
}
