/** The pages' client of the web API: the session cookie, with the CSRF token sent on every change. */
import { createClient } from '../client.js';

let csrfToken: string | undefined;

export const api = createClient({ url: '', csrfToken: () => csrfToken });

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}
