/** The verified result: stdout shown, images inline, every file downloadable. */
import type { ResultFileView } from '../client.js';
import { api } from './api.js';
import { useLoad } from './useLoad.js';

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

export function ResultViewer(props: { jobId: string; resultCID: string | null }) {
  const { value: files, error } = useLoad(() => api.files(props.jobId), [props.jobId]);
  const { value: stdout } = useLoad(() => api.fileText(props.jobId, 'stdout'), [props.jobId]);
  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!files) return <p class="muted">Loading the result…</p>;
  const images = files.filter((f) => IMAGE.test(f.path));
  return (
    <section class="card" aria-labelledby="result-title">
      <h2 id="result-title">Result</h2>
      <p class="muted small">
        CID <code>{props.resultCID}</code>
      </p>
      {stdout !== undefined && (
        <figure>
          <figcaption>stdout</figcaption>
          <pre class="output" data-testid="stdout">
            {stdout}
          </pre>
        </figure>
      )}
      {images.map((image) => (
        <figure key={image.path}>
          <img
            src={api.fileUrl(props.jobId, image.path)}
            alt={`result file ${image.path}`}
            class="result-image"
          />
          <figcaption>{image.path}</figcaption>
        </figure>
      ))}
      <h3>Files</h3>
      <ul class="files">
        {files.map((file: ResultFileView) => (
          <li key={file.path}>
            <a href={api.fileUrl(props.jobId, file.path, true)} download>
              {file.path}
            </a>{' '}
            <span class="muted small">{file.size} bytes</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
