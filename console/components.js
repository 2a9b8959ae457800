// Pieces every page uses: headings that take focus, labelled fields with their error, copy
// buttons, error messages, a two-step confirm for destructive actions.
import { useState } from 'preact/hooks';
import { html } from './html.js';

export function PageHeading({ children }) {
  return html`<h1 tabindex="-1">${children}</h1>`;
}

export function ErrorMessage({ error }) {
  if (!error) return null;
  const text = typeof error === 'string' ? error : error.message;
  return html`<div class="error" role="alert"><strong>Error:</strong> <span class="pre-line">${text}</span></div>`;
}

/** The control-rendering function among a Field's children. */
const renderControl = (children) =>
  Array.isArray(children) ? children.find((c) => typeof c === 'function') : children;

/** A labelled control with an optional hint and the problem the engine reported for it. */
export function Field({ id, label, hint, error, children }) {
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
  return html`
    <div class=${`field${error ? ' invalid' : ''}`}>
      <label for=${id}>${label}</label>
      ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
      ${renderControl(children)({ id, 'aria-describedby': describedBy || undefined, 'aria-invalid': error ? 'true' : undefined })}
      ${error ? html`<p class="field-error" id=${`${id}-error`}>${error}</p>` : null}
    </div>
  `;
}

async function copyText(text) {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Not allowed here (plain http on another host): fall through to the selection.
    }
  }
  return false;
}

/** Copies `text`; says so in a live region, or asks to copy the selected text by hand. */
export function CopyButton({ text, label = 'Copy', target }) {
  const [status, setStatus] = useState('');
  const onClick = async () => {
    if (await copyText(text)) setStatus('Copied');
    else {
      const el = target ? document.getElementById(target) : null;
      if (el) {
        const range = document.createRange();
        range.selectNodeContents(el);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
      }
      setStatus('Selected: press Ctrl+C to copy');
    }
    setTimeout(() => setStatus(''), 4000);
  };
  return html`<span class="copy"><button type="button" class="secondary small" onClick=${onClick}>${label}</button><span class="copy-status" role="status">${status}</span></span>`;
}

/** A titled block of text to paste somewhere, with its copy button. */
export function Snippet({ id, title, text }) {
  return html`
    <div class="snippet">
      <div class="snippet-head"><span id=${`${id}-title`}>${title}</span><${CopyButton} text=${text} label=${`Copy ${title}`} target=${id} /></div>
      <pre id=${id} tabindex="0" aria-labelledby=${`${id}-title`}>${text}</pre>
    </div>
  `;
}

/** A button that asks once more before doing something that cannot be undone. */
export function ConfirmButton({ label, confirmLabel, question, onConfirm }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking)
    return html`<button type="button" class="danger-outline" onClick=${() => setAsking(true)}>${label}</button>`;
  const go = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
      setAsking(false);
    }
  };
  return html`
    <span class="confirm" role="group" aria-label=${question}>
      <span>${question}</span>
      <button type="button" class="danger" disabled=${busy} onClick=${go}>${confirmLabel}</button>
      <button type="button" class="secondary" onClick=${() => setAsking(false)}>Cancel</button>
    </span>
  `;
}

export function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
