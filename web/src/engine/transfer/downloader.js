// The fetching half of a receiver: keeps every peer's window of requests full (Scheduler),
// gathers the frames of each piece, and accepts a piece only when SHA-256(C_i) equals its signed
// hash and it decrypts (docs/protocol.md part 3); then stores its plaintext. A piece that fails is
// dropped, counted against the peer that sent it, and asked of another peer.
import { PLAYER_KEEP_REQUESTS_AHEAD, REJECTED_RETRY_MS, REQUEST_WINDOW_BYTES } from '../config.js';
import { TAG_LENGTH, decryptPiece, pieceHash, pieceRange, sameBytes } from './content.js';
import { Emitter } from '../emitter.js';
import { piecesIn } from './pieces.js';
import { cancelMessage, requestMessage } from '../net/wire.js';

/**
 * Events: 'stored' (piece index, its plaintext on disk); 'bad' (the Peer that sent a bad piece,
 * its `bad` count already raised); 'error' (the store failed: StorageError).
 */
export class Downloader extends Emitter {
  #manifest;
  #contentKey;
  #book;
  #store;
  #scheduler;
  #peers;

  // peers() -> the swarm's Peers; done: Bitfield of the pieces already held.
  constructor({ manifest, contentKey, book, store, scheduler, peers }) {
    super();
    this.#manifest = manifest;
    this.#contentKey = contentKey;
    this.#book = book;
    this.#store = store;
    this.#scheduler = scheduler;
    this.#peers = peers;
  }

  // Asks peers for pieces until every open peer's window is full or nothing more is wanted of it.
  fill() {
    const peers = [...this.#peers()].filter((peer) => peer.open && peer.remote);
    for (let asked = true; asked && !this.#scheduler.complete;) {
      asked = false;
      for (const peer of peers) {
        if (peer.requested.size >= piecesIn(REQUEST_WINDOW_BYTES, this.#manifest.piece_size)) continue;
        const piece = this.#scheduler.next(peer);
        if (piece === null) continue;
        this.#scheduler.assign(piece, peer);
        peer.requested.add(piece);
        peer.send(requestMessage(piece));
        asked = true;
      }
    }
  }

  // Pieces from `piece` on are wanted first (a player's playhead; Scheduler.setFocus). When the
  // focus jumps (a seek: backwards, or `keepAhead` pieces or more forwards), requests for pieces
  // before it, or `keepAhead` or more past it, none of whose bytes came yet, are cancelled (and
  // asked for again in their turn), so that the pieces at the focus are not queued behind them.
  // Playing on moves the focus a little at a time: what is asked stays asked, since the frames
  // of a cancelled piece may already be on their way and would be wasted.
  focus(piece, keepAhead = PLAYER_KEEP_REQUESTS_AHEAD) {
    const previous = this.#scheduler.focus;
    if (piece === previous) return;
    this.#scheduler.setFocus(piece);
    if (piece > previous && piece < previous + keepAhead) {
      this.fill();
      return;
    }
    this.#cancelQueued((asked) => asked >= piece && asked < piece + keepAhead);
    this.fill();
  }

  // Cancels the requests none of whose bytes came yet, but those `keep(piece)` says to keep.
  #cancelQueued(keep) {
    for (const peer of this.#peers()) {
      for (const asked of this.#scheduler.askedOf(peer)) {
        if (keep(asked) || peer.incoming.has(asked)) continue;
        peer.send(cancelMessage(asked));
        this.#end(peer, asked);
      }
    }
  }

  // These pieces are wanted before any other (Scheduler.want): requests queued with peers, none
  // of whose bytes came yet, are cancelled (and asked again in their turn) so that these are not
  // queued behind them.
  want(pieces) {
    this.#scheduler.want(pieces);
    this.#cancelQueued((asked) => pieces.includes(asked));
    this.fill();
  }

  // A frame of C_i. Frames of pieces we did not ask this peer for (any more) are ignored.
  async data(peer, { piece, offset, data }) {
    if (!peer.requested.has(piece)) return;
    let entry = peer.incoming.get(piece);
    if (!entry) {
      const { start, end } = pieceRange(this.#manifest, piece);
      entry = { ciphertext: new Uint8Array(end - start + TAG_LENGTH), received: 0 };
      peer.incoming.set(piece, entry);
    }
    if (offset + data.length > entry.ciphertext.length || entry.received + data.length > entry.ciphertext.length) {
      this.#bad(peer, piece);
      return;
    }
    entry.ciphertext.set(data, offset);
    entry.received += data.length;
    if (entry.received === entry.ciphertext.length) await this.#verify(peer, piece, entry.ciphertext);
  }

  // The peer will not send this piece now: ask someone else, and it again later (it may get the
  // piece's hash or room in its queue meanwhile).
  rejected(peer, piece) {
    if (!peer.requested.has(piece)) return;
    this.#scheduler.pause(piece, peer);
    this.#end(peer, piece);
    setTimeout(() => {
      this.#scheduler.resume(piece, peer);
      this.fill();
    }, REJECTED_RETRY_MS);
    this.fill();
  }

  // The link to `peer` is gone: what it was asked for goes to others.
  forget(peer) {
    for (const piece of peer.requested) this.#scheduler.release(piece, peer);
    peer.requested.clear();
    peer.incoming.clear();
    this.fill();
  }

  async #verify(peer, piece, ciphertext) {
    peer.incoming.delete(piece);
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
    if (!peer.requested.has(piece)) return; // it came from another peer meanwhile (endgame)
    for (const other of this.#scheduler.finish(piece)) {
      if (other === peer) continue;
      other.send(cancelMessage(piece));
      other.incoming.delete(piece);
      other.requested.delete(piece);
    }
    // The request keeps its place in the window until the piece is on disk: memory stays bounded
    // even when the disk is slower than the network.
    this.#store.write(piece, plaintext).then(
      () => {
        peer.requested.delete(piece);
        this.emit('stored', piece);
        this.fill();
      },
      (error) => this.emit('error', error),
    );
  }

  #bad(peer, piece) {
    peer.bad += 1;
    this.#scheduler.avoid(piece, peer);
    this.#end(peer, piece);
    this.emit('bad', peer);
    this.fill();
  }

  #end(peer, piece) {
    peer.incoming.delete(piece);
    peer.requested.delete(piece);
    this.#scheduler.release(piece, peer);
  }
}
