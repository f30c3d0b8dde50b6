/** The network from the solver's statistics: providers and offers online, prices, deals in the last hour. */
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
              <dd data-testid="providers-online">{network.providersOnline}</dd>
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
          <div class="card">
            <h2>Offers online ({network.offersOnline})</h2>
            {network.offers.length === 0 ? (
              <p class="muted">No resource provider is offering capacity right now.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <caption class="sr-only">Resource offers on the market, oldest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Provider</th>
                      <th scope="col">CPU</th>
                      <th scope="col">RAM</th>
                      <th scope="col">GPU</th>
                      <th scope="col">Price</th>
                      <th scope="col">Per instruction</th>
                      <th scope="col">State</th>
                    </tr>
                  </thead>
                  <tbody>
                    {network.offers.map((offer) => (
                      <tr key={offer.id}>
                        <td title={offer.resourceProvider}>{shortHex(offer.resourceProvider)}</td>
                        <td>{(offer.spec.cpu / 1000).toLocaleString('en')} cores</td>
                        <td>
                          {(offer.spec.ram / 1024).toLocaleString('en', { maximumFractionDigits: 1 })} GB
                        </td>
                        <td>
                          {offer.spec.gpu > 0
                            ? `${offer.spec.gpu} × ${(offer.spec.gpuVram / 1024).toLocaleString('en', { maximumFractionDigits: 1 })} GB`
                            : '—'}
                        </td>
                        <td>{formatLP(offer.fixedPrice)}</td>
                        <td>
                          {offer.pricePerInstruction === '0' ? '—' : `${offer.pricePerInstruction} wei`}
                        </td>
                        <td>{offer.status === 'busy' ? 'running a job' : 'open'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
          <p class="muted small">
            Chain {network.chainId} · solver <span title={network.solver}>{shortHex(network.solver)}</span> at{' '}
            {network.solverUrl}. Figures count every job the solver matched, from this app or elsewhere.
          </p>
        </>
      )}
    </section>
  );
}
