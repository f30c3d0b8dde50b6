/** A small SVG bar chart of jobs per minute (settled ones darker), with a text summary for screen readers. */
export function BarChart(props: { buckets: { minute: number; jobs: number; paid: number }[] }) {
  const { buckets } = props;
  const max = Math.max(1, ...buckets.map((b) => b.jobs));
  const total = buckets.reduce((sum, b) => sum + b.jobs, 0);
  const width = 600;
  const height = 140;
  const bar = width / buckets.length;
  const scale = (n: number) => (n / max) * (height - 20);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${total} jobs in the last hour, at most ${max} in a minute`}
      >
        <line x1="0" y1={height - 0.5} x2={width} y2={height - 0.5} class="axis" />
        {buckets.map((b, i) => (
          <g key={b.minute}>
            <title>{`${new Date(b.minute).toLocaleTimeString('en-GB', { timeStyle: 'short' })}: ${b.jobs} jobs, ${b.paid} settled`}</title>
            <rect
              x={i * bar + 1}
              y={height - scale(b.jobs)}
              width={bar - 2}
              height={scale(b.jobs)}
              class="bar"
            />
            <rect
              x={i * bar + 1}
              y={height - scale(b.paid)}
              width={bar - 2}
              height={scale(b.paid)}
              class="bar paid"
            />
          </g>
        ))}
        <text x="4" y="12" class="label">
          {max} / min
        </text>
      </svg>
      <figcaption class="muted small">
        60 minutes, oldest on the left · dark: settled · light: matched, still running
      </figcaption>
    </figure>
  );
}
