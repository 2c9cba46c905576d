// Which piece to ask which peer for next. Pieces someone waits for right now (want: the head of
// a file being sniffed, an MP4's index at its end) before all others; then the lowest missing
// piece at or after the focus (0 unless a player moved it to where it plays), then the rest from
// the start, so that a share fills from its start, or from the playhead; each call serves one
// peer, and the downloader calls it for its peers in turns, so neighbouring pieces spread over
// every peer that has them. At the end, when every missing piece is already asked of someone, a
// peer left with nothing to do gets one of them too (endgame), so that a slow peer does not hold
// up the last pieces.
import { ENDGAME_SOURCES } from '../config.js';

export class Scheduler {
  #done; // Bitfield: pieces held or being stored
  #asked = new Map(); // piece -> Set of Peers it is asked of
  #avoid = new Map(); // piece -> Set of peer ids never to ask for it (sent it bad)
  #paused = new Map(); // piece -> Set of peer ids not to ask for it for now (refused it)
  #cursor = 0; // every piece below it is done
  #focus = 0; // pieces from here on come first
  #focusCursor = 0; // every piece from the focus to below it is done
  #wanted = new Set(); // pieces to ask for before any other, in the order wanted

  constructor(done) {
    this.#done = done;
  }

  get complete() {
    return this.#done.complete;
  }

  get focus() {
    return this.#focus;
  }

  // Pieces from `piece` on (up to the end) are asked for before those below it; 0 is the plain order.
  setFocus(piece) {
    const focus = Math.min(Math.max(0, Math.trunc(piece) || 0), this.#done.length);
    if (focus === this.#focus) return;
    this.#focus = focus;
    this.#focusCursor = focus;
  }

  // These pieces are asked for before any other (until they are done).
  want(pieces) {
    for (const piece of pieces) if (piece >= 0 && piece < this.#done.length && !this.#done.has(piece)) this.#wanted.add(piece);
  }

  // The piece to ask `peer` for next (it must have announced it), or null.
  next(peer) {
    const done = this.#done;
    for (const piece of this.#wanted) {
      if (done.has(piece)) this.#wanted.delete(piece);
      else if (!this.#asked.has(piece) && this.#askable(piece, peer)) return piece;
    }
    while (this.#cursor < done.length && done.has(this.#cursor)) this.#cursor += 1;
    while (this.#focusCursor < done.length && done.has(this.#focusCursor)) this.#focusCursor += 1;
    const found = { endgame: null };
    const first = Math.max(this.#cursor, this.#focusCursor);
    const piece = this.#scan(peer, first, done.length, found) ?? this.#scan(peer, this.#cursor, Math.min(first, done.length), found);
    if (piece !== null) return piece;
    const missing = done.length - done.count;
    return this.#asked.size === missing && peer.requested.size === 0 ? found.endgame : null;
  }

  // The first piece in [from, to) nobody is asked for that `peer` can give; notes in found.endgame
  // the first one it could give as a second source.
  #scan(peer, from, to, found) {
    const done = this.#done;
    for (let piece = from; piece < to; piece++) {
      if (done.has(piece) || !this.#askable(piece, peer)) continue;
      const sources = this.#asked.get(piece);
      if (!sources) return piece;
      if (found.endgame === null && sources.size < ENDGAME_SOURCES && !sources.has(peer)) found.endgame = piece;
    }
    return null;
  }

  #askable(piece, peer) {
    return peer.remote.has(piece) && !this.#avoid.get(piece)?.has(peer.id) && !this.#paused.get(piece)?.has(peer.id);
  }

  // Pieces asked of `peer`, for the downloader to cancel those far from a new focus.
  askedOf(peer) {
    const pieces = [];
    for (const [piece, sources] of this.#asked) if (sources.has(peer)) pieces.push(piece);
    return pieces;
  }

  assign(piece, peer) {
    if (!this.#asked.has(piece)) this.#asked.set(piece, new Set());
    this.#asked.get(piece).add(peer);
  }

  // A request ended without the piece: the peer is gone, refused it, or sent it bad.
  release(piece, peer) {
    const sources = this.#asked.get(piece);
    sources?.delete(peer);
    if (sources?.size === 0) this.#asked.delete(piece);
  }

  // Never ask `peer` for this piece again.
  avoid(piece, peer) {
    addTo(this.#avoid, piece, peer.id);
  }

  // Do not ask `peer` for this piece until resume().
  pause(piece, peer) {
    addTo(this.#paused, piece, peer.id);
  }

  resume(piece, peer) {
    const ids = this.#paused.get(piece);
    ids?.delete(peer.id);
    if (ids?.size === 0) this.#paused.delete(piece);
  }

  // The piece arrived intact; returns the Peers it is still asked of (to cancel there).
  finish(piece) {
    const sources = this.#asked.get(piece) ?? new Set();
    this.#asked.delete(piece);
    this.#avoid.delete(piece);
    this.#paused.delete(piece);
    this.#done.set(piece);
    return sources;
  }
}

function addTo(map, piece, id) {
  if (!map.has(piece)) map.set(piece, new Set());
  map.get(piece).add(id);
}
