/**
 * Events as the parties see them: each party's events are numbered 1, 2, 3… (`seq`), written to the
 * store in the same transaction as the change they report, and sent once that transaction commits.
 * A client that reconnects says the last seq it saw and gets everything after it, from the store; when
 * that is no longer there (pruned, or too much), it gets the current state of its offers and deals
 * instead, stamped with its current seq.
 */
import type { Address, Hex } from 'viem';
import { type SolverEvent, solverEventSchema } from '../protocol/wire.js';
import type { EventHub } from './event-hub.js';
import type { Store } from './store.js';

/** At most this many missed events are replayed; past that, the current state is cheaper and enough. */
export const MAX_REPLAY = 1000;

export type SequencedEvent = { seq: number; event: SolverEvent };

const toJson = (value: unknown) =>
  JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));

export class EventLog {
  readonly #store: Store;
  readonly #hub: EventHub;
  readonly #seqs = new Map<string, number>();
  #outbox: { address: string; seq: number; event: SolverEvent }[] = [];

  constructor(store: Store, hub: EventHub) {
    this.#store = store;
    this.#hub = hub;
  }

  /** Reads each party's last seq from the store (at start, and after a failed transaction). */
  load(): void {
    this.#seqs.clear();
    this.#outbox = [];
    for (const { address, seq } of this.#store.lastEventSeqs()) this.#seqs.set(address.toLowerCase(), seq);
  }

  lastSeq(address: Address): number {
    return this.#seqs.get(address.toLowerCase()) ?? 0;
  }

  /** Records `event` for each of `to` (once per party); call inside the transaction of the change. */
  publish(to: Address[], event: SolverEvent): void {
    const body = compact(event);
    const createdAt = Date.now();
    for (const address of new Set(to.map((a) => a.toLowerCase()))) {
      const seq = (this.#seqs.get(address) ?? 0) + 1;
      this.#seqs.set(address, seq);
      this.#store.appendEvent({ address: address as Address, seq, body, createdAt });
      this.#outbox.push({ address, seq, event });
    }
  }

  /** Sends what the committed transaction recorded. */
  flush(): void {
    const outbox = this.#outbox;
    this.#outbox = [];
    let last: SolverEvent | undefined;
    let json = '';
    for (const { address, seq, event } of outbox) {
      if (!this.#hub.listening(address)) continue;
      if (event !== last) {
        last = event;
        json = toJson(event);
      }
      this.#hub.send(address, withSeq(json, seq));
    }
  }

  /** Forgets what a failed transaction recorded. */
  discard(): void {
    this.load();
  }

  /**
   * `address`'s events after `after`, or undefined when they cannot all be given (the caller then sends
   * the current state). `dealProposed` rebuilds the large `deal:proposed` events, stored by deal id.
   */
  replay(
    address: Address,
    after: number,
    dealProposed: (dealId: Hex) => SolverEvent | undefined,
  ): SequencedEvent[] | undefined {
    const last = this.lastSeq(address);
    if (after > last) return undefined;
    if (after === last) return [];
    const rows = this.#store.eventsAfter(address, after, MAX_REPLAY + 1);
    if (rows.length > MAX_REPLAY || rows[0]?.seq !== after + 1) return undefined;
    const out: SequencedEvent[] = [];
    for (const row of rows) {
      const stored = JSON.parse(row.body) as { type: string; dealId?: Hex };
      const event =
        stored.type === 'deal:proposed' && stored.dealId
          ? dealProposed(stored.dealId)
          : solverEventSchema.safeParse(stored).data;
      if (!event) return undefined;
      out.push({ seq: row.seq, event });
    }
    return out;
  }
}

/** A `deal:proposed` carries both signed offers: it is stored as its deal id and rebuilt on replay. */
function compact(event: SolverEvent): string {
  return event.type === 'deal:proposed' ? toJson({ type: event.type, dealId: event.dealId }) : toJson(event);
}

/** `{"seq":7,…}`: the seq first, then the event's own fields. */
export function withSeq(eventJson: string, seq: number): string {
  return `{"seq":${seq},${eventJson.slice(1)}`;
}
