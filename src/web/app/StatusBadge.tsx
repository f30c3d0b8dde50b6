import type { JobView } from '../client.js';

export function StatusBadge(props: { status: JobView['status'] }) {
  return <span class={`badge status-${props.status}`}>{props.status}</span>;
}
