// Which members of the share we hold links with (docs/protocol.md part 2, "Connecting"), from the
// plugin's ranked peer lists (part 1, "The tracker") and events. A receiver asks for links in the
// order the tracker ranked the members for it, to the owner and to at most `max_links` other
// receivers (later ones ask it), answers offers beyond that with "busy" (twice as many are taken
// once it holds every piece and the owner has left), asks the tracker for a new list when it is
// short of sources, and now and then gives its slowest link's place to a ranked member it has not
// tried; the owner asks for none and accepts every offer. The swarm alone decides bans: a peer
// that broke the wire protocol, asked more than it may, or sent too many bad pieces is banned for
// good. Whatever goes wrong on one link (an error while handling its message, a send that
// failed, its queue overflowing, a link stalled: config.js LINK_STALL_MS) closes that link only,
// never the share, and is no ban. A member our direct
// link to never opened is asked again through the server's relay (docs/protocol.md part 4), and a
// member the plugin lists with "relay": true (the server itself, as the origin of media it
// publishes, part 5) is only ever asked through it.
import {
  LIST_MIN_INTERVAL_MS, MAX_BAD_PIECES, MAX_PEER_RECORDS, MAX_SWARM_LINKS, REPLACE_INTERVAL_MS, REPLACE_SLOW_FRACTION,
  SEEDING_LINKS_FACTOR,
} from '../config.js';
import { Emitter } from '../emitter.js';
import { LINK_RELAY_LOST, LINK_STALLED, LinkFailure } from './outbox.js';
import { BudgetError, Peer } from './peer.js';
import { RelayChannel } from './relay.js';
import { LinkRates } from './tracker.js';
import { PeerLink } from './transport.js';
import { ProtocolError } from './wire.js';

// The most links the plugin's max_links may ask for (its own bound, docs/protocol.md "Limits").
const MAX_LINKS_BOUND = 64;

// The tracker's tiers, nearest first (docs/protocol.md part 1); a member without one is 'other'.
const TIERS = ['same_network', 'same_operator', 'same_country', 'other'];

// Why a member is banned (banReason).
export const BAN_PROTOCOL = 'protocol';
export const BAN_BAD_PIECES = 'bad-pieces';
export const BAN_REQUESTS = 'requests'; // more requests unanswered than REQUEST_BUDGET_WINDOWS allows

/**
 * Events: 'open' (Peer) a link is ready; 'closed' (Peer) a link is gone, with whatever was asked
 * of it; 'idle' (Error or null) no link is open or being set up and no member is left to ask
 * (the last link's failure, if any); 'change' whenever peers or members change.
 * handle(peer, message) is the role's handler of every message (see Peer); a ProtocolError it
 * throws bans the peer (a BudgetError: BAN_REQUESTS), any other error closes that peer's link
 * (failures that are the role's own, not the link's, the role handles itself).
 * settings: {iceServers: RTCIceServer[], relayOnly: () => boolean, testHooks?} (the
 * page's; relay-only: no direct link is tried or accepted, so the other browsers never learn our
 * addresses; testHooks: {originOnly} in bench/swarm.mjs, see #takeJoin).
 */
export class Swarm extends Emitter {
  peers = new Map(); // peer id -> Peer, open or being set up
  members = new Map(); // peer id -> role, for every other member of the share
  #signalling;
  #settings;
  #relayKey = null;
  #shareId;
  #selfId;
  #asks;
  #handle;
  #maxLinks = MAX_SWARM_LINKS;
  #seeding = false; // we hold every piece: we ask nobody, and take more offers once the owner left
  #toAsk = new Set(); // members to ask for a link, best first
  #tried = new Set(); // members we were linked with, or asked, in this share
  #retried = new Set(); // members whose link we asked for again once after losing it
  #replaced = new Set(); // members whose link made room for a better one: not taken again
  #banned = new Map(); // peer id -> BAN_*
  #badPieces = new Map(); // peer id -> pieces from it that failed verification
  #tiers = new Map(); // peer id -> the tracker's tier for it ('same_network', ...)
  #viaRelay = new Set(); // members our direct link to never opened
  #serverMembers = new Set(); // the plugin's own (published media): the relay is that member
  #relay = null; // RelayChannel, made when a link first needs it
  #lastError = null;
  #byPath = new Map(); // link path -> {links, sent, received}: links opened, piece bytes of links closed
  #byRole = new Map(); // member role -> {sent, received}: piece bytes of links closed
  #complete = new Set(); // members known to hold every piece (the tracker said so, or their `have`)
  #records = new Map(); // peer id -> its traffic with us over links now closed (peerMetrics)
  #listedAt = -Infinity;
  #rates = new LinkRates();
  #replaceTimer = null;

  // asks: whether this member asks for links (receivers) or only accepts them (the owner).
  // Made before joining the share, so that no event of it is missed.
  constructor({ signalling, asks, handle, settings = { iceServers: [], relayOnly: () => false } }) {
    super();
    this.#signalling = signalling;
    this.#asks = asks;
    this.#handle = handle;
    this.#settings = settings;
    // The event carries the newcomer's tier for us (docs/protocol.md part 1, "Events").
    signalling.on('peer_joined', ({ peer, role, relay, tier }) => {
      this.#addMember({ peer, role, relay, tier });
      // A receiver that joins asks us; an owner that comes (back) is asked.
      if (role === 'owner') this.#toAsk.add(peer);
      this.emit('change'); // a nearer member may have come
      this.#topUp();
    });
    signalling.on('peer_left', ({ peer }) => {
      this.#drop(this.peers.get(peer));
      this.members.delete(peer);
      this.#complete.delete(peer);
      this.#toAsk.delete(peer);
      this.#tiers.delete(peer);
      this.#topUp();
    });
    signalling.on('signal', ({ from, payload }) => this.#onSignal(from, payload));
  }

  // Our share and peer id, and the join answer: the members present, ranked for us, and the most
  // links to ask for (max_links; MAX_SWARM_LINKS from a plugin that does not say).
  // relayKey: the share's (content.js openShareKeys), for the text of links through the relay.
  start({ shareId, selfId, joined, relayKey }) {
    this.#shareId = shareId;
    this.#selfId = selfId;
    this.#relayKey = relayKey;
    this.#takeJoin(joined);
    if (this.#asks && !this.#seeding) this.#replaceTimer = setInterval(() => this.#replaceSlowest(), REPLACE_INTERVAL_MS);
    this.#topUp();
  }

  // We joined the share again after the server forgot us (it restarted): the members it lists
  // now, plus those our links to are still open (they are joining again too). The server's relay
  // went with the old connection: relayed links are asked for again through a new one.
  rejoin({ selfId, joined }) {
    this.#selfId = selfId;
    const oldRelay = this.#relay;
    this.#relay = null; // the links it loses are asked for again through a new one
    oldRelay?.close();
    this.#retried.clear();
    const linked = new Map([...this.peers.values()].map((peer) => [peer.id, peer.role]));
    this.members = new Map([...linked].filter(([id]) => this.members.has(id)));
    this.#takeJoin(joined);
    for (const id of this.#complete) if (!this.members.has(id)) this.#complete.delete(id);
    this.#topUp();
    this.emit('change');
  }

  #takeJoin({ peers: members = [], max_links: maxLinks }) {
    if (Number.isInteger(maxLinks) && maxLinks >= 1) this.#maxLinks = Math.min(maxLinks, MAX_LINKS_BOUND);
    // Test hook (bench/swarm.mjs): a receiver linked to the owner only, so that the owner serves
    // every receiver itself.
    if (this.#settings.testHooks?.originOnly) this.#maxLinks = 0;
    for (const member of members) {
      this.#addMember(member);
      if (!this.#seeding) this.#toAsk.add(member.peer);
    }
  }

  #addMember({ peer, role, relay, tier, complete }) {
    if (peer === this.#selfId) return;
    this.members.set(peer, role);
    if (complete === true) this.#complete.add(peer);
    if (relay === true) {
      this.#viaRelay.add(peer);
      this.#serverMembers.add(peer);
    }
    if (typeof tier === 'string') this.#tiers.set(peer, tier);
  }

  // We hold every piece: nobody need be asked any more, and once the owner has left we take
  // more offers (newcomers have fewer places to get the pieces from).
  seeding() {
    this.#seeding = true;
    this.#toAsk.clear();
    clearInterval(this.#replaceTimer);
  }

  // The most links to other receivers we ask for or take (the owner's link is on top).
  get maxLinks() {
    return this.#maxLinks;
  }

  // How this page's links went, by path ('lan', 'direct', 'turn', 'relay'): {links opened, piece
  // bytes sent and received}, over the page's life (the metrics of docs/protocol.md part 4).
  pathMetrics() {
    return this.#traffic(this.#byPath, (peer) => peer.link.path, () => ({ links: 0, sent: 0, received: 0 }));
  }

  // The same piece bytes by the other member's role ('owner', 'receiver'): {sent, received}, over
  // the page's life (what came from the origin and what from other receivers: metrics.js).
  roleMetrics() {
    return this.#traffic(this.#byRole, (peer) => peer.role, () => ({ sent: 0, received: 0 }));
  }

  // Totals of links closed (`closed`: key -> totals) plus those of the links open now.
  #traffic(closed, keyOf, blank) {
    const metrics = {};
    for (const [key, totals] of closed) metrics[key] = { ...totals };
    for (const peer of this.peers.values()) {
      if (!peer.open) continue;
      const totals = metrics[keyOf(peer)] ??= blank();
      totals.sent += peer.uploadedBytes;
      totals.received += peer.downloadedBytes;
    }
    return metrics;
  }

  // The other members known to hold every piece: the owner, those the tracker listed complete,
  // and those whose `have` said so (over a link open now or closed; a member stays counted until
  // it leaves the share).
  completeMembers() {
    const complete = new Set([...this.members].filter(([, role]) => role === 'owner').map(([id]) => id));
    for (const id of this.#complete) if (this.members.has(id)) complete.add(id);
    for (const peer of this.peers.values()) if (peer.remote?.complete && this.members.has(peer.id)) complete.add(peer.id);
    return complete.size;
  }

  /**
   * One row per member we were linked with in this page load (the latest MAX_PEER_RECORDS of
   * those whose links closed): {peer, role, tier (the tracker's, or null), phase: 'connecting' |
   * 'open' | 'gone' | 'banned', ban (BAN_* or null), path (the latest link's that opened, null
   * before one did: a link being set up has none yet), pieces (it
   * announced), bad (pieces from it that failed verification), downloadedBytes, uploadedBytes
   * (piece bytes, over all its links), byPath: {path: {sent, received}}}.
   */
  peerMetrics() {
    const rows = new Map();
    for (const [id, record] of this.#records) rows.set(id, { ...record, byPath: structuredClone(record.byPath) });
    for (const peer of this.peers.values()) {
      const row = rows.get(peer.id) ?? this.#newRecord(peer);
      row.role = peer.role;
      if (peer.open) row.path = peer.link.path;
      row.pieces = peer.remote?.count ?? row.pieces;
      if (peer.open) addTraffic(row, peer);
      rows.set(peer.id, row);
    }
    return [...rows.values()].map((row) => ({
      ...row,
      tier: this.#tiers.get(row.peer) ?? row.tier,
      phase: this.#phaseOf(row.peer),
      ban: this.#banned.get(row.peer) ?? null,
      bad: this.#badPieces.get(row.peer) ?? 0,
    }));
  }

  #phaseOf(id) {
    if (this.#banned.has(id)) return 'banned';
    const peer = this.peers.get(id);
    if (!peer) return 'gone';
    return peer.open ? 'open' : 'connecting';
  }

  #newRecord(peer) {
    return {
      peer: peer.id, role: peer.role, tier: null, path: null, pieces: 0, downloadedBytes: 0, uploadedBytes: 0, byPath: {},
    };
  }

  #pathTotals(path) {
    if (!this.#byPath.has(path)) this.#byPath.set(path, { links: 0, sent: 0, received: 0 });
    return this.#byPath.get(path);
  }

  #roleTotals(role) {
    if (!this.#byRole.has(role)) this.#byRole.set(role, { sent: 0, received: 0 });
    return this.#byRole.get(role);
  }

  get idle() {
    return this.peers.size === 0;
  }

  get ownerPresent() {
    return [...this.members.values()].includes('owner');
  }

  // A piece from `peer` failed verification: MAX_BAD_PIECES of them, over all its links, ban it.
  badPiece(peer) {
    const count = (this.#badPieces.get(peer.id) ?? 0) + 1;
    this.#badPieces.set(peer.id, count);
    if (count >= MAX_BAD_PIECES) this.#ban(peer, BAN_BAD_PIECES);
    else this.emit('change');
  }

  // `peer` had requests of ours outstanding and sent nothing for LINK_STALL_MS (Downloader): its
  // link is closed as if lost (asked for again once, as any link that worked), and what was
  // asked of it goes elsewhere (the 'closed' event).
  stalled(peer) {
    if (this.peers.get(peer.id) !== peer) return;
    const error = new LinkFailure(LINK_STALLED, 'The other browser sent nothing for a while though asked.');
    console.warn(`swarmdrop: closed the link to peer ${peer.id}: ${error.message}`);
    this.#onLost(peer, error);
  }

  close() {
    clearInterval(this.#replaceTimer);
    for (const peer of this.peers.values()) this.#drop(peer);
    this.#relay?.close();
  }

  #ban(peer, reason) {
    this.#banned.set(peer.id, reason);
    this.#toAsk.delete(peer.id);
    this.#drop(peer);
    this.#topUp();
    this.emit('change');
  }

  #onSignal(from, payload) {
    const existing = this.peers.get(from);
    // {kind:'busy'}: ask another member. {kind:'use_relay'}: the other member takes no direct
    // link (relay-only): ask it again through the relay at once.
    if (payload?.kind === 'busy' || payload?.kind === 'use_relay') {
      if (existing?.link.initiator && !existing.open && existing.link.path !== 'relay') {
        if (payload.kind === 'use_relay') {
          this.#viaRelay.add(from);
          this.#toAsk.add(from);
        }
        this.#drop(existing);
        this.#topUp();
      }
      return;
    }
    // {kind:'relay'}: the asker's direct link to us never opened; it asks again through the relay.
    const relayed = payload?.kind === 'relay';
    if (relayed || (payload?.kind === 'sdp' && payload.sdp?.type === 'offer')) {
      // Relay-only: a direct offer is answered "use the relay".
      if (!relayed && this.#settings.relayOnly()) {
        this.#sendSignal(from, { kind: 'use_relay' }).catch(() => {});
        return;
      }
      // Both asked at once: the offer of the member with the smaller id goes on.
      if (existing?.link.initiator && !existing.open && this.#selfId < from) return;
      const full = this.#asks && this.#receiverLinks() >= this.#acceptCap();
      const farther = full && this.#fartherThan(from);
      if (existing) {
        this.#drop(existing); // the other side gave up on that link and starts a new one
      } else if (this.#banned.has(from) || this.#replaced.has(from) || (full && !farther)) {
        this.#sendSignal(from, { kind: 'busy' }).catch(() => {});
        return;
      } else if (farther) {
        this.#replaced.add(farther.id);
        this.#drop(farther);
      }
      this.#link(from, false, relayed);
    }
    this.peers.get(from)?.link.handleSignal(payload);
  }

  #acceptCap() {
    return this.#seeding && !this.ownerPresent ? SEEDING_LINKS_FACTOR * this.#maxLinks : this.#maxLinks;
  }

  // Asks the members still to ask, best first, while there is room; the owner is always asked
  // (it has every piece, and a share the server publishes has no other source at first). Short
  // of sources with nobody left to ask, a new ranked list is asked of the tracker.
  #topUp() {
    if (this.#asks) {
      for (const id of this.#toAsk) {
        if (this.peers.has(id) || !this.members.has(id) || this.#banned.has(id)) {
          this.#toAsk.delete(id);
          continue;
        }
        if (this.members.get(id) !== 'owner' && this.#receiverLinks() >= this.#maxLinks) continue;
        this.#toAsk.delete(id);
        this.#link(id, true, this.#settings.relayOnly() || this.#viaRelay.has(id));
      }
      if (!this.#seeding && this.#receiverLinks() < this.#maxLinks && this.#toAsk.size === 0) this.#askForMore();
    }
    if (this.peers.size === 0) this.emit('idle', this.#lastError);
  }

  // A new ranked list from the tracker, unless one was asked less than LIST_MIN_INTERVAL_MS ago:
  // its members' tiers are taken in, and those we have not tried are asked, best first, while we
  // fetch and have room (or kept to replace a slow link).
  async #askForMore() {
    if (!this.#shareId || performance.now() - this.#listedAt < LIST_MIN_INTERVAL_MS) return;
    this.#listedAt = performance.now();
    let answer;
    try {
      answer = await this.#signalling.list(this.#shareId);
    } catch {
      return; // asked again in its turn
    }
    for (const member of answer.peers ?? []) {
      if (member.peer === this.#selfId) continue;
      this.#addMember(member);
      if (!this.#seeding && !this.#tried.has(member.peer) && !this.#replaced.has(member.peer)) this.#toAsk.add(member.peer);
    }
    this.emit('change'); // tiers may have changed
    this.#topUp();
  }

  get selfId() {
    return this.#selfId;
  }

  // The receivers the tracker placed nearest to us (same network, operator or country: its best
  // tier among them), linked or not yet, and their distance (as distanceOf counts it); null when
  // it placed none nearer than 'other'. The scheduler counts on them to fetch their part of what
  // is far (scheduler.js).
  nearMembers() {
    let best = TIERS.length - 1;
    let ids = [];
    for (const [id, tier] of this.#tiers) {
      const rank = TIERS.indexOf(tier);
      if (rank < 0 || rank > best || this.members.get(id) !== 'receiver') continue;
      if (rank < best) [best, ids] = [rank, []];
      ids.push(id);
    }
    return ids.length > 0 && best < TIERS.length - 1 ? { distance: best * 2, ids } : null;
  }

  // How far a linked peer is, for the scheduler (0 nearest): the tracker's tier, then whether the
  // link goes through a relay (TURN or the server's), which costs the most.
  distanceOf(peer) {
    const tier = TIERS.indexOf(this.#tiers.get(peer.id));
    return (tier < 0 ? TIERS.length - 1 : tier) * 2 + (peer.link.path === 'relay' || peer.link.path === 'turn' ? 1 : 0);
  }

  // Our link to another receiver in the farthest tier, if that tier is farther than `id`'s: it
  // makes room for `id` (a newcomer on our network asks a receiver that filled its links with
  // farther ones while it was alone there).
  #fartherThan(id) {
    const rank = (peer) => TIERS.indexOf(this.#tiers.get(peer) ?? 'other');
    const links = [...this.peers.values()].filter((peer) => peer.role !== 'owner');
    const farthest = links.sort((a, b) => rank(b.id) - rank(a.id))[0];
    return farthest && rank(farthest.id) > rank(id) ? farthest : null;
  }

  // The slowest link to another receiver, over the last REPLACE_INTERVAL_MS, under
  // REPLACE_SLOW_FRACTION of the median of our links' rates, makes room for the best member not
  // tried yet (one is asked of the tracker when none is known).
  #replaceSlowest() {
    const open = [...this.peers.values()].filter((peer) => peer.open);
    const rates = this.#rates.sample(open);
    const measured = open.filter((peer) => rates.has(peer.id));
    if (measured.length < 2) return;
    const downs = measured.map((peer) => rates.get(peer.id).down).sort((a, b) => a - b);
    const median = downs[downs.length >> 1];
    const slowest = measured.filter((peer) => peer.role !== 'owner')
      .sort((a, b) => rates.get(a.id).down - rates.get(b.id).down)[0];
    if (!slowest || !(rates.get(slowest.id).down < median * REPLACE_SLOW_FRACTION)) return;
    const untried = [...this.#toAsk].some((id) => this.members.has(id) && !this.#tried.has(id) && !this.peers.has(id));
    if (!untried) {
      this.#askForMore();
      return;
    }
    this.#replaced.add(slowest.id);
    this.#drop(slowest);
    this.#topUp();
  }

  #receiverLinks() {
    return [...this.peers.values()].filter((peer) => peer.role !== 'owner').length;
  }

  #link(id, initiator, relayed) {
    this.#tried.add(id);
    const link = relayed
      ? this.#relayLink(id, initiator)
      : new PeerLink({ initiator, sendSignal: (payload) => this.#sendSignal(id, payload), iceServers: this.#settings.iceServers });
    const peer = new Peer({ id, role: this.members.get(id) ?? 'receiver', link, handle: this.#handle });
    peer.on('open', () => {
      this.#retried.delete(id); // a link that works again is asked for again once more when lost
      this.#pathTotals(peer.link.path).links += 1;
      this.emit('open', peer);
      this.emit('change');
    });
    peer.on('lost', (error) => this.#onLost(peer, error));
    peer.on('fault', (error) => {
      if (!(error instanceof ProtocolError)) {
        console.warn(`swarmdrop: closed the link to peer ${peer.id}: ${error.message}`);
        this.#onLost(peer, error);
        return;
      }
      console.warn(`swarmdrop: disconnected peer ${peer.id} for good: ${error.message}`);
      this.#ban(peer, error instanceof BudgetError ? BAN_REQUESTS : BAN_PROTOCOL);
    });
    this.peers.set(id, peer);
    this.emit('change');
  }

  // The asker tells the other member first, so that it sets up its side of the relayed link.
  #relayLink(id, initiator) {
    if (!this.#relay || this.#relay.lost) this.#relay = new RelayChannel(this.#signalling, this.#settings.iceServers);
    // Text to the server's own member is not sealed: it is the server, which made the content
    // and holds its keys (docs/protocol.md part 4, "What the relay sees").
    const key = this.#serverMembers.has(id) ? null : this.#relayKey;
    const link = this.#relay.link({ shareId: this.#shareId, remoteId: id, initiator, key });
    if (initiator) {
      this.#sendSignal(id, { kind: 'relay' }).catch((error) => {
        link.lose(new Error(`Could not reach the other browser through the server: ${error.message}`));
      });
    }
    return link;
  }

  #onLost(peer, error) {
    if (this.peers.get(peer.id) !== peer) return;
    this.#lastError = error;
    // A direct link we asked for that never opened (the two browsers cannot reach each other) is
    // asked for through the relay; a link that worked is asked for once more (until one opens
    // again), and one lost with the connection to the server's relay (the member is not at fault:
    // e.g. our browser stopped until that connection's ICE gave up) through a new one; else it
    // is final.
    if (peer.link.initiator && !peer.link.opened && peer.link.path === 'direct') {
      this.#viaRelay.add(peer.id);
      this.#toAsk.add(peer.id);
    } else if (peer.link.initiator && error?.code === LINK_RELAY_LOST) {
      this.#toAsk.add(peer.id);
    } else if (peer.link.initiator && peer.link.opened && !this.#retried.has(peer.id)) {
      this.#retried.add(peer.id);
      this.#toAsk.add(peer.id);
    }
    this.#drop(peer);
    this.#topUp();
  }

  #drop(peer) {
    if (!peer || this.peers.get(peer.id) !== peer) return;
    this.peers.delete(peer.id);
    if (peer.link.opened) {
      for (const totals of [this.#pathTotals(peer.link.path), this.#roleTotals(peer.role)]) {
        totals.sent += peer.uploadedBytes;
        totals.received += peer.downloadedBytes;
      }
    }
    if (peer.remote?.complete && this.members.has(peer.id)) this.#complete.add(peer.id);
    if (peer.link.opened || this.#banned.has(peer.id)) this.#keepRecord(peer);
    peer.close();
    this.emit('closed', peer);
    this.emit('change');
  }

  // What a closed link carried, added to its member's record; the oldest records go first.
  #keepRecord(peer) {
    const record = this.#records.get(peer.id) ?? this.#newRecord(peer);
    this.#records.delete(peer.id); // re-inserted last: the most recent
    Object.assign(record, { role: peer.role, path: peer.link.path, tier: this.#tiers.get(peer.id) ?? record.tier });
    record.pieces = peer.remote?.count ?? record.pieces;
    addTraffic(record, peer);
    this.#records.set(peer.id, record);
    for (const id of this.#records.keys()) {
      if (this.#records.size <= MAX_PEER_RECORDS) break;
      this.#records.delete(id);
    }
  }

  #sendSignal(to, payload) {
    return this.#signalling.signal(this.#shareId, to, payload);
  }
}

// A link's piece bytes added to a member's traffic record.
function addTraffic(record, peer) {
  record.downloadedBytes += peer.downloadedBytes;
  record.uploadedBytes += peer.uploadedBytes;
  const path = record.byPath[peer.link.path] ??= { sent: 0, received: 0 };
  path.sent += peer.uploadedBytes;
  path.received += peer.downloadedBytes;
}
