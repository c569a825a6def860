/** Sign in with user and password (exchanged for a token at once) or with an API token. */
import { useState, type FormEvent } from 'react';
import { ApiClient } from '../api/api-client.ts';
import { ErrorBox } from '../components/states.tsx';

export function SignInPage({
  onSignedIn,
  notice,
}: {
  onSignedIn: (token: string, tokenId?: string) => void;
  notice?: string;
}) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'password') {
        const res = await new ApiClient(null).login(username.trim(), password);
        onSignedIn(res.token, res.tokenId);
      } else {
        const value = token.trim();
        await new ApiClient(value).me();
        onSignedIn(value);
      }
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form className="card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">PowerX Admin</h1>
        <p className="muted">Plugin sandbox: install, configure and watch plugins.</p>
        {notice ? <div className="state state-unavailable">{notice}</div> : null}
        <div className="tabs" role="tablist" aria-label="Sign-in method">
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'password'}
            onClick={() => setMode('password')}
          >
            User and password
          </button>
          <button type="button" role="tab" aria-selected={mode === 'token'} onClick={() => setMode('token')}>
            API token
          </button>
        </div>
        {mode === 'password' ? (
          <>
            <div className="field">
              <label htmlFor="username">User</label>
              <input
                id="username"
                name="username"
                autoComplete="username"
                required
                value={username}
                onChange={(e) => setUsername(e.target.value)}
                autoFocus
              />
            </div>
            <div className="field">
              <label htmlFor="password">Password</label>
              <input
                id="password"
                name="password"
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </div>
          </>
        ) : (
          <div className="field">
            <label htmlFor="token">API token</label>
            <input
              id="token"
              name="token"
              type="password"
              autoComplete="off"
              required
              value={token}
              onChange={(e) => setToken(e.target.value)}
              autoFocus
            />
            <div className="muted">
              From <code>px-plugin login</code>, <code>POST /api/me/tokens</code> or core's admin-token file.
            </div>
          </div>
        )}
        {mode === 'password' ? (
          <div className="muted small">
            First start: user <code>admin</code>; core prints its password once and keeps it in{' '}
            <code>&lt;data dir&gt;/admin-password</code> (default <code>.px-data/admin-password</code>).
          </div>
        ) : null}
        {error ? <ErrorBox error={error} title="Could not sign in" /> : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
