// Check tokens: issue one per pipeline (shown once), list, revoke. They may only call the check
// API for the policies they name; they cannot sign in here or change anything.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ConfirmButton, CopyButton, ErrorMessage, Field, formatTime, PageHeading } from '../components.js';
import { html } from '../html.js';

function IssueForm({ policies, onIssued }) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState('all');
  const [chosen, setChosen] = useState([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const issued = await api.post('/check-tokens', {
        name: name.trim(),
        policies: scope === 'all' ? null : chosen,
      });
      setName('');
      onIssued(issued);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const toggle = (id) => setChosen(chosen.includes(id) ? chosen.filter((c) => c !== id) : [...chosen, id]);
  return html`
    <form onSubmit=${submit} aria-labelledby="issue-title">
      <h2 id="issue-title">Issue a check token</h2>
      <${Field} id="token-name" label="Name" hint="Which pipeline holds it, e.g. ci-web.">
        ${(props) => html`<input type="text" ...${props} required value=${name} onInput=${(e) => setName(e.currentTarget.value)} />`}
      </${Field}>
      <fieldset>
        <legend>Policies it may check</legend>
        <div class="check"><input type="radio" id="scope-all" name="scope" checked=${scope === 'all'} onChange=${() => setScope('all')} /><label for="scope-all">Every policy</label></div>
        <div class="check"><input type="radio" id="scope-some" name="scope" checked=${scope === 'some'} onChange=${() => setScope('some')} /><label for="scope-some">Only these:</label></div>
        ${policies.map(
          (p) =>
            html`<div class="check"><input type="checkbox" id=${`scope-${p.id}`} disabled=${scope === 'all'} checked=${chosen.includes(p.id)} onChange=${() => toggle(p.id)} /><label for=${`scope-${p.id}`}>${p.id}</label></div>`,
        )}
      </fieldset>
      <${ErrorMessage} error=${error} />
      <button type="submit" disabled=${busy}>Issue token</button>
    </form>
  `;
}

export default function CheckTokensPage() {
  const [tokens, setTokens] = useState(null);
  const [configured, setConfigured] = useState(0);
  const [policies, setPolicies] = useState([]);
  const [issued, setIssued] = useState(null);
  const [error, setError] = useState(null);
  const load = () =>
    api
      .get('/check-tokens')
      .then((r) => {
        setTokens(r.tokens);
        setConfigured(r.configured);
      })
      .catch(setError);
  useEffect(() => {
    load();
    api
      .get('/policies')
      .then((r) => setPolicies(r.policies))
      .catch(setError);
  }, []);
  const revoke = async (t) => {
    setError(null);
    try {
      await api.delete(`/check-tokens/${encodeURIComponent(t.id)}`);
      if (issued?.id === t.id) setIssued(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <${PageHeading}>Check tokens</${PageHeading}>
    <p class="lead">Give each CI pipeline its own check token (the Action's <code>service-token</code>): it may only check packages against the policies it names. Only a hash is kept.</p>
    ${
      issued
        ? html`<div class="token-once" role="status">
            <p><strong>Token for ${issued.name}: copy it now, it is shown only once.</strong></p>
            <p><code id="issued-token">${issued.token}</code> <${CopyButton} text=${issued.token} label="Copy token" target="issued-token" /></p>
            <p><button type="button" class="secondary small" onClick=${() => setIssued(null)}>I stored it</button></p>
          </div>`
        : null
    }
    <${ErrorMessage} error=${error} />
    <h2>Issued tokens</h2>
    ${tokens?.length === 0 ? html`<p>No issued tokens.</p>` : null}
    ${
      tokens?.length
        ? html`<div class="table-wrap" role="region" aria-label="Issued check tokens" tabindex="0"><table>
            <caption class="visually-hidden">Issued check tokens</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Policies</th><th scope="col">Issued</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>${tokens.map(
              (
                t,
              ) => html`<tr><td>${t.name}</td><td>${t.policies === null ? 'every policy' : t.policies.join(', ')}</td><td>${formatTime(t.createdAt)}</td>
                <td><${ConfirmButton} label=${`Revoke ${t.name}`} confirmLabel="Revoke" question=${`Revoke ${t.name}? Its pipeline's checks fail from the next request.`} onConfirm=${() => revoke(t)} /></td></tr>`,
            )}</tbody></table></div>`
        : null
    }
    ${configured > 0 ? html`<p class="muted">Plus ${configured} token${configured === 1 ? '' : 's'} configured at start (--check-token or LOCKWARDEN_CHECK_TOKEN); change those where the service is started.</p>` : null}
    <${IssueForm} policies=${policies} onIssued=${(t) => {
      setIssued(t);
      load();
    }} />
  `;
}
