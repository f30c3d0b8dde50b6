import type { ModuleView } from '../client.js';
import { formatLP } from './format.js';

export function ModuleCard(props: { module: ModuleView }) {
  const { module } = props;
  const inputs = Object.entries(module.inputs);
  return (
    <article class="card module">
      <header class="row">
        <h2>{module.name}</h2>
        <span class="badge">{module.version}</span>
        <span class="badge muted">{module.executor}</span>
      </header>
      <p>{module.description}</p>
      <dl class="facts">
        <dt>Inputs</dt>
        <dd>
          {inputs.length === 0 ? 'none' : inputs.map(([name, spec]) => `${name} (${spec.type})`).join(', ')}
        </dd>
        <dt>Machine</dt>
        <dd>
          {module.spec.cpu / 1000} CPU · {module.spec.ram} MB RAM
          {module.spec.gpu > 0 ? ` · ${module.spec.gpu} GPU` : ''}
        </dd>
        <dt>Typical price</dt>
        <dd>{module.typicalPrice ? formatLP(module.typicalPrice) : 'no runs yet'}</dd>
      </dl>
      <a class="button" href={`#/run/${encodeURIComponent(module.ref)}`} aria-label={`Run ${module.ref}`}>
        Run {module.ref}
      </a>
    </article>
  );
}
