// What a member offers the swarm: the sealed manifest, the signed hash batches it trusts, the
// pieces it holds (announced in `have`), and the serving of those pieces to peers that ask, one
// piece at a time per peer, in the order asked. The origin and receivers both seed.
import { MAX_QUEUED_REQUEST_BYTES } from '../config.js';
import { piecesIn } from './pieces.js';
import { haveBitfieldMessage, havePiecesMessage, hashesMessage, manifestMessages, rejectMessage } from '../net/wire.js';

export class Seeder {
  #swarm;
  #sealed;
  #book;
  #ciphertext;
  #servable;
  #onError;
  #queueCap; // pieces one peer may have queued with us
  #queues = new Map(); // Peer -> pieces it asked for, not yet started
  #spread; // the origin: spread its upload over the swarm (see #elsewhere)
  #sentTo = new Map(); // piece -> Set of the peer ids it went (or is going) to, when spreading
  #spreadRefused = new WeakMap(); // Peer -> Set of pieces refused it once to spread the upload

  /**
   * announced: Bitfield of the pieces this member holds; ciphertext(index) -> Promise<Uint8Array>
   * C_i; servable(index): whether a held piece may go out (a receiver needs its signed hash, to
   * have passed it on first); onError(error) when ciphertext fails (our disk or file, not the
   * peer's fault). spread: this is the origin, whose uplink should carry each piece about once.
   * pieceSize: the share's (the queue's cap is in bytes).
   */
  constructor({ swarm, sealed, book, announced, ciphertext, servable, onError, pieceSize, spread = false }) {
    this.#spread = spread;
    this.#queueCap = piecesIn(MAX_QUEUED_REQUEST_BYTES, pieceSize);
    this.#swarm = swarm;
    this.#sealed = sealed;
    this.#book = book;
    this.announced = announced;
    this.#ciphertext = ciphertext;
    this.#servable = servable;
    this.#onError = onError;
  }

  // What a peer hears first on a new link.
  greet(peer) {
    for (const part of manifestMessages(this.#sealed)) peer.send(part);
    for (const batch of this.#book.batches) peer.send(hashesMessage(batch));
    peer.send(haveBitfieldMessage(this.announced));
  }

  // A batch newly trusted here: every linked peer gets it (but the one it came from).
  passOn(batch, from = null) {
    this.#swarm.broadcast(hashesMessage(batch), from);
  }

  // A piece newly held; returns false if it was already.
  announce(piece) {
    if (!this.announced.set(piece)) return false;
    this.#swarm.broadcast(havePiecesMessage([piece]));
    return true;
  }

  // A peer's `request` or `cancel`, the messages that are the seeder's; returns whether it was one.
  take(peer, message) {
    if (message.t === 'request') this.#request(peer, message.piece);
    else if (message.t === 'cancel') this.#cancel(peer, message.piece);
    else return false;
    return true;
  }

  #request(peer, piece) {
    const queue = this.#queues.get(peer) ?? [];
    if (!this.announced.has(piece) || !this.#servable(piece) || queue.length >= this.#queueCap
      || this.#elsewhere(peer, piece)) {
      peer.send(rejectMessage(piece));
      return;
    }
    queue.push(piece);
    if (!this.#queues.has(peer)) {
      this.#queues.set(peer, queue);
      this.#serve(peer, queue);
    }
  }

  // The origin refuses a piece once to a peer when it already went, or is going, to another
  // member still linked: the peer asks that member instead (it pauses the piece for the origin,
  // REJECTED_RETRY_MS), so receivers that all ask for the same pieces at first end up fetching
  // different ones from the origin and the rest from each other. Asked again, it is served.
  #elsewhere(peer, piece) {
    if (!this.#spread) return false;
    const sentTo = this.#sentTo.get(piece) ?? new Set();
    const refused = this.#spreadRefused.get(peer) ?? new Set();
    let elsewhere = false;
    for (const id of sentTo) elsewhere ||= id !== peer.id && this.#swarm.peers.get(id)?.open === true;
    if (!elsewhere || refused.has(piece)) {
      this.#sentTo.set(piece, sentTo.add(peer.id));
      return false;
    }
    this.#spreadRefused.set(peer, refused.add(piece));
    return true;
  }

  // A piece that has started going out is finished anyway.
  #cancel(peer, piece) {
    const queue = this.#queues.get(peer);
    const at = queue?.indexOf(piece) ?? -1;
    if (at >= 0) queue.splice(at, 1);
  }

  async #serve(peer, queue) {
    try {
      while (queue.length > 0 && peer.open) {
        // The next piece starts once the link's buffer is down to its low watermark: until then
        // it waits in the queue, where a cancel (a seek) can still take it out, instead of in
        // the channel's buffer, from which nothing comes back.
        await peer.drained();
        // Test hook (tests/e2e): a slow uplink, this page's pieces at most this many bytes a
        // second; a piece waits for its turn in the queue, where a cancel can still take it out.
        const rate = globalThis.swarmdropTestHooks?.seedBytesPerSecond;
        if (rate > 0) await uplinkTurn();
        if (queue.length === 0 || !peer.open) break;
        const piece = queue.shift();
        const ciphertext = await this.#ciphertext(piece);
        // Test hook (tests/e2e): a peer that damages every piece it serves.
        if (globalThis.swarmdropTestHooks?.corruptServedPieces) ciphertext[ciphertext.length >> 1] ^= 0x01;
        if (rate > 0) uplinkFreeAt = Math.max(performance.now(), uplinkFreeAt) + (ciphertext.length / rate) * 1000;
        await peer.sendPiece(piece, ciphertext);
      }
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#queues.delete(peer);
    }
  }
}

// The test hook's uplink: a piece goes out once those before it had their share of time.
let uplinkFreeAt = 0;
async function uplinkTurn() {
  for (let wait = uplinkFreeAt - performance.now(); wait > 0; wait = uplinkFreeAt - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
