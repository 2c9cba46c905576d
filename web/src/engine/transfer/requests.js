// Every request for a piece we have outstanding with a peer, one record per (piece, peer): when
// it was asked, its size, the frames of C_i gathered so far. The only keeper of what is asked of
// whom: the scheduler reads it, the downloader adds, ends and finishes records, and a peer's
// window (bytes asked and not yet on disk) and delivery rate are counted here from them, and how
// long a peer with requests outstanding has been quiet (the scheduler and the downloader's
// liveness rules, config.js REQUEST_IDLE_MS and LINK_STALL_MS).
import { DeliveryRate } from './stats.js';

/**
 * A request: {piece, peer, size (plaintext bytes), askedAt, ciphertext (Uint8Array, from its
 * first frame on), received (ciphertext bytes)}.
 */
export class Requests {
  #byPiece = new Map(); // piece -> Map(Peer -> request)
  #byPeer = new Map(); // Peer -> {requests: Map(piece -> request), bytes (asked + storing), rate, heardAt}
  #now;
  #idleSince; // when the last outstanding request ended (or we began)

  constructor({ now = () => performance.now() } = {}) {
    this.#now = now;
    this.#idleSince = now();
  }

  // How long nothing has been asked of anyone (0 while something is).
  get idleMs() {
    return this.#byPiece.size > 0 ? 0 : this.#now() - this.#idleSince;
  }

  // Records that `piece` (`size` plaintext bytes) is asked of `peer`; returns the request.
  ask(piece, peer, size) {
    const entry = this.#entry(peer);
    const request = { piece, peer, size, askedAt: this.#now(), ciphertext: null, received: 0 };
    if (entry.requests.size === 0) {
      entry.rate.busy(request.askedAt);
      entry.heardAt = request.askedAt; // it had nothing to answer until now
    }
    entry.requests.set(piece, request);
    entry.bytes += size;
    if (!this.#byPiece.has(piece)) this.#byPiece.set(piece, new Map());
    this.#byPiece.get(piece).set(peer, request);
    return request;
  }

  get(piece, peer) {
    return this.#byPiece.get(piece)?.get(peer) ?? null;
  }

  // The requests outstanding with `peer`.
  of(peer) {
    return [...(this.#byPeer.get(peer)?.requests.values() ?? [])];
  }

  // The peers `piece` is asked of.
  sourcesOf(piece) {
    return [...(this.#byPiece.get(piece)?.keys() ?? [])];
  }

  asked(piece) {
    return this.#byPiece.has(piece);
  }

  // Pieces asked of anyone.
  get pieces() {
    return this.#byPiece.keys();
  }

  get pieceCount() {
    return this.#byPiece.size;
  }

  // Requests outstanding with `peer`.
  countOf(peer) {
    return this.#byPeer.get(peer)?.requests.size ?? 0;
  }

  // Plaintext bytes asked of `peer` and not yet on disk: its window.
  bytesOf(peer) {
    return this.#byPeer.get(peer)?.bytes ?? 0;
  }

  // `bytes` of a frame of `request` came.
  received(request, bytes) {
    request.received += bytes;
    this.heard(request.peer);
    this.#byPeer.get(request.peer)?.rate.add(bytes, this.#now());
  }

  // `peer` answered one of our requests (a frame, a reject): it is alive.
  heard(peer) {
    const entry = this.#byPeer.get(peer);
    if (entry) entry.heardAt = this.#now();
  }

  // How long `peer`, with requests of ours outstanding, has sent nothing (0 with none).
  quietMs(peer) {
    const entry = this.#byPeer.get(peer);
    return entry && entry.requests.size > 0 ? this.#now() - entry.heardAt : 0;
  }

  // The peers with requests outstanding that have been quiet for `ms` or longer.
  quietPeers(ms) {
    const quiet = new Set();
    for (const [peer, { requests }] of this.#byPeer) if (requests.size > 0 && this.quietMs(peer) >= ms) quiet.add(peer);
    return quiet;
  }

  // Bytes a second `peer` delivers while it has requests of ours, or null until measured.
  rateOf(peer) {
    return this.#byPeer.get(peer)?.rate.bytesPerSecond(this.#now()) ?? null;
  }

  // The request of `piece` to `peer` ended without the piece (cancelled, refused, bad).
  end(piece, peer) {
    const request = this.get(piece, peer);
    if (request) this.#remove(request, true);
  }

  // `piece` came intact from `peer`: every request for it ends; its size stays in the peer's
  // window until stored(), so that memory stays bounded when the disk is slower than the network.
  // Returns the other peers it was asked of (to cancel there).
  finish(piece, peer) {
    const others = [];
    for (const request of this.#byPiece.get(piece)?.values() ?? []) {
      if (request.peer !== peer) others.push(request.peer);
      this.#remove(request, request.peer !== peer);
    }
    this.#byPeer.get(peer)?.rate.pieceDone();
    return others;
  }

  // A piece from `peer` of `size` bytes is on disk (see finish).
  stored(peer, size) {
    const entry = this.#byPeer.get(peer);
    if (entry) entry.bytes -= size;
  }

  // The link to `peer` is gone: all its requests end; returns their pieces.
  forget(peer) {
    const pieces = this.of(peer).map((request) => {
      this.#remove(request, true);
      return request.piece;
    });
    this.#byPeer.delete(peer);
    return pieces;
  }

  #entry(peer) {
    if (!this.#byPeer.has(peer)) this.#byPeer.set(peer, { requests: new Map(), bytes: 0, rate: new DeliveryRate(), heardAt: this.#now() });
    return this.#byPeer.get(peer);
  }

  #remove(request, freeWindow) {
    const { piece, peer } = request;
    const sources = this.#byPiece.get(piece);
    sources?.delete(peer);
    if (sources?.size === 0) this.#byPiece.delete(piece);
    if (this.#byPiece.size === 0) this.#idleSince = this.#now();
    const entry = this.#byPeer.get(peer);
    if (!entry?.requests.delete(piece)) return;
    if (freeWindow) entry.bytes -= request.size;
    if (entry.requests.size === 0) entry.rate.idle(this.#now());
  }
}
