/**
 * Token buckets, one per key (an account address): `burst` requests at once, refilled at `perSecond`.
 * A refused request learns how long until its next token (HTTP 429 with Retry-After).
 */
import { LilypadError } from '../protocol/errors.js';

export type RateLimit = { perSecond: number; burst: number };

export class RateLimitedError extends LilypadError {
  override name = 'RateLimitedError';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, hint: string) {
    super(message, { hint });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(limit: RateLimit) {
    this.#limit = limit;
  }

  /** Takes one token for `key`, or throws RateLimitedError saying when to retry. */
  take(key: string, now = Date.now()): void {
    const { perSecond, burst } = this.#limit;
    if (perSecond <= 0) return; // unlimited
    const id = key.toLowerCase();
    const bucket = this.#buckets.get(id) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(id, bucket);
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
      throw new RateLimitedError(
        `too many requests from ${key}: at most ${perSecond} per second (bursts of ${burst})`,
        retryAfterSeconds,
        `retry in ${retryAfterSeconds} s`,
      );
    }
    bucket.tokens -= 1;
    this.#buckets.set(id, bucket);
    if (this.#buckets.size > 100_000) this.#forgetFull(now);
  }

  /** Drops buckets that have refilled: they hold nothing a new bucket would not. */
  #forgetFull(now: number): void {
    const { perSecond, burst } = this.#limit;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * perSecond >= burst) this.#buckets.delete(key);
    }
  }
}
