// Every page of the console: a module under pages/ and one line here. `path` segments starting
// with ":" are parameters; `nav` puts the page in the main navigation. Modules load on first visit.
export const PAGES = [
  { path: 'policies', title: 'Policies', nav: true, load: () => import('./pages/policies-page.js') },
  { path: 'policies/new', title: 'New policy', load: () => import('./pages/policy-editor-page.js') },
  { path: 'policies/:id/edit', title: 'Edit policy', load: () => import('./pages/policy-editor-page.js') },
  { path: 'audit', title: 'Audit log', nav: true, load: () => import('./pages/audit-log-page.js') },
  { path: 'try', title: 'Try a package', nav: true, load: () => import('./pages/try-package-page.js') },
  { path: 'tokens', title: 'Check tokens', nav: true, load: () => import('./pages/check-tokens-page.js') },
  { path: 'webhooks', title: 'Webhooks', nav: true, load: () => import('./pages/webhooks-page.js') },
];

export const DEFAULT_PAGE = 'policies';

/** The page for a path and its parameters, or undefined. */
export function matchPage(path) {
  const parts = path.split('/');
  for (const page of PAGES) {
    const pattern = page.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params = {};
    if (
      pattern.every((seg, i) => {
        if (seg.startsWith(':')) {
          params[seg.slice(1)] = decodeURIComponent(parts[i]);
          return parts[i] !== '';
        }
        return seg === parts[i];
      })
    )
      return { page, params };
  }
  return undefined;
}
