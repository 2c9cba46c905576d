// Which piece to ask which peer for next. Urgent pieces first: those someone waits for (want: the
// head of a file being sniffed, an MP4's index at its end), then, when a player set a focus, the
// keepAhead pieces from it; each goes to the fastest source with room that has it (a peer not
// measured yet counts as the average), and one asked only of a source slowLinkFactor times
// slower than a fast one with room is asked of the fast one too (the first copy to come wins,
// the other is cancelled). Then rarest first: the missing piece the fewest open links announced,
// ties broken at random, or, with a focus, by nearness after it (one source means in order from
// the playhead). Availability is counted as `have`s come and links close, and missing pieces are
// kept in buckets by it, so a pick looks at the rarest bucket first instead of every piece.
// The owner (the origin) is asked only for urgent pieces and pieces no other open link announced
// (endgame included): receivers fetch what one of them holds from each other, so that the origin
// uploads about one copy (it also refuses pieces other members hold or are getting: seeder.js).
// Likewise a far link (distance(peer), the swarm's: another network by the tracker's tiers, or
// through a relay, farther than the nearest open link) is asked only for urgent pieces and pieces
// no nearer link announced, so that a site fetches a piece across its slow uplink about once and
// passes it around inside. Since what a neighbour is fetching is not announced yet, the near
// members split those pieces among themselves without talking: each piece falls to the one whose
// id hashes lowest with it (the same split in every member that sees the same neighbours), and a
// member fetches another's share from afar only once it has had nothing asked for farWaitMs.
// At the end, when every missing piece is asked of someone, a peer left with nothing to do gets
// the one asked longest ago too (endgame), so that a slow peer does not hold up the last pieces.
// A peer with requests outstanding that has sent nothing for requestIdleMs is quiet (a browser
// that stopped, a stalled link): what is asked only of quiet peers is asked of another source too,
// and a quiet peer's pieces do not count against asking the owner or a far link, nor does the
// near split hold them back: a piece held only by a stalled member and the owner goes to the owner.
import {
  ENDGAME_SOURCES, FAR_WAIT_MS, PLAYER_KEEP_REQUESTS_AHEAD, REQUEST_IDLE_MS, SLOW_LINK_FACTOR,
} from '../config.js';
import { Bitfield } from './bitfield.js';
import { Requests } from './requests.js';

export class Scheduler {
  requests; // Requests: what is asked of whom
  #done; // Bitfield: pieces held or being stored
  #random;
  #keepAhead;
  #endgameSources;
  #slowLinkFactor;
  #available; // Uint16Array: piece -> open links that announced it
  #buckets = [[]]; // availability -> the missing pieces with it, in no order
  #slot; // Int32Array: piece -> its index in its bucket, -1 once done
  #counted = new Map(); // Peer -> Bitfield of its pieces counted in #available
  #distance; // Peer -> how far it is (0 nearest): the swarm's
  #selfId; // () -> our member id, for splitting far fetches with near members
  #nearMembers; // () -> {distance, ids} of near members linked or not (Swarm.nearMembers), or null
  farWaitMs; // how long we wait, with nothing asked, before fetching a near member's part from afar
  #requestIdleMs; // a peer with requests that sent nothing this long is quiet
  #reserve = new Set(); // the owner and far links: asked for what nearer links lack
  #nearest = 0; // the distance of the nearest receiver, linked or listed
  #near = null; // nearMembers() as of the last reclassify()
  #availableReserve; // Uint16Array: piece -> links in #reserve that announced it
  #avoid = new Map(); // piece -> Set of peer ids never to ask for it (sent it bad)
  #paused = new Map(); // piece -> Set of peer ids not to ask for it for now (refused it)
  #focus = null; // where a player reads, or null (no player)
  #wanted = new Set(); // pieces to ask for before any other, in the order wanted

  // done: Bitfield of the pieces held. random() in [0, 1) breaks ties (a test passes a seeded one).
  // distance(peer): how far a linked peer is (Swarm.distanceOf); all equal without one.
  // selfId(): our member id. nearMembers(): Swarm.nearMembers.
  constructor(done, {
    requests = new Requests(), random = Math.random, keepAhead = PLAYER_KEEP_REQUESTS_AHEAD,
    endgameSources = ENDGAME_SOURCES, slowLinkFactor = SLOW_LINK_FACTOR, distance = () => 0, selfId = () => '',
    nearMembers = () => null, farWaitMs = FAR_WAIT_MS, requestIdleMs = REQUEST_IDLE_MS,
  } = {}) {
    this.#requestIdleMs = requestIdleMs;
    this.#nearMembers = nearMembers;
    this.farWaitMs = farWaitMs;
    this.#done = done;
    this.requests = requests;
    this.#random = random;
    this.#keepAhead = keepAhead;
    this.#endgameSources = endgameSources;
    this.#slowLinkFactor = slowLinkFactor;
    this.#distance = distance;
    this.#selfId = selfId;
    this.#available = new Uint16Array(done.length);
    this.#availableReserve = new Uint16Array(done.length);
    this.#slot = new Int32Array(done.length).fill(-1);
    for (let piece = 0; piece < done.length; piece++) {
      if (!done.has(piece)) this.#slot[piece] = this.#buckets[0].push(piece) - 1;
    }
  }

  get complete() {
    return this.#done.complete;
  }

  get focus() {
    return this.#focus;
  }

  // Open links that announced `piece`.
  availability(piece) {
    return this.#available[piece] ?? 0;
  }

  // A player reads from `piece` on: the keepAhead pieces from it are urgent, and ties go to the
  // nearest after it. null: no player any more (rarest first again).
  setFocus(piece) {
    this.#focus = piece === null ? null : Math.min(Math.max(0, Math.trunc(piece) || 0), this.#done.length);
  }

  // These pieces are asked for before any other (until they are done).
  want(pieces) {
    for (const piece of pieces) if (piece >= 0 && piece < this.#done.length && !this.#done.has(piece)) this.#wanted.add(piece);
  }

  // `peer` announced pieces (its `have`, `message`, already added to peer.remote): a bitfield is
  // counted anew, a list of pieces adds those not counted yet.
  have(peer, { bitfield, pieces }) {
    if (bitfield) this.#uncount(peer);
    if (!this.#counted.has(peer)) this.#counted.set(peer, new Bitfield(this.#done.length));
    const counted = this.#counted.get(peer);
    const reserve = this.#reserve.has(peer);
    for (const piece of bitfield ? peer.remote.indices() : pieces) {
      if (!counted.set(piece)) continue;
      this.#move(piece, +1);
      if (reserve) this.#availableReserve[piece] += 1;
    }
    if (bitfield) this.reclassify();
  }

  // The link to `peer` is gone: its pieces no longer count, and what was asked of it ends.
  drop(peer) {
    this.#uncount(peer);
    this.requests.forget(peer);
    this.reclassify();
  }

  // Which links are far (and the owner) anew, after links or their distances changed: farther
  // than the nearest link to a receiver, or than near members the tracker listed (their links may
  // not be open yet: meanwhile what is far is split with them too).
  reclassify() {
    const receivers = [...this.#counted.keys()].filter((peer) => peer.role !== 'owner');
    this.#near = this.#nearMembers();
    const nearest = Math.min(...receivers.map((peer) => this.#distance(peer)), this.#near?.distance ?? Infinity);
    this.#nearest = nearest;
    for (const [peer, counted] of this.#counted) {
      const reserve = peer.role === 'owner' || this.#distance(peer) > nearest;
      if (reserve === this.#reserve.has(peer)) continue;
      if (reserve) this.#reserve.add(peer);
      else this.#reserve.delete(peer);
      for (const piece of counted.indices()) this.#availableReserve[piece] += reserve ? 1 : -1;
    }
  }

  // The next urgent piece to ask and whom, among `peers` (those with room), or null.
  nextUrgent(peers) {
    for (const piece of this.#urgent()) {
      const sources = this.requests.sourcesOf(piece);
      const candidates = peers.filter((peer) => !sources.includes(peer) && this.#askable(piece, peer));
      if (candidates.length === 0) continue;
      const rate = this.#rates();
      // Ties (peers not measured yet) go to a receiver rather than the owner (see #elsewhere).
      const fastest = candidates.reduce((best, peer) => (
        rate(peer) > rate(best) || (rate(peer) === rate(best) && best.role === 'owner') ? peer : best));
      if (sources.length === 0) return { piece, peer: fastest };
      // Asked already: of a slow source only, a fast one with room that would bring it sooner
      // is asked too.
      if (sources.length >= this.#endgameSources) continue;
      const slowest = sources.reduce((worst, peer) => (rate(peer) > rate(worst) ? peer : worst));
      const left = this.requests.get(piece, slowest);
      const bytesLeft = Math.max(0, left.size - left.received);
      if (rate(fastest) >= this.#slowLinkFactor * rate(slowest)
        && (this.requests.bytesOf(fastest) + left.size) / rate(fastest) < bytesLeft / rate(slowest)) {
        return { piece, peer: fastest };
      }
    }
    return null;
  }

  // The piece to ask `peer` for next when nothing urgent is left for it, or null.
  next(peer) {
    const quiet = this.requests.quietPeers(this.#requestIdleMs);
    for (let availability = 1; availability < this.#buckets.length; availability++) {
      const piece = this.#pick(this.#buckets[availability], peer, quiet);
      if (piece !== null) return piece;
    }
    return this.#endgame(peer, quiet);
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

  // The piece arrived intact from `peer`: its requests end (Requests.finish); returns the other
  // peers it was asked of, to cancel there.
  finish(piece, peer) {
    const others = this.requests.finish(piece, peer);
    this.#avoid.delete(piece);
    this.#paused.delete(piece);
    this.#wanted.delete(piece);
    if (!this.#done.set(piece)) return others;
    const bucket = this.#buckets[this.#available[piece]];
    this.#take(bucket, this.#slot[piece]);
    this.#slot[piece] = -1;
    return others;
  }

  // Wanted pieces in the order wanted, then the focus window.
  *#urgent() {
    for (const piece of this.#wanted) {
      if (this.#done.has(piece)) this.#wanted.delete(piece);
      else yield piece;
    }
    if (this.#focus === null) return;
    for (let piece = this.#focus; piece < Math.min(this.#focus + this.#keepAhead, this.#done.length); piece++) {
      if (!this.#done.has(piece)) yield piece;
    }
  }

  // A piece of `bucket` to ask `peer` for: from a random place on, or the nearest after the focus.
  #pick(bucket, peer, quiet) {
    const length = bucket?.length ?? 0;
    if (length === 0) return null;
    const start = this.#focus === null ? Math.floor(this.#random() * length) : 0;
    let best = null;
    let bestDistance = Infinity;
    for (let i = 0; i < length; i++) {
      const piece = bucket[(start + i) % length];
      if ((this.requests.asked(piece) && !this.#stuck(piece, peer, quiet)) || !this.#askable(piece, peer)
        || this.#elsewhere(piece, peer, quiet)) continue;
      if (this.#focus === null) return piece;
      const distance = (piece - this.#focus + this.#done.length) % this.#done.length;
      if (distance < bestDistance) [best, bestDistance] = [piece, distance];
    }
    return best;
  }

  // Every missing piece is asked of someone and `peer` has nothing to do: the piece it can give
  // that was asked longest ago, if asked of fewer than endgameSources peers.
  #endgame(peer, quiet) {
    if (this.requests.countOf(peer) > 0 || this.requests.pieceCount !== this.#done.length - this.#done.count) return null;
    let oldest = null;
    for (const piece of this.requests.pieces) {
      const sources = this.requests.sourcesOf(piece);
      // A piece whose frames all came is being verified: asking it again would only waste bytes.
      if (sources.length >= this.#endgameSources || sources.some((source) => this.requests.get(piece, source).arrived)
        || !this.#askable(piece, peer) || this.#elsewhere(piece, peer, quiet)) continue;
      const askedAt = Math.min(...sources.map((source) => this.requests.get(piece, source).askedAt));
      if (oldest === null || askedAt < oldest.askedAt) oldest = { piece, askedAt };
    }
    return oldest?.piece ?? null;
  }

  #askable(piece, peer) {
    return peer.remote.has(piece) && !this.#avoid.get(piece)?.has(peer.id) && !this.#paused.get(piece)?.has(peer.id);
  }

  // `peer` is the owner and another open link announced `piece`, or a far link and a nearer one
  // did. Links that sent it bad do not count (counted against all holders, so that a piece only
  // a far link can give is never held back); one that refused it is asked again in a moment.
  // A far link (the owner too, when far) is also not asked for a piece that falls to a near member
  // (#fallsToUs), until we have had nothing asked for farWaitMs. Quiet peers (`quiet`) hold nothing
  // here, and a piece asked only of them falls to us.
  #elsewhere(piece, peer, quiet) {
    if (!this.#reserve.has(peer)) return false;
    const owner = peer.role === 'owner';
    let holders = owner ? this.#available[piece] - 1 : this.#available[piece] - this.#availableReserve[piece];
    for (const other of quiet) {
      if (other !== peer && this.#counted.get(other)?.has(piece) && (owner || !this.#reserve.has(other))) holders -= 1;
    }
    if (holders > (this.#avoid.get(piece)?.size ?? 0)) return true;
    return this.#distance(peer) > this.#nearest && this.requests.idleMs < this.farWaitMs
      && !this.#stuck(piece, peer, quiet) && !this.#fallsToUs(piece);
  }

  // `piece` is asked, of quiet peers only, not of `peer`, and of fewer than endgameSources.
  #stuck(piece, peer, quiet) {
    const sources = this.requests.sourcesOf(piece);
    return sources.length > 0 && sources.length < this.#endgameSources && !sources.includes(peer)
      && sources.every((source) => quiet.has(source));
  }

  // Whether `piece` falls to us among the near members (lowest hash of id and piece): those we
  // link with and those the tracker listed.
  #fallsToUs(piece) {
    const ours = splitHash(this.#selfId(), piece);
    for (const peer of this.#counted.keys()) {
      if (!this.#reserve.has(peer) && splitHash(peer.id, piece) < ours) return false;
    }
    for (const id of this.#near?.ids ?? []) if (splitHash(id, piece) < ours) return false;
    return true;
  }

  // peer -> its delivery rate; one not measured yet counts as the average of the open links
  // measured.
  #rates() {
    const measured = [...this.#counted.keys()].map((peer) => this.requests.rateOf(peer)).filter((rate) => rate !== null);
    const average = measured.length > 0 ? measured.reduce((sum, rate) => sum + rate, 0) / measured.length : 1;
    return (peer) => Math.max(this.requests.rateOf(peer) ?? average, 1);
  }

  #uncount(peer) {
    const counted = this.#counted.get(peer);
    if (!counted) return;
    const reserve = this.#reserve.delete(peer);
    this.#counted.delete(peer);
    for (const piece of counted.indices()) {
      this.#move(piece, -1);
      if (reserve) this.#availableReserve[piece] -= 1;
    }
  }

  // Availability of `piece` changes by `step`; a missing piece changes bucket.
  #move(piece, step) {
    const from = this.#available[piece];
    this.#available[piece] = from + step;
    if (this.#slot[piece] < 0) return;
    this.#take(this.#buckets[from], this.#slot[piece]);
    this.#buckets[from + step] ??= [];
    this.#slot[piece] = this.#buckets[from + step].push(piece) - 1;
  }

  // Removes the entry at `index` of `bucket` (the last one takes its place).
  #take(bucket, index) {
    const last = bucket.pop();
    if (index < bucket.length) {
      bucket[index] = last;
      this.#slot[last] = index;
    }
  }
}

// A 32-bit hash of a member id and a piece: FNV-1a over the id, the piece mixed in, then
// MurmurHash3's finaliser, so that every bit of both moves the order.
function splitHash(id, piece) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  hash ^= Math.imul(piece + 1, 0x9e3779b1);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

function addTo(map, piece, id) {
  if (!map.has(piece)) map.set(piece, new Set());
  map.get(piece).add(id);
}
