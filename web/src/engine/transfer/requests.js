// Every request for a piece we have outstanding with a peer, one record per (piece, peer): when
// it was asked, its size, the frames of C_i gathered so far. The only keeper of what is asked of
// whom: the scheduler reads it, the downloader adds, ends and finishes records. Counted here from
// them: a peer's window (bytes asked whose frames have not all come), the bytes that came whole
// and are being verified or written (storing, all peers together: a separate bound, so that a
// slow disk does not close the network's window), a peer's delivery rate and latency (from a
// request to its first frame when nothing of ours was ahead of it at the peer: the round trip and
// the sender's preparing a piece), and how long a peer with requests outstanding has been quiet
// (the scheduler and the downloader's liveness rules, config.js REQUEST_IDLE_MS and LINK_STALL_MS).
import { REQUEST_LATENCY_SAMPLES } from '../config.js';
import { DeliveryRate } from './stats.js';

/**
 * A request: {piece, peer, size (plaintext bytes), askedAt, ciphertext (Uint8Array, from its
 * first frame on), received (ciphertext bytes), head (nothing of ours was arriving from its peer
 * when it was asked), arrived (its frames all came: it counts as storing, not in the window)}.
 */
export class Requests {
  #byPiece = new Map(); // piece -> Map(Peer -> request)
  #byPeer = new Map(); // Peer -> {requests: Map(piece -> request), bytes (window), rate, latencies, heardAt}
  #storing = new Set(); // requests whose frames all came, until verified and written (or ended)
  #windowBytes = 0; // every peer's window together
  #storingBytes = 0;
  #now;
  #idleSince; // when the last outstanding request ended (or we began)
  #latencySamples;

  constructor({ now = () => performance.now(), latencySamples = REQUEST_LATENCY_SAMPLES } = {}) {
    this.#now = now;
    this.#idleSince = now();
    this.#latencySamples = latencySamples;
  }

  // How long nothing has been asked of anyone (0 while something is).
  get idleMs() {
    return this.#byPiece.size > 0 ? 0 : this.#now() - this.#idleSince;
  }

  // Records that `piece` (`size` plaintext bytes) is asked of `peer`; returns the request.
  ask(piece, peer, size) {
    const entry = this.#entry(peer);
    const request = {
      piece, peer, size, askedAt: this.#now(), ciphertext: null, received: 0, head: entry.bytes === 0, arrived: false,
    };
    if (entry.requests.size === 0) {
      entry.rate.busy(request.askedAt);
      entry.heardAt = request.askedAt; // it had nothing to answer until now
    }
    entry.requests.set(piece, request);
    entry.bytes += size;
    this.#windowBytes += size;
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

  // Plaintext bytes asked of `peer` whose frames have not all come: its window.
  bytesOf(peer) {
    return this.#byPeer.get(peer)?.bytes ?? 0;
  }

  // Every peer's window together.
  get windowBytes() {
    return this.#windowBytes;
  }

  // Plaintext bytes of pieces whose frames all came, not yet verified and on disk (peers gone
  // included: their pieces are still held until written).
  get storingBytes() {
    return this.#storingBytes;
  }

  // `bytes` of a frame of `request` came.
  received(request, bytes) {
    const entry = this.#byPeer.get(request.peer);
    if (entry && request.head && request.received === 0) this.#sampleLatency(entry, this.#now() - request.askedAt);
    request.received += bytes;
    this.heard(request.peer);
    entry?.rate.add(bytes, this.#now());
  }

  // Every frame of `request` came: its bytes leave its peer's window and count as storing until
  // stored(request), or until the request ends (bad, or the piece came from another peer first).
  arrived(request) {
    const entry = this.#byPeer.get(request.peer);
    if (request.arrived || entry?.requests.get(request.piece) !== request) return;
    request.arrived = true;
    entry.bytes -= request.size;
    this.#windowBytes -= request.size;
    this.#storing.add(request);
    this.#storingBytes += request.size;
  }

  // `peer` answered one of our requests (a frame, a reject): it is alive.
  heard(peer) {
    const entry = this.#byPeer.get(peer);
    if (entry) entry.heardAt = this.#now();
  }

  // Our page was frozen for `ms` (frozen.js): nothing any peer sent could be read meanwhile.
  excuse(ms) {
    for (const entry of this.#byPeer.values()) entry.heardAt += ms;
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

  // Milliseconds from a request of ours to its first frame when nothing of ours was ahead of it
  // at `peer` (the round trip and the piece's preparing there): the median of the latest
  // samples, so that one stall does not count for the link; null until one came.
  latencyOf(peer) {
    const samples = this.#byPeer.get(peer)?.latencies;
    if (!samples?.length) return null;
    const sorted = [...samples].sort((x, y) => x - y);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  // The request of `piece` to `peer` ended without the piece (cancelled, refused, bad).
  end(piece, peer) {
    const request = this.get(piece, peer);
    if (request) this.#remove(request, true);
  }

  // `piece` came intact from `peer`: every request for it ends; its size counts as storing until
  // stored(), so that memory stays bounded when the disk is slower than the network. Returns the
  // other peers it was asked of (to cancel there).
  finish(piece, peer) {
    const others = [];
    const winner = this.get(piece, peer);
    if (winner) this.arrived(winner);
    for (const request of this.#byPiece.get(piece)?.values() ?? []) {
      if (request.peer !== peer) others.push(request.peer);
      this.#remove(request, request.peer !== peer);
    }
    this.#byPeer.get(peer)?.rate.pieceDone();
    return others;
  }

  // The piece of `request` (finished) is on disk: it no longer counts as storing.
  stored(request) {
    if (this.#storing.delete(request)) this.#storingBytes -= request.size;
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
    if (!this.#byPeer.has(peer)) {
      this.#byPeer.set(peer, { requests: new Map(), bytes: 0, rate: new DeliveryRate(), latencies: [], heardAt: this.#now() });
    }
    return this.#byPeer.get(peer);
  }

  #sampleLatency(entry, ms) {
    entry.latencies.push(ms);
    if (entry.latencies.length > this.#latencySamples) entry.latencies.shift();
  }

  // `free`: the request's bytes stop counting (else it is the finished one: storing until stored()).
  #remove(request, free) {
    const { piece, peer } = request;
    const sources = this.#byPiece.get(piece);
    sources?.delete(peer);
    if (sources?.size === 0) this.#byPiece.delete(piece);
    if (this.#byPiece.size === 0) this.#idleSince = this.#now();
    const entry = this.#byPeer.get(peer);
    if (!entry?.requests.delete(piece)) return;
    if (free && request.arrived) this.stored(request);
    else if (free) {
      entry.bytes -= request.size;
      this.#windowBytes -= request.size;
    }
    if (entry.requests.size === 0) entry.rate.idle(this.#now());
  }
}
