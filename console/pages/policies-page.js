// Every policy with its activation line and paste-ready snippets; store policies can be edited and
// deleted, policies loaded from files are read-only (they live in git).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ConfirmButton, CopyButton, ErrorMessage, PageHeading, Snippet } from '../components.js';
import { html } from '../html.js';
import { ACTION_TEXT, snippets, thresholdSummary } from '../policy-text.js';
import { Link, navigate } from '../router.js';

function PolicyCard({ item, highlighted, onDeleted }) {
  const p = item.policy;
  const [error, setError] = useState(null);
  const lineId = `line-${item.id}`;
  const remove = async () => {
    setError(null);
    try {
      await api.delete(`/policies/${encodeURIComponent(item.id)}`);
      onDeleted(item.id);
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <article class=${`policy${highlighted ? ' highlighted' : ''}`} aria-labelledby=${`policy-${item.id}`} id=${`policy-card-${item.id}`}>
      <header class="policy-head">
        <h2 id=${`policy-${item.id}`}>${p.name || item.id} <span class="muted">(${item.id})</span></h2>
        <span class=${`badge ${p.action}`} title=${ACTION_TEXT[p.action]}>${p.action}</span>
      </header>
      ${p.description ? html`<p>${p.description}</p>` : null}
      <p class="summary"><span class="visually-hidden">Thresholds: </span>${thresholdSummary(p)}</p>
      <div class="activation">
        <span class="label" id=${`${lineId}-label`}>Activation line</span>
        <code id=${lineId} class="line" aria-labelledby=${`${lineId}-label`}>${item.npmConfigRegistry}</code>
        <${CopyButton} text=${item.npmConfigRegistry} label=${`Copy activation line of ${item.id}`} target=${lineId} />
      </div>
      <details>
        <summary>Snippets for Docker, .npmrc and the GitHub Action</summary>
        ${snippets(item).map((s) => html`<${Snippet} id=${`${s.key}-${item.id}`} title=${s.title} text=${s.text} />`)}
      </details>
      ${
        item.origin.kind === 'file'
          ? html`<p class="note">Read-only: loaded from <code>${item.origin.file}</code>. Change that file and restart the service.</p>`
          : html`<div class="actions">
              <${Link} class="button secondary" to=${`policies/${encodeURIComponent(item.id)}/edit`}>Edit<span class="visually-hidden"> ${item.id}</span></${Link}>
              <${ConfirmButton} label=${`Delete ${item.id}`} confirmLabel="Delete" question=${`Delete policy ${item.id}? Installs through its line will fail.`} onConfirm=${remove} />
            </div>`
      }
      <${ErrorMessage} error=${error} />
    </article>
  `;
}

export default function PoliciesPage({ query }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const saved = query.get('saved');
  useEffect(() => {
    api
      .get('/policies')
      .then((r) => setItems(r.policies))
      .catch(setError);
  }, []);
  const savedItem = saved && items?.find((i) => i.id === saved);
  return html`
    <${PageHeading}>Policies</${PageHeading}>
    <p class="lead">Each policy is a registry URL: point npm, pnpm, yarn or bun at its line and every install goes through it.</p>
    <p><button type="button" onClick=${() => navigate('policies/new')}>New policy</button></p>
    ${savedItem ? html`<div class="success" role="status">Policy <strong>${savedItem.id}</strong> saved. Install through it with <code>${savedItem.npmConfigRegistry}</code></div>` : null}
    <${ErrorMessage} error=${error} />
    ${items === null && !error ? html`<p class="loading">Loading policies…</p>` : null}
    ${items?.length === 0 ? html`<p>No policies yet.</p>` : null}
    <div class="policies">
      ${items?.map((item) => html`<${PolicyCard} key=${item.id} item=${item} highlighted=${item.id === saved} onDeleted=${(id) => setItems(items.filter((i) => i.id !== id))} />`)}
    </div>
  `;
}
