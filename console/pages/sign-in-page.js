// Sign in with the admin token; the service answers with an HttpOnly session cookie, so the token
// is not kept by the browser. Check tokens are refused (they may only check packages).
import { useState } from 'preact/hooks';
import { session } from '../api.js';
import { ErrorMessage } from '../components.js';
import { html } from '../html.js';

export function SignInPage({ notice, error: initialError, onSignedIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(initialError ?? null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await session.signIn(token));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main id="main" class="sign-in">
      <h1>Sign in to lockwarden</h1>
      ${notice ? html`<p role="status">${notice}</p>` : null}
      <form onSubmit=${submit}>
        <div class="field">
          <label for="admin-token">Admin token</label>
          <p class="hint" id="admin-token-hint">Printed by <code>lockwarden serve</code> on first start, or the value of LOCKWARDEN_ADMIN_TOKEN.</p>
          <input id="admin-token" type="password" autocomplete="current-password" required aria-describedby="admin-token-hint" value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
        </div>
        <${ErrorMessage} error=${error} />
        <button type="submit" disabled=${busy}>Sign in</button>
      </form>
    </main>
  `;
}
