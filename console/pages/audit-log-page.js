// The audit log: newest first, filtered and paged through GET /audit, with entries arriving live
// over server-sent events (GET /audit/events, same filters) while the first page is shown.
import { useEffect, useState } from 'preact/hooks';
import { API, api, queryString } from '../api.js';
import { allowHelps, howToGetPast } from '../audit-hints.js';
import { ErrorMessage, Field, formatTime, PageHeading } from '../components.js';
import { html } from '../html.js';
import { BASE, Link, navigate } from '../router.js';

const PAGE_SIZE = 50;
const FILTERS = ['policy', 'label', 'package', 'rule', 'outcome', 'since', 'until'];
const OUTCOMES = ['blocked', 'hidden', 'alert'];

/** datetime-local (the reader's time zone) <-> ISO in the URL. */
const toIso = (local) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso) => {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

function filtersFrom(query) {
  const f = {};
  for (const k of FILTERS) f[k] = query.get(k) ?? '';
  return f;
}

function Filters({ filters, policies, rules, onApply }) {
  const [form, setForm] = useState(filters);
  useEffect(() => setForm(filters), [JSON.stringify(filters)]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const select = (k, options, all) => (props) =>
    html`<select ...${props} value=${form[k]} onChange=${set(k)}><option value="">${all}</option>${options.map((o) => html`<option value=${o}>${o}</option>`)}</select>`;
  const input =
    (k, type = 'text') =>
    (props) =>
      html`<input type=${type} ...${props} value=${form[k]} onInput=${set(k)} />`;
  return html`
    <form class="filters" aria-label="Filters" onSubmit=${(e) => {
      e.preventDefault();
      onApply(form);
    }}>
      <${Field} id="f-policy" label="Policy">${select('policy', policies, 'All policies')}</${Field}>
      <${Field} id="f-label" label="Label">${input('label')}</${Field}>
      <${Field} id="f-package" label="Package">${input('package')}</${Field}>
      <${Field} id="f-rule" label="Rule">${select('rule', rules, 'All rules')}</${Field}>
      <${Field} id="f-outcome" label="Outcome">${select('outcome', OUTCOMES, 'All outcomes')}</${Field}>
      <${Field} id="f-since" label="From">${(props) => html`<input type="datetime-local" ...${props} value=${toLocal(form.since)} onInput=${(e) => setForm({ ...form, since: toIso(e.currentTarget.value) })} />`}</${Field}>
      <${Field} id="f-until" label="To">${(props) => html`<input type="datetime-local" ...${props} value=${toLocal(form.until)} onInput=${(e) => setForm({ ...form, until: toIso(e.currentTarget.value) })} />`}</${Field}>
      <div class="actions"><button type="submit">Apply filters</button><button type="button" class="secondary" onClick=${() => onApply(filtersFrom(new URLSearchParams()))}>Clear</button></div>
    </form>
  `;
}

function EntryRow({ entry, fresh, editable }) {
  const spec = entry.version ? `${entry.package}@${entry.version}` : entry.package;
  const allowLink =
    editable && allowHelps(entry)
      ? `policies/${encodeURIComponent(entry.policy)}/edit${queryString({ allow: entry.rule === 'typosquatting' || entry.rule === 'popularity' ? entry.package : spec, reason: `audit entry ${entry.id}` })}`
      : null;
  return html`
    <tr class=${fresh ? 'fresh' : undefined}>
      <td><time datetime=${entry.time}>${formatTime(entry.time)}</time></td>
      <td><span class=${`badge ${entry.outcome}`}>${entry.outcome}</span></td>
      <td><code>${spec}</code></td>
      <td>${entry.policy}${entry.label ? html`<br /><span class="muted">label </span>${entry.label}` : null}</td>
      <td>${entry.rule}</td>
      <td class="why">${entry.reason}<p class="how">${howToGetPast(entry)}${allowLink ? html` <${Link} to=${allowLink}>Allow in ${entry.policy}<span class="visually-hidden"> (${spec})</span></${Link}>` : null}</p></td>
      <td class="ua">${entry.source === 'ci' ? 'CI check' : ''}${entry.userAgent ? html`${entry.source === 'ci' ? ' · ' : ''}${entry.userAgent}` : ''}</td>
    </tr>
  `;
}

export default function AuditLogPage({ query, info }) {
  const filters = filtersFrom(query);
  const cursor = query.get('cursor') ?? '';
  const filterKey = JSON.stringify(filters);
  const [page, setPage] = useState(null);
  const [fresh, setFresh] = useState(new Set());
  const [waiting, setWaiting] = useState(0);
  const [live, setLive] = useState('connecting');
  const [error, setError] = useState(null);
  const [policies, setPolicies] = useState([]);
  const [announce, setAnnounce] = useState('');

  useEffect(() => {
    api
      .get('/policies')
      .then((r) => setPolicies(r.policies))
      .catch(() => {});
  }, []);

  const load = () => {
    setError(null);
    return api
      .get(`/audit${queryString({ ...filters, limit: PAGE_SIZE, cursor })}`)
      .then((p) => {
        setPage(p);
        setWaiting(0);
        setFresh(new Set());
      })
      .catch(setError);
  };
  useEffect(() => {
    load();
  }, [filterKey, cursor]);

  // Live entries under the same filters; prepended on the first page, counted on older pages.
  useEffect(() => {
    const source = new EventSource(`${API}/audit/events${queryString(filters)}`);
    source.onopen = () => setLive('live');
    source.onerror = () => setLive('reconnecting');
    source.addEventListener('gap', () => (cursor ? setWaiting((n) => n + 1) : load()));
    source.addEventListener('entry', (event) => {
      const entry = JSON.parse(event.data);
      if (cursor) {
        setWaiting((n) => n + 1);
        return;
      }
      setPage((p) =>
        p && !p.entries.some((e) => e.id === entry.id) ? { ...p, entries: [entry, ...p.entries] } : p,
      );
      setFresh((s) => new Set(s).add(entry.id));
      setAnnounce(`New entry: ${entry.outcome} ${entry.package}${entry.version ? `@${entry.version}` : ''}`);
    });
    return () => source.close();
  }, [filterKey, cursor]);

  const go = (next) => navigate(`audit${queryString(next)}`);
  const exportUrl = (format) => `${API}/audit/export${queryString({ ...filters, format })}`;
  const editable = new Set(policies.filter((p) => p.origin.kind === 'store').map((p) => p.id));
  return html`
    <${PageHeading}>Audit log</${PageHeading}>
    <p class="lead">Every version the service blocked, hid or let through with an alert, newest first.</p>
    <${Filters} filters=${filters} policies=${policies.map((p) => p.id)} rules=${info?.rules ?? []} onApply=${(f) => go(f)} />
    <div class="toolbar">
      <span class=${live === 'live' ? 'live' : 'muted'}>${live === 'live' ? (cursor ? 'Live: new entries are counted' : 'Live: new entries appear at the top') : 'Connecting to live updates…'}</span>
      <a class="button secondary" href=${exportUrl('csv')} download>Export CSV</a>
      <a class="button secondary" href=${exportUrl('json')} download>Export JSON</a>
    </div>
    <p class="visually-hidden" role="status" aria-live="polite">${announce}</p>
    ${waiting > 0 ? html`<p><button type="button" onClick=${() => go(filters)}>${waiting} new ${waiting === 1 ? 'entry' : 'entries'}: show the newest</button></p>` : null}
    <${ErrorMessage} error=${error} />
    <div class="table-wrap" role="region" aria-label="Audit log entries" tabindex="0">
      <table>
        <caption class="visually-hidden">Audit log</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Outcome</th><th scope="col">Package</th><th scope="col">Policy</th><th scope="col">Rule</th><th scope="col">Why, and how to get past it</th><th scope="col">Client</th></tr></thead>
        <tbody>
          ${page?.entries.map((e) => html`<${EntryRow} key=${e.id} entry=${e} fresh=${fresh.has(e.id)} editable=${editable.has(e.policy)} />`)}
        </tbody>
      </table>
    </div>
    ${page && page.entries.length === 0 ? html`<p>No entries${FILTERS.some((k) => filters[k]) ? ' match these filters' : ' yet'}.</p>` : null}
    ${page === null && !error ? html`<p class="loading">Loading…</p>` : null}
    <nav class="actions" aria-label="Pages">
      ${cursor ? html`<button type="button" class="secondary" onClick=${() => go(filters)}>Newest</button>` : null}
      ${
        page?.nextCursor
          ? html`<a class="button secondary" href=${`${BASE}audit${queryString({ ...filters, cursor: page.nextCursor })}`} onClick=${(
              e,
            ) => {
              e.preventDefault();
              go({ ...filters, cursor: page.nextCursor });
            }}>Older</a>`
          : null
      }
    </nav>
  `;
}
