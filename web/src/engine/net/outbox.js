// One link's outgoing queue: every message to the other browser, text or binary, waits its turn
// here until the link can hand it on (PeerLink: its channel's buffer is under the high watermark;
// RelayLink: the relay's credit and channel allow), so no channel is ever handed more than the
// watermark and one message (Chromium throws once 16 MiB wait in a channel). Bounded in bytes
// and in messages (LINK_QUEUE_MAX_*): a push past either bound is refused, and the link that
// owns the queue closes itself (its other end does not take what we send fast enough).
import { LINK_QUEUE_MAX_BYTES, LINK_QUEUE_MAX_MESSAGES } from '../config.js';

// Why a link closed itself (LinkFailure.code).
export const LINK_OVERFLOW = 'overflow'; // its queue reached a bound
export const LINK_SEND_FAILED = 'send-failed'; // its channel threw on send
export const LINK_STALLED = 'stalled'; // work outstanding and no sign of life (config.js LINK_STALL_MS)
export const LINK_RELAY_LOST = 'relay-lost'; // the connection to the server's relay failed or closed

/** A link closed itself; `code` says why (LINK_*), the message is for the console. */
export class LinkFailure extends Error {
  name = 'LinkFailure';

  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class Outbox {
  #items = []; // {data, size, resolve, ...}: oldest first
  #maxBytes;
  #maxMessages;
  bytes = 0; // sizes of the queued messages

  constructor({ maxBytes = LINK_QUEUE_MAX_BYTES, maxMessages = LINK_QUEUE_MAX_MESSAGES } = {}) {
    this.#maxBytes = maxBytes;
    this.#maxMessages = maxMessages;
  }

  get length() {
    return this.#items.length;
  }

  // The next message to go, or undefined.
  get head() {
    return this.#items[0];
  }

  // Queues {data, size, resolve?} (resolve(true) once it went, resolve(false) if it never does);
  // returns false, queuing nothing, if that would pass a bound.
  push(item) {
    if (this.#items.length >= this.#maxMessages || this.bytes + item.size > this.#maxBytes) return false;
    this.#items.push(item);
    this.bytes += item.size;
    return true;
  }

  // The head went out.
  shift() {
    const item = this.#items.shift();
    this.bytes -= item.size;
    item.resolve?.(true);
    return item;
  }

  // Nothing queued will go (the link closed).
  clear() {
    for (const { resolve } of this.#items) resolve?.(false);
    this.#items = [];
    this.bytes = 0;
  }
}
