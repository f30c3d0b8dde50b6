/** Hash routes (#/jobs/…): the server serves one page, and every link works without it knowing them. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'catalogue' }
  | { page: 'run'; module: string }
  | { page: 'job'; id: string }
  | { page: 'history' }
  | { page: 'account' }
  | { page: 'network' }
  | { page: 'signin' };

export function parseRoute(hash: string): Route {
  const [first, ...rest] = hash.replace(/^#\/?/, '').split('/');
  const arg = decodeURIComponent(rest.join('/'));
  switch (first) {
    case 'run':
      return { page: 'run', module: arg };
    case 'jobs':
      return arg ? { page: 'job', id: arg } : { page: 'history' };
    case 'account':
      return { page: 'account' };
    case 'network':
      return { page: 'network' };
    case 'signin':
      return { page: 'signin' };
    default:
      return { page: 'catalogue' };
  }
}

export const navigate = (hash: string) => {
  window.location.hash = hash;
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      setRoute(parseRoute(window.location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
