// The five steps of the policy editor as form sections. Each control is labelled, shows the
// engine's problem for it, and reports changes through `set(key, value)`.
import { Field } from './components.js';
import { html } from './html.js';
import { ACTION_TEXT, thresholdSummary } from './policy-text.js';

const text =
  (draft, set, key, extra = {}) =>
  (props) =>
    html`<input type="text" ...${props} ...${extra} value=${draft[key]} onInput=${(e) => set(key, e.currentTarget.value)} />`;

export function GeneralStep({ draft, set, errors, editing, onIdEdited }) {
  return html`
    <${Field} id="name" label="Name" error=${errors.name}>${text(draft, set, 'name')}</${Field}>
    <${Field} id="description" label="Description" error=${errors.description}>
      ${(props) => html`<textarea rows="3" ...${props} value=${draft.description} onInput=${(e) => set('description', e.currentTarget.value)}></textarea>`}
    </${Field}>
    <${Field} id="id" label="Policy id" hint=${editing ? 'The id is part of every install URL and cannot change.' : 'Part of the install URL (/<id>/): lowercase letters, digits, "-" and "_".'} error=${errors.id}>
      ${(props) =>
        html`<input type="text" ...${props} value=${draft.id} readOnly=${editing} autocomplete="off" spellcheck="false" onInput=${(
          e,
        ) => {
          onIdEdited();
          set('id', e.currentTarget.value);
        }} />`}
    </${Field}>
  `;
}

export function ActionStep({ draft, set, errors }) {
  return html`
    <fieldset aria-describedby=${errors.action ? 'action-error' : undefined}>
      <legend>What happens to a version that breaks a rule</legend>
      <div class="choices">
        ${['block', 'alert'].map(
          (a) => html`
            <div class="choice">
              <input type="radio" id=${`action-${a}`} name="action" value=${a} checked=${draft.action === a} aria-describedby=${`action-${a}-text`} onChange=${() => set('action', a)} />
              <div><label for=${`action-${a}`}>${a === 'block' ? 'Block' : 'Alert'}</label><p id=${`action-${a}-text`}>${ACTION_TEXT[a]}</p></div>
            </div>`,
        )}
      </div>
      ${errors.action ? html`<p class="field-error" id="action-error">${errors.action}</p>` : null}
    </fieldset>
  `;
}

function Check({ id, label, hint, draft, set, error }) {
  return html`
    <div class="check">
      <input type="checkbox" id=${id} checked=${draft[id]} aria-describedby=${`${id}-hint`} onChange=${(e) => set(id, e.currentTarget.checked)} />
      <div><label for=${id}>${label}</label><p class="hint" id=${`${id}-hint`}>${hint}</p>${error ? html`<p class="field-error">${error}</p>` : null}</div>
    </div>
  `;
}

export function ThresholdsStep({ draft, set, errors }) {
  const num = (key) => (props) =>
    html`<input type="number" min="0" step="any" inputmode="decimal" ...${props} value=${draft[key]} onInput=${(e) => set(key, e.currentTarget.value)} />`;
  return html`
    <${Field} id="coolingOffDays" label="Cooling-off period (days)" hint="Versions younger than this are held back; 0 turns it off." error=${errors.coolingOffDays}>${num('coolingOffDays')}</${Field}>
    <${Field} id="minWeeklyDownloads" label="Minimum weekly downloads" hint="Packages downloaded less over the last week are refused; 0 turns it off." error=${errors.minWeeklyDownloads}>${num('minWeeklyDownloads')}</${Field}>
    <${Check} id="typosquatting" label="Typosquatting" hint="Refuse names that look like a popular package (expres for express)." draft=${draft} set=${set} error=${errors.typosquatting} />
    <${Check} id="suspiciousVersion" label="Suspicious version" hint="Flag versions with no matching tag or release in their GitHub repository." draft=${draft} set=${set} error=${errors.suspiciousVersion} />
    <${Field} id="onUnavailable" label="When facts are unavailable" hint="If the registry, download counts or tags cannot be fetched, the rule that needs them yields this. It is always reported." error=${errors.onUnavailable}>
      ${(
        props,
      ) => html`<select ...${props} value=${draft.onUnavailable} onChange=${(e) => set('onUnavailable', e.currentTarget.value)}>
        <option value="allow">Allow (report only)</option>
        <option value="alert">Alert</option>
        <option value="block">Block</option>
      </select>`}
    </${Field}>
  `;
}

function EntryList({ kind, title, hint, draft, set, errors }) {
  const entries = draft[kind];
  const update = (i, key, value) =>
    set(
      kind,
      entries.map((e, j) => (j === i ? { ...e, [key]: value } : e)),
    );
  const noun = kind === 'allow' ? 'allow' : 'block';
  return html`
    <fieldset>
      <legend>${title}</legend>
      <p class="hint">${hint}</p>
      ${entries.length === 0 ? html`<p class="muted">No entries.</p>` : null}
      ${entries.map((e, i) => {
        const id = (f) => `${kind}-${i}-${f}`;
        return html`
          <div class="entry" role="group" aria-label=${`${title} entry ${i + 1}`}>
            <${Field} id=${id('package')} label="Package" error=${errors[id('package')]}>
              ${(props) => html`<input type="text" ...${props} placeholder="name, name@range, @scope/*" value=${e.package} onInput=${(ev) => update(i, 'package', ev.currentTarget.value)} />`}
            </${Field}>
            <${Field} id=${id('reason')} label="Reason" error=${errors[id('reason')]}>
              ${(props) => html`<input type="text" ...${props} value=${e.reason} onInput=${(ev) => update(i, 'reason', ev.currentTarget.value)} />`}
            </${Field}>
            <${Field} id=${id('expires')} label="Expires" error=${errors[id('expires')]}>
              ${(props) => html`<input type="date" ...${props} value=${e.expires} onInput=${(ev) => update(i, 'expires', ev.currentTarget.value)} />`}
            </${Field}>
            <button type="button" class="secondary" aria-label=${`Remove ${noun} entry ${i + 1}`} onClick=${() =>
              set(
                kind,
                entries.filter((_, j) => j !== i),
              )}>Remove</button>
          </div>`;
      })}
      <button type="button" class="secondary" onClick=${() => set(kind, [...entries, { package: '', reason: '', expires: '' }])}>Add ${noun} entry</button>
    </fieldset>
  `;
}

export function ListsStep(props) {
  return html`
    <${EntryList} kind="allow" title="Allow list" hint="These bypass every guardrail (not the block list). Give a reason; an expiry date makes the exception end by itself." ...${props} />
    <${EntryList} kind="block" title="Block list" hint="Always refused, in block and alert mode." ...${props} />
  `;
}

export function ReviewStep({ draft, body }) {
  return html`
    <dl class="review">
      <dt>Name</dt><dd>${draft.name || '(none)'}</dd>
      <dt>Policy id</dt><dd><code>${draft.id}</code></dd>
      <dt>Description</dt><dd>${draft.description || '(none)'}</dd>
      <dt>Action</dt><dd>${ACTION_TEXT[draft.action]}</dd>
      <dt>Thresholds</dt><dd>${thresholdSummary(body)}</dd>
      <dt>Allow list</dt><dd>${draft.allow.length === 0 ? 'empty' : draft.allow.map((e) => e.package).join(', ')}</dd>
      <dt>Block list</dt><dd>${draft.block.length === 0 ? 'empty' : draft.block.map((e) => e.package).join(', ')}</dd>
    </dl>
  `;
}
