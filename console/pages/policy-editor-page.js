// New policy (from a template) and edit, in five steps. "Next" asks the engine to validate the
// draft (POST /policies/validate) and stays on the step while it has problems there, shown at the
// field they concern; "Save policy" lands on the list with the new policy's line.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { ErrorMessage, PageHeading } from '../components.js';
import { html } from '../html.js';
import { bodyOf, draftFrom, idFromName, placeProblem, STEPS, TEMPLATES } from '../policy-draft.js';
import { ActionStep, GeneralStep, ListsStep, ReviewStep, ThresholdsStep } from '../policy-steps.js';
import { Link, navigate } from '../router.js';

function TemplateChoice({ onChoose }) {
  const [choice, setChoice] = useState('production');
  return html`
    <form onSubmit=${(e) => {
      e.preventDefault();
      onChoose(TEMPLATES.find((t) => t.key === choice));
    }}>
      <fieldset>
        <legend>Start from</legend>
        <div class="choices">
          ${TEMPLATES.map(
            (t) => html`
              <div class="choice">
                <input type="radio" id=${`template-${t.key}`} name="template" checked=${choice === t.key} aria-describedby=${`template-${t.key}-text`} onChange=${() => setChoice(t.key)} />
                <div><label for=${`template-${t.key}`}>${t.title}</label><p id=${`template-${t.key}-text`}>${t.text}</p></div>
              </div>`,
          )}
        </div>
      </fieldset>
      <div class="wizard-nav"><button type="submit">Continue</button><${Link} class="button secondary" to="policies">Cancel</${Link}></div>
    </form>
  `;
}

export default function PolicyEditorPage({ params, query }) {
  const editing = params.id !== undefined;
  const [draft, setDraft] = useState(null);
  const [readOnly, setReadOnly] = useState(null);
  const [revision, setRevision] = useState(null);
  const [step, setStep] = useState(0);
  const [errors, setErrors] = useState({});
  const [general, setGeneral] = useState([]);
  const [failure, setFailure] = useState(null);
  const [busy, setBusy] = useState(false);
  const idEdited = useRef(editing);
  const stepHeading = useRef(null);

  useEffect(() => {
    if (!editing) return;
    api
      .get(`/policies/${encodeURIComponent(params.id)}`)
      .then((item) => {
        if (item.origin.kind === 'file') setReadOnly(item.origin.file);
        setRevision(item.revision);
        const d = draftFrom(item.policy);
        // From the audit log's "allow this version": open the lists with the entry filled in.
        const allow = query.get('allow');
        if (allow) {
          d.allow = [...d.allow, { package: allow, reason: query.get('reason') ?? '', expires: '' }];
          setStep(3);
        }
        setDraft(d);
      })
      .catch(setFailure);
  }, [params.id]);

  useEffect(() => {
    stepHeading.current?.focus();
  }, [step, draft === null]);

  const set = (key, value) =>
    setDraft((d) => {
      const next = { ...d, [key]: value };
      if (key === 'name' && !idEdited.current) next.id = idFromName(value);
      return next;
    });

  /** Shows the problems; returns the first step that has one. */
  const showProblems = (problems) => {
    const fieldErrors = {};
    const other = [];
    let first = STEPS.length;
    for (const p of problems) {
      const place = placeProblem(p);
      first = Math.min(first, place.step);
      if (place.field) fieldErrors[place.field] ??= p.message;
      else other.push(`${p.path || 'policy'}: ${p.message}`);
    }
    setErrors(fieldErrors);
    setGeneral(other);
    return { first, fieldErrors };
  };

  const focusFirstError = () =>
    setTimeout(() => document.querySelector('[aria-invalid="true"], .field-error')?.focus?.(), 30);

  const next = async (event) => {
    event.preventDefault();
    setFailure(null);
    setBusy(true);
    try {
      const result = await api.post('/policies/validate', bodyOf(draft));
      const { first } = showProblems(result.problems);
      if (first <= step) {
        setStep(first);
        focusFirstError();
      } else setStep(step + 1);
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  const save = async (event) => {
    event.preventDefault();
    setFailure(null);
    setBusy(true);
    const body = bodyOf(draft);
    try {
      // Conditional on the revision this editor started from: a change made meanwhile is not undone.
      if (editing)
        await api.put(`/policies/${encodeURIComponent(params.id)}`, body, { 'if-match': `"${revision}"` });
      else await api.post('/policies', body);
      navigate(`policies?saved=${encodeURIComponent(body.id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.problems.length > 0) {
        const { first } = showProblems(err.problems);
        setStep(Math.min(first, STEPS.length - 1));
        focusFirstError();
      } else setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  const title = editing ? `Edit policy ${params.id}` : 'New policy';
  if (failure && !draft)
    return html`<${PageHeading}>${title}</${PageHeading}><${ErrorMessage} error=${failure} />`;
  if (readOnly)
    return html`<${PageHeading}>${title}</${PageHeading}><p class="note">Policy ${params.id} is loaded from <code>${readOnly}</code> and read-only here: change that file and restart the service.</p><${Link} to="policies">Back to the policies</${Link}>`;
  if (!draft && editing)
    return html`<${PageHeading}>${title}</${PageHeading}><p class="loading">Loading…</p>`;
  if (!draft)
    return html`<${PageHeading}>${title}</${PageHeading}><${TemplateChoice} onChoose=${(t) => setDraft(draftFrom({ ...t.values, id: idFromName(t.values.name) }))} />`;

  const props = { draft, set, errors, editing, onIdEdited: () => (idEdited.current = true) };
  const body = bodyOf(draft);
  const Step = [GeneralStep, ActionStep, ThresholdsStep, ListsStep, ReviewStep][step];
  const last = step === STEPS.length - 1;
  return html`
    <${PageHeading}>${title}</${PageHeading}>
    <ol class="steps" aria-label="Steps">
      ${STEPS.map((s, i) => html`<li aria-current=${i === step ? 'step' : undefined}>${i + 1}. ${s}</li>`)}
    </ol>
    <form onSubmit=${last ? save : next} noValidate>
      <h2 tabindex="-1" ref=${stepHeading}>Step ${step + 1} of ${STEPS.length}: ${STEPS[step]}</h2>
      ${general.length > 0 ? html`<${ErrorMessage} error=${general.join('\n')} />` : null}
      <${Step} ...${props} body=${body} />
      <${ErrorMessage} error=${failure} />
      <div class="wizard-nav">
        ${step > 0 ? html`<button type="button" class="secondary" onClick=${() => setStep(step - 1)}>Back</button>` : null}
        <button type="submit" disabled=${busy}>${last ? 'Save policy' : 'Next'}</button>
        <${Link} class="button secondary" to="policies">Cancel</${Link}>
      </div>
    </form>
  `;
}
