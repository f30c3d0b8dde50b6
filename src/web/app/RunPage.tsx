/** The run form, generated from the module's input schema; it submits the job and opens its page. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { errorText } from './format.js';
import { InputField } from './InputField.js';
import { navigate } from './router.js';
import { useLoad } from './useLoad.js';

export function RunPage(props: { moduleRef: string }) {
  const { value: module, error: loadError } = useLoad(() => api.module(props.moduleRef), [props.moduleRef]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [files, setFiles] = useState<Record<string, File>>({});
  const [maxPrice, setMaxPrice] = useState('10');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!module) return;
    const defaults: Record<string, string> = {};
    for (const [name, spec] of Object.entries(module.inputs))
      if (spec.default !== undefined) defaults[name] = String(spec.default);
    setValues(defaults);
  }, [module]);

  if (loadError)
    return (
      <p class="error" role="alert">
        {loadError}
      </p>
    );
  if (!module) return <p class="muted">Loading…</p>;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const inputs = Object.fromEntries(Object.entries(values).filter(([name]) => !(name in files)));
      const body = { module: module.ref, inputs, maxPrice };
      const job =
        Object.keys(files).length > 0 ? await api.submitJobWithFiles(body, files) : await api.submitJob(body);
      navigate(`#/jobs/${job.id}`);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  return (
    <section class="card narrow">
      <p class="crumbs">
        <a href="#/">Modules</a> / {module.ref}
      </p>
      <h1>Run {module.name}</h1>
      <p class="muted">{module.description}</p>
      <form class="stack" onSubmit={submit}>
        {Object.entries(module.inputs).map(([name, spec]) => (
          <InputField
            key={name}
            name={name}
            spec={spec}
            value={values[name] ?? ''}
            onChange={(value) => setValues({ ...values, [name]: value })}
            onFile={(file) => {
              const next = { ...files };
              if (file) next[name] = file;
              else delete next[name];
              setFiles(next);
            }}
          />
        ))}
        <div class="field">
          <label for="max-price">Most you will pay (LP)</label>
          <input
            id="max-price"
            inputMode="decimal"
            value={maxPrice}
            aria-describedby="max-price-help"
            onInput={(e) => setMaxPrice(e.currentTarget.value)}
          />
          <span id="max-price-help" class="help">
            Locked in escrow while the job runs; you pay the provider's price, the rest comes back.
          </span>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Submitting…' : 'Run job'}
        </button>
      </form>
    </section>
  );
}
