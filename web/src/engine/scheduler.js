// Which piece to ask which peer for next. The lowest missing piece first, so that a share fills
// from its start; each call serves one peer, and the downloader calls it for its peers in turns,
// so neighbouring pieces spread over every peer that has them. At the end, when every missing
// piece is already asked of someone, a peer left with nothing to do gets one of them too
// (endgame), so that a slow peer does not hold up the last pieces.
import { ENDGAME_SOURCES } from './config.js';

export class Scheduler {
  #done; // Bitfield: pieces held or being stored
  #asked = new Map(); // piece -> Set of Peers it is asked of
  #avoid = new Map(); // piece -> Set of peer ids never to ask for it (sent it bad)
  #paused = new Map(); // piece -> Set of peer ids not to ask for it for now (refused it)
  #cursor = 0; // every piece below it is done

  constructor(done) {
    this.#done = done;
  }

  get complete() {
    return this.#done.complete;
  }

  // The piece to ask `peer` for next (it must have announced it), or null.
  next(peer) {
    const done = this.#done;
    while (this.#cursor < done.length && done.has(this.#cursor)) this.#cursor += 1;
    let endgame = null;
    for (let piece = this.#cursor; piece < done.length; piece++) {
      if (done.has(piece) || !peer.remote.has(piece) || this.#avoid.get(piece)?.has(peer.id)
        || this.#paused.get(piece)?.has(peer.id)) continue;
      const sources = this.#asked.get(piece);
      if (!sources) return piece;
      if (endgame === null && sources.size < ENDGAME_SOURCES && !sources.has(peer)) endgame = piece;
    }
    const missing = done.length - done.count;
    return this.#asked.size === missing && peer.requested.size === 0 ? endgame : null;
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
