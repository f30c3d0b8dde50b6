/** The web API's errors, each one HTTP status (see statusOf in server.ts). */
import { LilypadError } from '../protocol/errors.js';

/** 401: no session, no key, or a key that is unknown or revoked. */
export class NotSignedInError extends LilypadError {
  override name = 'NotSignedInError';
}
/** 403: a session's change without its CSRF token. */
export class CsrfError extends LilypadError {
  override name = 'CsrfError';
}
/** 404: nothing of that id in the caller's account. */
export class NotFoundError extends LilypadError {
  override name = 'NotFoundError';
}
/** 502: the solver did not answer, or not as it should. */
export class SolverUnavailableError extends LilypadError {
  override name = 'SolverUnavailableError';
}
