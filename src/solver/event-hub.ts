/** Pushes solver events to the parties' sockets, keyed by account address. */
import type { Address } from 'viem';
import type WebSocket from 'ws';
import { type SolverEvent, toWire } from '../protocol/wire.js';

export class EventHub {
  readonly #sockets = new Map<string, Set<WebSocket>>();

  subscribe(address: Address, socket: WebSocket): void {
    const key = address.toLowerCase();
    const set = this.#sockets.get(key) ?? new Set();
    set.add(socket);
    this.#sockets.set(key, set);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0) this.#sockets.delete(key);
    });
  }

  send(socket: WebSocket, event: SolverEvent): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(toWire(event)));
  }

  publish(to: Address[], event: SolverEvent): void {
    const recipients = new Set(to.map((a) => a.toLowerCase()));
    for (const address of recipients) {
      for (const socket of this.#sockets.get(address) ?? []) this.send(socket, event);
    }
  }

  closeAll(): void {
    for (const set of this.#sockets.values()) for (const socket of set) socket.close(1001, 'solver stopping');
    this.#sockets.clear();
  }
}
