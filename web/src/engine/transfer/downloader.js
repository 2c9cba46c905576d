// The fetching half of a receiver: keeps every peer's window of requests full (Scheduler, which
// keeps the Requests), gathers the frames of each piece, and accepts a piece only when SHA-256(C_i)
// equals its signed hash and it decrypts (docs/protocol.md part 3); then stores its plaintext. A
// piece that fails is dropped, counted against the peer that sent it, and asked of another peer.
// A peer's window (bytes asked whose frames have not all come) is its bandwidth-delay product:
// its delivery rate times its latency (a request's round trip and the piece's preparing there),
// doubled, plus a piece, between windowBytes and maxWindowBytes (config.js: half of what the
// sender takes unanswered); all windows together at most totalWindowBytes. A piece that came
// whole leaves the window at once: while verified and written it counts against storingBytes,
// a bound of its own, so that a slow disk holds up new requests without shrinking the window.
// checkLiveness(), called every moment by the receiver, looks for peers gone quiet: what they
// hold is asked elsewhere (Scheduler), and one quiet for LINK_STALL_MS is reported 'stalled'.
import {
  LINK_STALL_MS, PLAYER_KEEP_REQUESTS_AHEAD, REJECTED_RETRY_MS, REQUEST_WINDOW_BYTES, REQUEST_WINDOW_GAIN,
  REQUEST_WINDOW_MAX_BYTES, REQUEST_WINDOWS_TOTAL_BYTES, STORING_MAX_BYTES,
} from '../config.js';
import { TAG_LENGTH, decryptPiece, pieceCount, pieceHash, pieceRange, sameBytes } from './content.js';
import { Emitter } from '../emitter.js';
import { cancelMessage, requestMessage } from '../net/wire.js';

/**
 * Events: 'stored' (piece index, its plaintext on disk); 'bad' (the Peer that sent a bad piece,
 * its `bad` count already raised); 'error' (the store failed: StorageError); 'stalled' (a Peer
 * with requests outstanding that sent nothing for linkStallMs: its link is to be closed, and
 * what it was asked goes to others with forget()).
 */
export class Downloader extends Emitter {
  #manifest;
  #contentKey;
  #book;
  #store;
  #scheduler;
  #requests;
  #peers;
  #windowBytes;
  #maxWindowBytes;
  #totalWindowBytes;
  #storingBytes;
  #windowGain;
  #retryMs;
  #linkStallMs;
  #wakeTimer = null;

  // peers() -> the swarm's Peers. windowBytes, maxWindowBytes: a peer's window at least and at
  // most (whole pieces, at least one); totalWindowBytes: all windows together; storingBytes:
  // pieces being verified and written at most (past it nothing is asked); windowGain: the
  // bandwidth-delay product's factor. retryMs: a peer that refused a piece is asked again after.
  constructor({
    manifest, contentKey, book, store, scheduler, peers, windowBytes = REQUEST_WINDOW_BYTES,
    maxWindowBytes = REQUEST_WINDOW_MAX_BYTES, totalWindowBytes = REQUEST_WINDOWS_TOTAL_BYTES,
    storingBytes = STORING_MAX_BYTES, windowGain = REQUEST_WINDOW_GAIN, retryMs = REJECTED_RETRY_MS,
    linkStallMs = LINK_STALL_MS,
  }) {
    super();
    this.#manifest = manifest;
    this.#contentKey = contentKey;
    this.#book = book;
    this.#store = store;
    this.#scheduler = scheduler;
    this.#requests = scheduler.requests;
    this.#peers = peers;
    this.#windowBytes = windowBytes;
    this.#maxWindowBytes = Math.max(windowBytes, maxWindowBytes);
    this.#totalWindowBytes = totalWindowBytes;
    this.#storingBytes = storingBytes;
    this.#windowGain = windowGain;
    this.#retryMs = retryMs;
    this.#linkStallMs = linkStallMs;
  }

  // The bytes `peer`'s window holds now (see the top): the floor until its rate and latency are
  // measured; a stalled link's rate falls, and its window with it.
  windowOf(peer) {
    const rate = this.#requests.rateOf(peer);
    const latencyMs = this.#requests.latencyOf(peer);
    if (rate === null || latencyMs === null) return this.#windowBytes;
    const product = (this.#windowGain * rate * latencyMs) / 1000 + this.#manifest.piece_size;
    return Math.min(this.#maxWindowBytes, Math.max(this.#windowBytes, product));
  }

  // Asks peers for pieces until every open peer's window is full or nothing more is wanted of it:
  // urgent pieces first, each to the fastest source with room, then the rest, the peers in turns.
  // A peer with nothing asked has room for one piece whatever the total (so that every link is
  // measured and its liveness watched), but not while storing is full.
  fill() {
    const peers = [...this.#peers()].filter((peer) => peer.open && peer.remote);
    const size = this.#manifest.piece_size;
    const room = (peer) => {
      if (this.#requests.storingBytes >= this.#storingBytes) return false;
      const bytes = this.#requests.bytesOf(peer);
      return bytes === 0
        || (bytes + size <= this.windowOf(peer) && this.#requests.windowBytes + size <= this.#totalWindowBytes);
    };
    for (let urgent; !this.#scheduler.complete && (urgent = this.#scheduler.nextUrgent(peers.filter(room)));) {
      this.#ask(urgent.piece, urgent.peer);
    }
    for (let asked = true; asked && !this.#scheduler.complete;) {
      asked = false;
      for (const peer of peers) {
        if (!room(peer)) continue;
        const piece = this.#scheduler.next(peer);
        if (piece === null) continue;
        this.#ask(piece, peer);
        asked = true;
      }
    }
    // Nothing asked while pieces are missing: what a near member should fetch from afar may be
    // ours to fetch once we have waited (Scheduler.farWaitMs); look again then.
    if (!this.#scheduler.complete && this.#requests.pieceCount === 0 && this.#wakeTimer === null) {
      this.#wakeTimer = setTimeout(() => {
        this.#wakeTimer = null;
        this.fill();
      }, this.#scheduler.farWaitMs + 10);
    }
  }

  // Peers quiet for linkStallMs are reported; pieces asked only of quiet ones are asked again.
  // Called well within REQUEST_IDLE_MS of each other, with the time our page was frozen since
  // the last call (frozen.js).
  checkLiveness(frozenMs = 0) {
    if (frozenMs > 0) this.#requests.excuse(frozenMs);
    if (this.#requests.pieceCount === 0) return;
    for (const peer of this.#requests.quietPeers(this.#linkStallMs)) this.emit('stalled', peer);
    this.fill();
  }

  // `peer` announced pieces (its `have`): they count where they are, and may be asked for.
  have(peer, message) {
    peer.addHave(message, pieceCount(this.#manifest.total, this.#manifest.piece_size));
    this.#scheduler.have(peer, message);
    this.fill();
  }

  // Links or their distances changed (Scheduler.reclassify): far links may be asked for less, or more.
  reclassify() {
    this.#scheduler.reclassify();
    this.fill();
  }

  // Pieces from `piece` on are wanted first (a player's playhead; Scheduler.setFocus). When the
  // focus jumps (the first focus, a seek: backwards, or `keepAhead` pieces or more forwards),
  // requests for pieces outside the `keepAhead` from it, none of whose bytes came yet, are
  // cancelled (and asked for again in their turn), so that the pieces at the focus are not queued
  // behind them. Playing on moves the focus a little at a time: what is asked stays asked, since
  // the frames of a cancelled piece may already be on their way and would be wasted.
  // focus(null): the player is gone; what is asked stays asked, and the rest comes rarest first.
  focus(piece, keepAhead = PLAYER_KEEP_REQUESTS_AHEAD) {
    const previous = this.#scheduler.focus;
    if (piece === previous) return;
    this.#scheduler.setFocus(piece);
    if (piece === null || (previous !== null && piece > previous && piece < previous + keepAhead)) {
      this.fill();
      return;
    }
    this.#cancelQueued((asked) => asked >= piece && asked < piece + keepAhead);
    this.fill();
  }

  // Cancels the requests none of whose bytes came yet, but those `keep(piece)` says to keep;
  // with `ahead(requests)` (a peer's, in the order asked), only the first that many of each peer.
  #cancelQueued(keep, ahead = (requests) => requests.length) {
    for (const peer of this.#peers()) {
      const requests = this.#requests.of(peer);
      for (const { piece, received } of requests.slice(0, ahead(requests))) {
        if (keep(piece) || received > 0) continue;
        peer.send(cancelMessage(piece));
        this.#requests.end(piece, peer);
      }
    }
  }

  // These pieces are wanted before any other (Scheduler.want): requests queued with peers ahead
  // of them, none of whose bytes came yet, are cancelled (and asked again in their turn) so that
  // these are not queued behind them. A peer serves in the order asked: at one that was asked
  // for one of these, only what it was asked before that one is ahead; what came after stays
  // (its bytes may be in the peer's channel already, which a cancel cannot take back: an MP4's
  // index over two pieces cancelled the pieces after it, and two came twice, bench/stream.mjs).
  want(pieces) {
    this.#scheduler.want(pieces);
    const ahead = (requests) => {
      const first = requests.findIndex(({ piece }) => pieces.includes(piece));
      return first < 0 ? requests.length : first;
    };
    this.#cancelQueued((asked) => pieces.includes(asked), ahead);
    this.fill();
  }

  // A frame of C_i. Frames of pieces we did not ask this peer for (any more) are ignored.
  async data(peer, { piece, offset, data }) {
    const request = this.#requests.get(piece, peer);
    if (!request) return;
    request.ciphertext ??= new Uint8Array(request.size + TAG_LENGTH);
    const { ciphertext } = request;
    if (offset + data.length > ciphertext.length || request.received + data.length > ciphertext.length) {
      this.#bad(peer, piece);
      return;
    }
    ciphertext.set(data, offset);
    this.#requests.received(request, data.length);
    if (request.received < ciphertext.length) return;
    // Whole: its place in the window goes to the next request before it is verified.
    this.#requests.arrived(request);
    this.fill();
    await this.#verify(peer, request);
  }

  // The peer will not send this piece now: ask someone else, and it again later (it may get the
  // piece's hash or room in its queue meanwhile).
  rejected(peer, piece) {
    if (!this.#requests.get(piece, peer)) return;
    this.#requests.heard(peer);
    this.#scheduler.pause(piece, peer);
    this.#requests.end(piece, peer);
    setTimeout(() => {
      this.#scheduler.resume(piece, peer);
      this.fill();
    }, this.#retryMs);
    this.fill();
  }

  // The link to `peer` is gone: its pieces no longer count, and what it was asked for goes to others.
  forget(peer) {
    this.#scheduler.drop(peer);
    this.fill();
  }

  async #verify(peer, request) {
    const { piece, ciphertext } = request;
    request.ciphertext = null;
    let plaintext;
    try {
      if (!this.#book.has(piece) || !sameBytes(await pieceHash(ciphertext), this.#book.get(piece))) {
        this.#bad(peer, piece);
        return;
      }
      plaintext = await decryptPiece(this.#contentKey, piece, ciphertext);
    } catch {
      this.#bad(peer, piece); // IntegrityError: the hash matched but the tag did not
      return;
    }
    if (this.#requests.get(piece, peer) !== request) return; // it came from another peer meanwhile (endgame)
    for (const other of this.#scheduler.finish(piece, peer)) other.send(cancelMessage(piece));
    // The piece counts as storing until it is on disk: memory stays bounded even when the disk
    // is slower than the network.
    this.#store.write(piece, plaintext).then(
      () => {
        this.#requests.stored(request);
        this.emit('stored', piece);
        this.fill();
      },
      (error) => this.emit('error', error),
    );
  }

  #bad(peer, piece) {
    peer.bad += 1;
    this.#scheduler.avoid(piece, peer);
    this.#requests.end(piece, peer);
    this.emit('bad', peer);
    this.fill();
  }

  #ask(piece, peer) {
    const { start, end } = pieceRange(this.#manifest, piece);
    this.#requests.ask(piece, peer, end - start);
    peer.send(requestMessage(piece));
  }
}
