/** The module catalogue: what each module does, its inputs, the machine it needs and its typical price. */
import { api } from './api.js';
import { ModuleCard } from './ModuleCard.js';
import { useLoad } from './useLoad.js';

export function CataloguePage() {
  const { value: modules, error } = useLoad(() => api.modules());
  return (
    <section>
      <h1>Modules</h1>
      <p class="muted">
        Each module is a content-addressed program: pick one, fill in its inputs, and a resource provider on
        the network runs it. You pay only when the result is verified.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!modules && !error && <p class="muted">Loading…</p>}
      <div class="grid">
        {modules?.map((module) => (
          <ModuleCard key={module.ref} module={module} />
        ))}
      </div>
    </section>
  );
}
