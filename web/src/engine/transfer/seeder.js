// What a member offers the swarm: the sealed manifest, the signed hash batches it trusts, the
// pieces it holds (announced in `have`), and the serving of those pieces to peers that ask, one
// piece at a time per peer, in the order asked, the next ones read and encrypted while the one
// before drains (at most SEND_AHEAD_BYTES of them per peer). The origin and receivers both seed.
// A peer that has more requests unanswered than its budget (REQUEST_BUDGET_WINDOWS: queued, or
// refused and the refusal still waiting for its link) asks more than the protocol allows or
// faster than its link drains: take() throws BudgetError and the swarm bans it; what we answer
// never piles up.
import {
  REQUEST_BUDGET_WINDOWS, REQUEST_WINDOW_BYTES, SEND_AHEAD_BYTES, SPREAD_REFUSALS, SPREAD_WAIT_MS,
} from '../config.js';
import { piecesIn } from './pieces.js';
import { BudgetError } from '../net/peer.js';
import { haveBitfieldMessage, havePiecesMessage, hashesMessage, manifestMessages, rejectMessage } from '../net/wire.js';

export class Seeder {
  #swarm;
  #sealed;
  #book;
  #ciphertext;
  #servable;
  #onError;
  #testHooks;
  #budget; // requests one peer may have unanswered: queued, or refused and the refusal not gone
  #queues = new Map(); // Peer -> [{piece, at (when asked), ready?}] it asked for, not yet started
  #ahead; // pieces one peer's queue may have read and encrypted ahead (`ready`: Promise of C_i)
  #preparing = new WeakMap(); // Peer -> pieces prepared ahead and held: queued, or dropped while being made
  #refusing = new WeakMap(); // Peer -> its rejects not yet handed to its channel
  #greeting = new WeakSet(); // peers greeted or being greeted (once: two greetings would interleave)
  #greeted = new WeakSet(); // peers whose greeting went: news (have, hashes) goes to them
  #spread; // the origin: spread its upload over the swarm (see #elsewhere)
  #sentAt = new Map(); // piece -> Map(peer id -> when it started going out to that peer), when spreading
  #refused = new WeakMap(); // Peer -> Map(piece -> times refused it to spread the upload)
  #spreadRefusals;
  #spreadWaitMs;
  #uploaded = 0; // piece bytes sent, to every peer
  #uplinkFreeAt = 0; // the test hook's uplink: when the pieces sent so far have had their time

  /**
   * announced: Bitfield of the pieces this member holds; ciphertext(index) -> Promise<Uint8Array>
   * C_i; servable(index): whether a held piece may go out (a receiver needs its signed hash, to
   * have passed it on first); onError(error) when ciphertext fails (our disk or file, not the
   * peer's fault). spread: this is the origin, whose uplink should carry each piece about once.
   * pieceSize: the share's (the budget is in windows of whole pieces). testHooks: tests/e2e's
   * {seedBytesPerSecond, corruptServedPieces} and bench/swarm.mjs's {originOnly} (none in normal
   * use). sendAheadBytes: see SEND_AHEAD_BYTES.
   */
  constructor({
    swarm, sealed, book, announced, ciphertext, servable, onError, pieceSize, spread = false,
    budgetWindows = REQUEST_BUDGET_WINDOWS, spreadRefusals = SPREAD_REFUSALS, spreadWaitMs = SPREAD_WAIT_MS,
    sendAheadBytes = SEND_AHEAD_BYTES, testHooks = {},
  }) {
    this.#ahead = piecesIn(sendAheadBytes, pieceSize);
    // Test hook (bench/swarm.mjs): the origin serves every receiver itself, none spread.
    this.#spread = spread && !testHooks.originOnly;
    this.#spreadRefusals = spreadRefusals;
    this.#spreadWaitMs = spreadWaitMs;
    this.#budget = budgetWindows * piecesIn(REQUEST_WINDOW_BYTES, pieceSize);
    this.#swarm = swarm;
    this.#sealed = sealed;
    this.#book = book;
    this.announced = announced;
    this.#ciphertext = ciphertext;
    this.#servable = servable;
    this.#onError = onError;
    this.#testHooks = testHooks;
  }

  // Piece bytes this member has sent (the origin: divided by the share's size, the copies it
  // uploaded).
  get uploadedBytes() {
    return this.#uploaded;
  }

  // What a peer hears first on a new link: the manifest, every batch we trust, our bitfield. A
  // greeting can be large (a batch per piece: 150 000 pieces are ~27 MB), so each message waits
  // until the one before it is handed to the channel. Batches trusted and pieces announced
  // meanwhile are in it (the batches are read as they grow, the bitfield last); news goes to the
  // peer only once it is greeted. Resolves once done, or the link closed.
  async greet(peer) {
    if (this.#greeting.has(peer)) return;
    this.#greeting.add(peer);
    for (const part of manifestMessages(this.#sealed)) if (!(await peer.sendInTurn(part))) return;
    const { batches } = this.#book;
    for (let i = 0; i < batches.length; i++) if (!(await peer.sendInTurn(hashesMessage(batches[i])))) return;
    peer.send(haveBitfieldMessage(this.announced));
    this.#greeted.add(peer);
  }

  // A batch newly trusted here: every greeted peer gets it (but the one it came from).
  passOn(batch, from = null) {
    this.#tell(hashesMessage(batch), from);
  }

  // A piece newly held; returns false if it was already.
  announce(piece) {
    if (!this.announced.set(piece)) return false;
    this.#tell(havePiecesMessage([piece]));
    return true;
  }

  #tell(message, except = null) {
    for (const peer of this.#swarm.peers.values()) if (peer.open && peer !== except && this.#greeted.has(peer)) peer.send(message);
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
    const refusing = this.#refusing.get(peer) ?? 0;
    if (queue.length + refusing >= this.#budget) {
      throw new BudgetError(`A peer has more than ${this.#budget} requests unanswered.`);
    }
    if (!this.announced.has(piece) || !this.#servable(piece) || this.#elsewhere(peer, piece)) {
      this.#refusing.set(peer, refusing + 1);
      peer.sendInTurn(rejectMessage(piece)).then(() => this.#refusing.set(peer, this.#refusing.get(peer) - 1));
      return;
    }
    queue.push({ piece, at: performance.now() });
    if (!this.#queues.has(peer)) {
      this.#queues.set(peer, queue);
      this.#serve(peer, queue);
    } else this.#prepare(peer, queue);
  }

  // The origin serves each piece to one member first: the asker of a piece another member still
  // linked to it holds or is getting is refused, and gets it from that member instead (a receiver
  // asks the origin only for pieces none of its other links announced, scheduler.js: this catches
  // pieces not announced yet and members it is not linked with). A piece queued for another
  // member, or sent to one that has not announced it yet (it is in a channel's buffer, on the
  // wire, or being verified), for less than spreadWaitMs since it was asked or went out, is
  // refused each time (a member that stopped reading cannot hold it back longer); one another
  // member holds, at most spreadRefusals times more to one asker. Asked again after that (the
  // asker pauses REJECTED_RETRY_MS between asks), it is served: a receiver that cannot get a
  // piece elsewhere is delayed, never starved.
  #elsewhere(peer, piece) {
    if (!this.#spread) return false;
    const others = [...this.#swarm.peers.values()].filter((other) => other !== peer && other.open);
    const sentAt = this.#sentAt.get(piece);
    const now = performance.now();
    const recent = (at) => now - at < this.#spreadWaitMs;
    const onItsWay = (other) => this.#queues.get(other)?.some((queued) => queued.piece === piece && recent(queued.at))
      || (!other.remote?.has(piece) && recent(sentAt?.get(other.id) ?? -Infinity));
    if (others.some(onItsWay)) return true;
    if (!this.#refused.has(peer)) this.#refused.set(peer, new Map());
    const refused = this.#refused.get(peer);
    const times = refused.get(piece) ?? 0;
    if (times < this.#spreadRefusals && others.some((other) => sentAt?.has(other.id) || other.remote?.has(piece))) {
      refused.set(piece, times + 1);
      return true;
    }
    return false;
  }

  // A piece that has started going out is finished anyway; one only prepared is dropped.
  #cancel(peer, piece) {
    const queue = this.#queues.get(peer);
    const at = queue?.findIndex((queued) => queued.piece === piece) ?? -1;
    if (at >= 0) this.#drop(peer, queue.splice(at, 1)[0]);
  }

  async #serve(peer, queue) {
    try {
      while (queue.length > 0 && peer.open) {
        // The next piece goes once the link's buffer is down to its low watermark: until then
        // it waits in the queue, read and encrypted ahead, where a cancel (a seek) can still
        // take it out, instead of in the channel's buffer, from which nothing comes back.
        this.#prepare(peer, queue);
        await peer.drained();
        const hooks = this.#testHooks;
        // Test hook (tests/e2e): a slow uplink, this page's pieces at most this many bytes a
        // second; a piece waits for its turn in the queue, where a cancel can still take it out.
        const rate = hooks.seedBytesPerSecond;
        if (rate > 0) await this.#uplinkTurn();
        if (queue.length === 0 || !peer.open) break;
        const { piece, ready } = queue.shift();
        if (ready) this.#preparing.set(peer, this.#preparing.get(peer) - 1);
        if (this.#spread) {
          if (!this.#sentAt.has(piece)) this.#sentAt.set(piece, new Map());
          this.#sentAt.get(piece).set(peer.id, performance.now());
        }
        const ciphertext = await (ready ?? this.#ciphertext(piece));
        this.#prepare(peer, queue); // the next ones while this one goes out
        // Test hook (tests/e2e): a peer that damages every piece it serves.
        if (hooks.corruptServedPieces) ciphertext[ciphertext.length >> 1] ^= 0x01;
        if (rate > 0) this.#uplinkFreeAt = Math.max(performance.now(), this.#uplinkFreeAt) + (ciphertext.length / rate) * 1000;
        const before = peer.uploadedBytes;
        await peer.sendPiece(piece, ciphertext);
        this.#uploaded += peer.uploadedBytes - before;
      }
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#queues.delete(peer);
      for (const entry of queue.splice(0)) this.#drop(peer, entry);
    }
  }

  // Starts reading and encrypting the first pieces of the queue, as many as #ahead allows with
  // those already held (a piece dropped while being made counts until it is made: asking and
  // cancelling over and over cannot pile up work).
  #prepare(peer, queue) {
    let held = this.#preparing.get(peer) ?? 0;
    for (const entry of queue) {
      if (held >= this.#ahead) break;
      if (entry.ready) continue;
      entry.ready = Promise.resolve().then(() => this.#ciphertext(entry.piece));
      entry.ready.catch(() => {}); // a failure is reported when the piece is taken, not before
      held += 1;
    }
    this.#preparing.set(peer, held);
  }

  // A queued piece will not go (cancelled, or the link is done): what was prepared of it is let
  // go once made, and the peer's queue, if any, prepares the next one instead.
  #drop(peer, { ready }) {
    if (!ready) return;
    const release = () => {
      this.#preparing.set(peer, this.#preparing.get(peer) - 1);
      const queue = this.#queues.get(peer);
      if (queue) this.#prepare(peer, queue);
    };
    ready.then(release, release);
  }

  // The test hook's uplink: a piece goes out once those before it had their share of time.
  async #uplinkTurn() {
    for (let wait = this.#uplinkFreeAt - performance.now(); wait > 0; wait = this.#uplinkFreeAt - performance.now()) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
