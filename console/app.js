// The console's shell: asks whether this browser is signed in, shows sign-in or the layout with
// the page for the current URL, and moves focus to each new page's heading for screen readers.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { session } from './api.js';
import { ErrorMessage } from './components.js';
import { html } from './html.js';
import { SignInPage } from './pages/sign-in-page.js';
import { DEFAULT_PAGE, matchPage, PAGES } from './pages.js';
import { currentLocation, Link, navigate, useLocation } from './router.js';

function Layout({ path, onSignOut, children }) {
  const active = (p) => path === p || path.startsWith(`${p}/`);
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand">lockwarden</span>
      <nav aria-label="Main">
        <ul>
          ${PAGES.filter((p) => p.nav).map(
            (p) =>
              html`<li><${Link} to=${p.path} aria-current=${active(p.path) ? 'page' : undefined}>${p.title}</${Link}></li>`,
          )}
        </ul>
      </nav>
      <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">${children}</main>
  `;
}

/** Page modules by page: started before they are needed, rendered without waiting once resolved. */
const modules = new Map();
function loadPage(page) {
  let entry = modules.get(page);
  if (!entry) {
    entry = { promise: page.load().then((mod) => (entry.Component = mod.default)) };
    modules.set(page, entry);
  }
  return entry;
}
// The first page's module loads while the session is checked, not after.
const initial = matchPage(currentLocation().path || DEFAULT_PAGE);
if (initial) loadPage(initial.page).promise.catch(() => {});

function Page({ path, query, info }) {
  const match = matchPage(path);
  const entry = match ? loadPage(match.page) : undefined;
  const [, setReady] = useState(0);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!match) return;
    document.title = `${match.page.title} · lockwarden`;
    // Even when the module resolved meanwhile: this render may have shown "Loading" before it did.
    let live = true;
    setError(null);
    entry.promise.then(() => live && setReady((n) => n + 1)).catch((err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [match?.page]);
  if (!match)
    return html`<h1 tabindex="-1">Not found</h1><p>No console page at this address. <${Link} to=${DEFAULT_PAGE}>Go to the policies</${Link}>.</p>`;
  if (error) return html`<${ErrorMessage} error=${error} />`;
  if (!entry.Component) return html`<p class="loading">Loading…</p>`;
  const { Component } = entry;
  return html`<${Component} params=${match.params} query=${query} info=${info} />`;
}

function App() {
  const { path, query } = useLocation();
  const [state, setState] = useState({ status: 'checking' });
  const lastPath = useRef(null);

  const check = () =>
    session
      .current()
      .then((s) => setState(s.signedIn ? { status: 'in', info: s } : { status: 'out' }))
      .catch((error) => setState({ status: 'out', error }));
  useEffect(() => {
    check();
    const out = () => setState({ status: 'out', notice: 'Your session ended; sign in again.' });
    addEventListener('lw:signed-out', out);
    return () => removeEventListener('lw:signed-out', out);
  }, []);

  useEffect(() => {
    if (state.status === 'in' && path === '') navigate(DEFAULT_PAGE, { replace: true });
  }, [state.status, path]);

  // A new page: put focus on its heading, as a full page load would put the reader at the top.
  useEffect(() => {
    if (state.status !== 'in' || lastPath.current === path) return;
    const first = lastPath.current === null;
    lastPath.current = path;
    if (first) return;
    const t = setTimeout(() => document.querySelector('main h1')?.focus(), 50);
    return () => clearTimeout(t);
  });

  if (state.status === 'checking') return html`<p class="loading">Loading…</p>`;
  if (state.status === 'out')
    return html`<${SignInPage} notice=${state.notice} error=${state.error} onSignedIn=${(info) => setState({ status: 'in', info })} />`;
  const signOut = async () => {
    try {
      await session.signOut();
    } finally {
      setState({ status: 'out', notice: 'Signed out.' });
    }
  };
  return html`<${Layout} path=${path} onSignOut=${signOut}><${Page} path=${path} query=${query} info=${state.info} /></${Layout}>`;
}

render(html`<${App} />`, document.getElementById('app'));
