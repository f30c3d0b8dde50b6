/** The job's way through the network: offered → matched → running → verified → paid, with the time of each. */
import type { JobEventView, JobView } from '../client.js';

const STEPS = [
  { status: 'offered', label: 'Offered', detail: 'signed job offer posted to the solver' },
  { status: 'matched', label: 'Matched', detail: 'a resource provider agreed; payment locked in escrow' },
  { status: 'running', label: 'Running', detail: 'the provider runs the module' },
  { status: 'verified', label: 'Verified', detail: 'result downloaded, every block checked against its CID' },
  { status: 'paid', label: 'Paid', detail: 'result accepted on-chain; the provider is paid' },
] as const;

export function Timeline(props: { job: JobView; events: JobEventView[] }) {
  const reached = new Map<string, number>();
  for (const event of props.events) if (!reached.has(event.status)) reached.set(event.status, event.at);
  const failed = props.job.status === 'failed';
  const current = STEPS.findIndex((step) => !reached.has(step.status));
  return (
    <ol class="timeline" aria-label="Job progress">
      {STEPS.map((step, i) => {
        const at = reached.get(step.status);
        const state = at !== undefined ? 'done' : i === current ? (failed ? 'failed' : 'active') : 'todo';
        return (
          <li
            key={step.status}
            class={`step ${state}`}
            aria-current={state === 'active' ? 'step' : undefined}
          >
            <span class="dot" aria-hidden="true" />
            <div>
              <strong>{step.label}</strong>
              <span class="muted small">
                {' '}
                {at !== undefined
                  ? new Date(at).toLocaleTimeString('en-GB')
                  : state === 'failed'
                    ? 'stopped here'
                    : ''}
              </span>
              <div class="help">{step.detail}</div>
            </div>
          </li>
        );
      })}
    </ol>
  );
}
