/** The parties' open event sockets, by account address: a party hears only its own events. */
import type { Address } from 'viem';
import type WebSocket from 'ws';

export class EventHub {
  readonly #sockets = new Map<string, Set<WebSocket>>();

  subscribe(address: Address, socket: WebSocket): void {
    const key = address.toLowerCase();
    const set = this.#sockets.get(key) ?? new Set();
    set.add(socket);
    this.#sockets.set(key, set);
    // The socket carries events one way: a party that sends anything is told so and disconnected.
    socket.on('message', () =>
      socket.close(1008, "this socket only carries the solver's events: send nothing"),
    );
    // ws closes the socket itself on a protocol error (a frame past the size limit: 1009); without a
    // listener the error would be thrown as an uncaught exception and stop the solver.
    socket.on('error', () => {});
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.#sockets.get(key) === set) this.#sockets.delete(key);
    });
  }

  listening(address: string): boolean {
    return this.#sockets.has(address.toLowerCase());
  }

  /** Sends one message (already JSON) to every socket of `address`. */
  send(address: string, message: string): void {
    for (const socket of this.#sockets.get(address.toLowerCase()) ?? []) {
      if (socket.readyState === socket.OPEN) socket.send(message);
    }
  }

  closeAll(): void {
    for (const set of this.#sockets.values()) for (const socket of set) socket.close(1001, 'solver stopping');
    this.#sockets.clear();
  }
}
