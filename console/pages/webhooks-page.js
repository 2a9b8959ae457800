// Webhooks: subscriptions with their delivery state, a new one (its signing secret shown once),
// a test delivery with what the receiver answered, delete, and each subscription's dead letters
// (messages that failed for 24 hours) with redelivery.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ConfirmButton, CopyButton, ErrorMessage, Field, formatTime, PageHeading } from '../components.js';
import { html } from '../html.js';

const EVENTS = [
  ['block', 'Blocks: refusals at install time and CI blocks'],
  ['alert', 'Alerts: violating versions served in alert mode'],
  ['unavailable', 'Unavailable facts that blocked or alerted'],
  ['policy.changed', 'Policy changes made through the API or this console'],
];
const FORMATS = [
  ['standard', 'Standard Webhooks (JSON, for your own receiver)'],
  ['slack', 'Slack incoming webhook'],
  ['teams', 'Microsoft Teams workflow'],
];

/** How a subscription's deliveries are going, in words. */
function deliveryText(d) {
  const parts = [];
  if (d.lastAttemptAt === null) parts.push('nothing sent yet');
  else if (d.lastError) parts.push(`last attempt failed (${d.lastError}) ${formatTime(d.lastAttemptAt)}`);
  else parts.push(`last delivered ${formatTime(d.lastDeliveredAt ?? d.lastAttemptAt)}`);
  parts.push(`${d.pending} waiting`, `${d.delivered} delivered in 24 h`);
  if (d.dead > 0) parts.push(`${d.dead} dead letter${d.dead === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

function CreateForm({ policies, onCreated }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState(['block']);
  const [scope, setScope] = useState('all');
  const [chosen, setChosen] = useState([]);
  const [format, setFormat] = useState('standard');
  const [description, setDescription] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const toggle = (list, set, value) =>
    set(list.includes(value) ? list.filter((v) => v !== value) : [...list, value]);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api.post('/webhooks', {
        url: url.trim(),
        events,
        policies: scope === 'all' ? ['*'] : chosen,
        format,
        ...(description.trim() ? { description: description.trim() } : {}),
      });
      setUrl('');
      setDescription('');
      onCreated(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form onSubmit=${submit} aria-labelledby="create-title">
      <h2 id="create-title">Add a webhook</h2>
      <${Field} id="webhook-url" label="Receiver URL" hint="https://… of your receiver, Slack incoming webhook or Teams workflow. Internal addresses are refused unless the service runs with --allow-private-webhooks.">
        ${(props) => html`<input type="text" inputmode="url" autocomplete="url" ...${props} required value=${url} onInput=${(e) => setUrl(e.currentTarget.value)} />`}
      </${Field}>
      <fieldset>
        <legend>Events</legend>
        ${EVENTS.map(
          ([id, text]) =>
            html`<div class="check"><input type="checkbox" id=${`event-${id}`} checked=${events.includes(id)} onChange=${() => toggle(events, setEvents, id)} /><label for=${`event-${id}`}>${text}</label></div>`,
        )}
      </fieldset>
      <fieldset>
        <legend>Policies</legend>
        <div class="check"><input type="radio" id="hook-all" name="hook-scope" checked=${scope === 'all'} onChange=${() => setScope('all')} /><label for="hook-all">Every policy</label></div>
        <div class="check"><input type="radio" id="hook-some" name="hook-scope" checked=${scope === 'some'} onChange=${() => setScope('some')} /><label for="hook-some">Only these:</label></div>
        ${policies.map(
          (p) =>
            html`<div class="check"><input type="checkbox" id=${`hook-policy-${p.id}`} disabled=${scope === 'all'} checked=${chosen.includes(p.id)} onChange=${() => toggle(chosen, setChosen, p.id)} /><label for=${`hook-policy-${p.id}`}>${p.id}</label></div>`,
        )}
      </fieldset>
      <fieldset>
        <legend>Format</legend>
        ${FORMATS.map(
          ([id, text]) =>
            html`<div class="check"><input type="radio" id=${`format-${id}`} name="hook-format" checked=${format === id} onChange=${() => setFormat(id)} /><label for=${`format-${id}`}>${text}</label></div>`,
        )}
      </fieldset>
      <${Field} id="webhook-description" label="Description (optional)" hint="Who reads it, e.g. #security-alerts.">
        ${(props) => html`<input type="text" ...${props} maxlength="200" value=${description} onInput=${(e) => setDescription(e.currentTarget.value)} />`}
      </${Field}>
      <${ErrorMessage} error=${error} />
      <button type="submit" disabled=${busy || events.length === 0}>Add webhook</button>
    </form>
  `;
}

function DeadLetters({ hook, onChanged }) {
  const [letters, setLetters] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState('');
  const base = `/webhooks/${encodeURIComponent(hook.id)}/dead-letters`;
  const load = () =>
    api
      .get(base)
      .then((r) => setLetters(r.deadLetters))
      .catch(setError);
  useEffect(() => {
    load();
  }, [hook.id, hook.delivery.dead]);
  const redeliver = async (id) => {
    setError(null);
    try {
      const r = await api.post(id ? `${base}/${encodeURIComponent(id)}/redeliver` : `${base}/redeliver`);
      setNotice(`${r.requeued} message${r.requeued === 1 ? '' : 's'} queued again.`);
      await load();
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <div class="dead-letters">
      <h3 id=${`dead-${hook.id}`}>Dead letters</h3>
      <p class="muted">Messages that failed for 24 hours. Fix the receiver, then send them again.</p>
      <${ErrorMessage} error=${error} />
      <p role="status">${notice}</p>
      ${letters?.length === 0 ? html`<p>No dead letters.</p>` : null}
      ${
        letters?.length
          ? html`<div class="table-wrap" role="region" aria-labelledby=${`dead-${hook.id}`} tabindex="0"><table>
              <caption class="visually-hidden">Dead letters of ${hook.url}</caption>
              <thead><tr><th scope="col">Event</th><th scope="col">What</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
              <tbody>${letters.map(
                (m) => html`<tr>
                  <td>${m.type}</td>
                  <td>${m.data.name ? `${m.data.name}${m.data.version ? `@${m.data.version}` : ''} (${m.data.rule}, ${m.data.policy})` : (m.data.policy ?? '')}${m.count > 1 ? ` ×${m.count}` : ''}</td>
                  <td>${m.attempts}</td>
                  <td>${m.lastError ?? ''} ${m.lastAttemptAt ? html`<span class="muted">${formatTime(m.lastAttemptAt)}</span>` : null}</td>
                  <td><button type="button" class="secondary small" onClick=${() => redeliver(m.id)}>Redeliver<span class="visually-hidden"> ${m.id}</span></button></td>
                </tr>`,
              )}</tbody></table></div>
              <p><button type="button" class="secondary" onClick=${() => redeliver(null)}>Redeliver all</button></p>`
          : null
      }
    </div>
  `;
}

function WebhookCard({ hook, onDeleted, onChanged }) {
  const [error, setError] = useState(null);
  const [test, setTest] = useState(null);
  const [busy, setBusy] = useState(false);
  const [showDead, setShowDead] = useState(false);
  const sendTest = async () => {
    setBusy(true);
    setError(null);
    try {
      setTest(await api.post(`/webhooks/${encodeURIComponent(hook.id)}/test`));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setError(null);
    try {
      await api.delete(`/webhooks/${encodeURIComponent(hook.id)}`);
      onDeleted(hook.id);
    } catch (err) {
      setError(err);
    }
  };
  const label = hook.description || hook.url;
  return html`
    <article class="policy" aria-labelledby=${`hook-${hook.id}`}>
      <header class="policy-head">
        <h2 id=${`hook-${hook.id}`}>${label}</h2>
        <span class="badge">${hook.format}</span>
      </header>
      ${hook.description ? html`<p><code class="line">${hook.url}</code></p>` : null}
      <p>${hook.events.join(', ')} · ${hook.policies.includes('*') ? 'every policy' : hook.policies.join(', ')}</p>
      <p class="summary"><span class="visually-hidden">Delivery: </span>${deliveryText(hook.delivery)}</p>
      ${
        test
          ? html`<p role="status" class=${test.delivered ? 'success' : 'error'}>${
              test.delivered
                ? `Test delivered: the receiver answered ${test.status} in ${test.ms} ms.`
                : `Test not delivered: ${test.error}.`
            }</p>`
          : null
      }
      <div class="actions">
        <button type="button" class="secondary" disabled=${busy} onClick=${sendTest}>Send test<span class="visually-hidden"> to ${label}</span></button>
        <button type="button" class="secondary" aria-expanded=${showDead ? 'true' : 'false'} onClick=${() => setShowDead(!showDead)}>Dead letters (${hook.delivery.dead})<span class="visually-hidden"> of ${label}</span></button>
        <${ConfirmButton} label=${`Delete ${label}`} confirmLabel="Delete" question=${`Delete the webhook to ${hook.url}? Messages still waiting are dropped.`} onConfirm=${remove} />
      </div>
      ${showDead ? html`<${DeadLetters} hook=${hook} onChanged=${onChanged} />` : null}
      <${ErrorMessage} error=${error} />
    </article>
  `;
}

export default function WebhooksPage() {
  const [hooks, setHooks] = useState(null);
  const [policies, setPolicies] = useState([]);
  const [created, setCreated] = useState(null);
  const [error, setError] = useState(null);
  const load = () =>
    api
      .get('/webhooks')
      .then((r) => setHooks(r.webhooks))
      .catch(setError);
  useEffect(() => {
    load();
    api
      .get('/policies')
      .then((r) => setPolicies(r.policies))
      .catch(setError);
    // Delivery state changes in the background.
    const timer = setInterval(load, 5_000);
    return () => clearInterval(timer);
  }, []);
  return html`
    <${PageHeading}>Webhooks</${PageHeading}>
    <p class="lead">Blocks, alerts and policy changes go to your receivers as signed <a href="https://www.standardwebhooks.com/">Standard Webhooks</a> messages, or to Slack and Teams. Undelivered messages are retried for 24 hours; repeats of one package version arrive as one message per 10 minutes with a count.</p>
    ${
      created
        ? html`<div class="token-once" role="status">
            <p><strong>Signing secret for ${created.url}: copy it now, it is shown only once.</strong> Your receiver verifies each message's <code>webhook-signature</code> with it.</p>
            <p><code id="webhook-secret">${created.secret}</code> <${CopyButton} text=${created.secret} label="Copy secret" target="webhook-secret" /></p>
            <p><button type="button" class="secondary small" onClick=${() => setCreated(null)}>I stored it</button></p>
          </div>`
        : null
    }
    <${ErrorMessage} error=${error} />
    ${hooks === null && !error ? html`<p class="loading">Loading webhooks…</p>` : null}
    ${hooks?.length === 0 ? html`<p>No webhooks yet.</p>` : null}
    <div class="policies">
      ${hooks?.map(
        (hook) =>
          html`<${WebhookCard} key=${hook.id} hook=${hook} onChanged=${load} onDeleted=${(id) => {
            if (created?.id === id) setCreated(null);
            setHooks(hooks.filter((x) => x.id !== id));
          }} />`,
      )}
    </div>
    <${CreateForm} policies=${policies} onCreated=${(w) => {
      setCreated(w);
      load();
    }} />
  `;
}
