/** API keys: make one (shown once), see when each was last used, revoke it. */
import { useState } from 'preact/hooks';
import type { CreatedApiKeyView } from '../client.js';
import { api } from './api.js';
import { errorText, formatTime } from './format.js';
import { useLoad } from './useLoad.js';

export function ApiKeysPanel() {
  const { value: keys, error: loadError, reload } = useLoad(() => api.keys());
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedApiKeyView | null>(null);
  const [error, setError] = useState<string | null>(null);

  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      setCreated(await api.createKey(name));
      setName('');
      reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await api.revokeKey(id);
      if (created?.id === id) setCreated(null);
      reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section class="card" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p class="muted small">
        Programs send <code>Authorization: Bearer lp_…</code>. See the{' '}
        <a href="/api/v1/openapi.json">OpenAPI document</a>.
      </p>
      <form class="row" onSubmit={create}>
        <label class="inline">
          Key name
          <input
            required
            maxLength={60}
            value={name}
            placeholder="my script"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div class="secret" role="status">
          <p>
            <strong>Copy your new key now</strong>: it is shown this once.
          </p>
          <code data-testid="new-key">{created.secret}</code>
          <button
            type="button"
            class="secondary"
            onClick={() => void navigator.clipboard?.writeText(created.secret)}
          >
            Copy
          </button>
        </div>
      )}
      {(error || loadError) && (
        <p class="error" role="alert">
          {error ?? loadError}
        </p>
      )}
      {keys && keys.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Your API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="sr-only">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>{formatTime(key.lastUsedAt)}</td>
                  <td>
                    {key.revokedAt ? (
                      <span class="badge muted">revoked</span>
                    ) : (
                      <button
                        type="button"
                        class="danger"
                        onClick={() => void revoke(key.id)}
                        aria-label={`Revoke key ${key.name}`}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
