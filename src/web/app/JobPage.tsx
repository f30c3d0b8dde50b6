/** One job, live: its timeline follows the server's events (SSE) and the result appears once verified. */
import { useEffect, useState } from 'preact/hooks';
import type { JobEventView, JobView } from '../client.js';
import { api } from './api.js';
import { errorText, formatLP, formatTime, shortHex } from './format.js';
import { ResultViewer } from './ResultViewer.js';
import { StatusBadge } from './StatusBadge.js';
import { Timeline } from './Timeline.js';

export function JobPage(props: { id: string }) {
  const [job, setJob] = useState<JobView | null>(null);
  const [events, setEvents] = useState<JobEventView[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setEvents([]);
    api.job(props.id).then(setJob, (e: unknown) => setError(errorText(e)));
    const source = new EventSource(`/api/v1/jobs/${encodeURIComponent(props.id)}/events`);
    source.addEventListener('progress', (message) => {
      const event = JSON.parse((message as MessageEvent<string>).data) as JobEventView;
      setEvents((list) => (list.some((e) => e.seq === event.seq) ? list : [...list, event]));
      if (event.status === 'paid' || event.status === 'failed') {
        source.close();
        api.job(props.id).then(setJob, () => {});
      } else {
        setJob((current) => (current ? { ...current, status: event.status } : current));
      }
    });
    return () => source.close();
  }, [props.id]);

  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!job) return <p class="muted">Loading…</p>;
  const showResult = job.resultCID && (job.status === 'verified' || job.status === 'paid');
  return (
    <section class="stack">
      <p class="crumbs">
        <a href="#/jobs">Jobs</a> / {job.id.slice(0, 8)}
      </p>
      <header class="row">
        <h1>{job.module}</h1>
        <StatusBadge status={job.status} />
      </header>
      <div class="columns">
        <div class="card">
          <h2>Progress</h2>
          <Timeline job={job} events={events} />
          {job.status === 'failed' && (
            <p class="error" role="alert">
              {job.error}
            </p>
          )}
        </div>
        <div class="card">
          <h2>Details</h2>
          <dl class="facts">
            <dt>Inputs</dt>
            <dd>
              {Object.entries(job.inputs).map(([k, v]) => (
                <div key={k}>
                  <code>{k}</code> = {v}
                </div>
              ))}
            </dd>
            <dt>Submitted</dt>
            <dd>{formatTime(job.createdAt)}</dd>
            <dt>Job offer</dt>
            <dd title={job.jobOfferId ?? ''}>{shortHex(job.jobOfferId)}</dd>
            <dt>Deal</dt>
            <dd title={job.dealId ?? ''}>{shortHex(job.dealId)}</dd>
            <dt>Provider</dt>
            <dd title={job.resourceProvider ?? ''}>{shortHex(job.resourceProvider)}</dd>
            <dt>Cost</dt>
            <dd>{formatLP(job.cost)}</dd>
          </dl>
        </div>
      </div>
      {showResult && <ResultViewer jobId={job.id} resultCID={job.resultCID} />}
    </section>
  );
}
