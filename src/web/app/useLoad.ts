/** Loads something for a page: its value, its error, and a way to load it again. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { errorText } from './format.js';

export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  // `deps` name what the load depends on (the caller knows).
  const reload = useCallback(() => {
    load().then(
      (v) => {
        setValue(v);
        setError(null);
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, deps);
  useEffect(reload, [reload]);
  return { value, error, reload };
}
