/**
 * The base of every error the project throws on purpose: a short message that says what went wrong,
 * optional details, and what to do about it.
 */
export class LilypadError extends Error {
  override name = 'LilypadError';
  readonly details: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, options: { details?: string; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
    this.hint = options.hint;
  }

  /** The message, its details and the hint, one per line: what the CLI prints. */
  describe(): string {
    return [this.message, this.details, this.hint && `hint: ${this.hint}`].filter(Boolean).join('\n');
  }
}
