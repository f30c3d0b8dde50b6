/** Every job of the account, newest first, whether run from this site or through the API. */
import { api } from './api.js';
import { formatLP, formatTime } from './format.js';
import { StatusBadge } from './StatusBadge.js';
import { useLoad } from './useLoad.js';

export function HistoryPage() {
  const { value: jobs, error, reload } = useLoad(() => api.jobs());
  return (
    <section>
      <header class="row">
        <h1>Jobs</h1>
        <button type="button" class="secondary" onClick={reload}>
          Refresh
        </button>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {jobs && jobs.length === 0 && (
        <p class="muted">
          No jobs yet. <a href="#/">Pick a module</a> to run one.
        </p>
      )}
      {jobs && jobs.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Your jobs</caption>
            <thead>
              <tr>
                <th scope="col">Module</th>
                <th scope="col">Inputs</th>
                <th scope="col">Status</th>
                <th scope="col">Cost</th>
                <th scope="col">Submitted</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id}>
                  <td>
                    <a href={`#/jobs/${job.id}`}>{job.module}</a>
                  </td>
                  <td class="clip">
                    {Object.entries(job.inputs)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(' ')}
                  </td>
                  <td>
                    <StatusBadge status={job.status} />
                  </td>
                  <td>{formatLP(job.cost)}</td>
                  <td>{formatTime(job.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
