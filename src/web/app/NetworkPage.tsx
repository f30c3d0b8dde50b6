/** The network as this app sees it: providers, jobs per minute, prices and the last hour. */
import { useEffect } from 'preact/hooks';
import { api } from './api.js';
import { BarChart } from './BarChart.js';
import { formatLP, shortHex } from './format.js';
import { useLoad } from './useLoad.js';

export function NetworkPage() {
  const { value: network, error, reload } = useLoad(() => api.network());
  useEffect(() => {
    const timer = setInterval(reload, 10_000);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <section class="stack">
      <h1>Network</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {network && (
        <>
          <dl class="stats big">
            <div>
              <dt>Providers online</dt>
              <dd>{network.providersOnline}</dd>
            </div>
            <div>
              <dt>Jobs per minute</dt>
              <dd>{network.jobsPerMinute.toFixed(1)}</dd>
            </div>
            <div>
              <dt>Median price</dt>
              <dd>{formatLP(network.prices.median)}</dd>
            </div>
            <div>
              <dt>Price range</dt>
              <dd>
                {network.prices.min
                  ? `${formatLP(network.prices.min)} – ${formatLP(network.prices.max)}`
                  : '—'}
              </dd>
            </div>
          </dl>
          <div class="card">
            <h2>Jobs in the last hour</h2>
            <BarChart buckets={network.lastHour} />
          </div>
          <p class="muted small">
            Chain {network.chainId} · solver <span title={network.solver}>{shortHex(network.solver)}</span> at{' '}
            {network.solverUrl}. Figures count the jobs run through this app.
          </p>
        </>
      )}
    </section>
  );
}
