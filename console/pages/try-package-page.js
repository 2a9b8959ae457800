// Try a package: name[@version|tag|range] under a policy → what an install through the policy's
// line gets, from the same package cache and engine verdicts as the registry (nothing is logged).
import { useEffect, useState } from 'preact/hooks';
import { api, queryString } from '../api.js';
import { ErrorMessage, Field, PageHeading } from '../components.js';
import { html } from '../html.js';

const HEADLINE = {
  allowed: 'Allowed',
  alert: 'Allowed, with an alert',
  blocked: 'Blocked',
  'not-found': 'Not found',
  unavailable: 'Unavailable',
};

function Result({ result }) {
  const { outcome, status, version, name, message, findings, hiddenVersions, stale } = result;
  return html`
    <section class="result" aria-labelledby="try-result">
      <h2 id="try-result"><span class=${`badge ${outcome === 'allowed' ? 'allowed' : outcome === 'alert' ? 'alert' : 'blocked'}`}>${HEADLINE[outcome]}</span> ${name}${version ? `@${version}` : ''}</h2>
      <p>${message}</p>
      <p class="muted">An install through policy ${result.policy.id} gets HTTP ${status}${hiddenVersions > 0 ? `; ${hiddenVersions} version${hiddenVersions === 1 ? ' is' : 's are'} hidden from this package` : ''}.</p>
      ${stale ? html`<p class="note">From a kept copy: ${stale}</p>` : null}
      ${
        findings.length > 0
          ? html`<h3>Findings</h3><ul>${findings.map((f) => html`<li><strong>${f.rule}</strong> (${f.effect}): ${f.message}<br /><span class="how">How to get past it: ${f.hint}</span></li>`)}</ul>`
          : null
      }
    </section>
  `;
}

export default function TryPackagePage({ query }) {
  const [policies, setPolicies] = useState(null);
  const [spec, setSpec] = useState(query.get('package') ?? '');
  const [policy, setPolicy] = useState(query.get('policy') ?? '');
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api
      .get('/policies')
      .then((r) => {
        setPolicies(r.policies);
        if (!policy && r.policies[0]) setPolicy(r.policies[0].id);
      })
      .catch(setError);
  }, []);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(
        await api.get(`/policies/${encodeURIComponent(policy)}/try${queryString({ package: spec })}`),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <${PageHeading}>Try a package</${PageHeading}>
    <p class="lead">See what an install through a policy gets, before anyone installs it. Nothing is written to the audit log.</p>
    <form onSubmit=${submit}>
      <${Field} id="try-package" label="Package" hint="name, name@version, name@tag or name@range, as you would type it after npm install">
        ${(props) => html`<input type="text" ...${props} required autocomplete="off" spellcheck="false" value=${spec} onInput=${(e) => setSpec(e.currentTarget.value)} />`}
      </${Field}>
      <${Field} id="try-policy" label="Policy">
        ${(props) => html`<select ...${props} value=${policy} onChange=${(e) => setPolicy(e.currentTarget.value)}>${(policies ?? []).map((p) => html`<option value=${p.id}>${p.policy.name ? `${p.policy.name} (${p.id})` : p.id}</option>`)}</select>`}
      </${Field}>
      <button type="submit" disabled=${busy || !policies}>Try</button>
    </form>
    <${ErrorMessage} error=${error} />
    ${busy ? html`<p class="loading" role="status">Asking the registry…</p>` : null}
    <div aria-live="polite">${result ? html`<${Result} result=${result} />` : null}</div>
  `;
}
