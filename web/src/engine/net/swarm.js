// Which members of the share we hold links with (docs/protocol.md part 2, "Connecting"), from the
// plugin's peer list and events. A receiver asks for links to the owner and to at most
// MAX_SWARM_LINKS other receivers present when it joined (later ones ask it), and answers offers
// beyond that with "busy"; the owner asks for none and accepts every offer. A peer that broke
// the wire protocol or sent too many bad pieces is banned for good. A member our direct link to
// never opened is asked again through the server's relay (docs/protocol.md part 4), and a member
// the plugin lists with "relay": true (the server itself, as the origin of media it publishes,
// part 5) is only ever asked through it.
import { MAX_SWARM_LINKS } from '../config.js';
import { Emitter } from '../emitter.js';
import { Peer } from './peer.js';
import { RelayChannel } from './relay.js';
import { PeerLink } from './transport.js';
import { ProtocolError } from './wire.js';

// Relay-only: no direct link is tried or accepted, so the other browsers never learn our
// addresses. Set by a test or the page before links are made.
const relayOnly = () => globalThis.swarmdropRelayOnly === true;

/**
 * Events: 'open' (Peer) a link is ready; 'closed' (Peer) a link is gone, with whatever was asked
 * of it; 'idle' (Error or null) no link is open or being set up and no member is left to ask
 * (the last link's failure, if any); 'error' (Error) the role's handler failed, not the peer's
 * fault; 'change' whenever peers or members change.
 * handle(peer, message) is the role's handler of every message (see Peer); a ProtocolError it
 * throws bans the peer.
 */
export class Swarm extends Emitter {
  peers = new Map(); // peer id -> Peer, open or being set up
  members = new Map(); // peer id -> role, for every other member of the share
  #signalling;
  #shareId;
  #selfId;
  #asks;
  #handle;
  #toAsk = new Set(); // members to ask for a link
  #retried = new Set(); // members whose link we asked for again once after losing it
  #banned = new Set();
  #viaRelay = new Set(); // members our direct link to never opened
  #relay = null; // RelayChannel, made when a link first needs it
  #lastError = null;
  #byPath = new Map(); // link path -> {links, sent, received}: links opened, piece bytes of links closed

  // asks: whether this member asks for links (receivers) or only accepts them (the owner).
  // Made before joining the share, so that no event of it is missed.
  constructor({ signalling, asks, handle }) {
    super();
    this.#signalling = signalling;
    this.#asks = asks;
    this.#handle = handle;
    signalling.on('peer_joined', ({ peer, role, relay }) => {
      this.#addMember(peer, role, relay);
      // A receiver that joins asks us; an owner that comes (back) is asked.
      if (role === 'owner') this.#toAsk.add(peer);
      this.#topUp();
    });
    signalling.on('peer_left', ({ peer }) => {
      this.members.delete(peer);
      this.#toAsk.delete(peer);
      this.#drop(this.peers.get(peer));
      this.#topUp();
    });
    signalling.on('signal', ({ from, payload }) => this.#onSignal(from, payload));
  }

  // Our share and peer id, and the members present when we joined (the join answer's `peers`).
  start({ shareId, selfId, members }) {
    this.#shareId = shareId;
    this.#selfId = selfId;
    for (const { peer, role, relay } of members) {
      this.#addMember(peer, role, relay);
      this.#toAsk.add(peer);
    }
    this.#topUp();
  }

  #addMember(peer, role, relayOnlyMember) {
    this.members.set(peer, role);
    if (relayOnlyMember === true) this.#viaRelay.add(peer);
  }

  // We joined the share again after the server forgot us (it restarted): the members it lists
  // now, plus those our links to are still open (they are joining again too). The server's relay
  // went with the old connection: relayed links are asked for again through a new one.
  rejoin({ selfId, members }) {
    this.#selfId = selfId;
    const oldRelay = this.#relay;
    this.#relay = null; // the links it loses are asked for again through a new one
    oldRelay?.close();
    this.#retried.clear();
    const linked = new Map([...this.peers.values()].map((peer) => [peer.id, peer.role]));
    this.members = new Map([...linked].filter(([id]) => this.members.has(id)));
    for (const { peer, role, relay } of members) {
      this.#addMember(peer, role, relay);
      this.#toAsk.add(peer);
    }
    this.#topUp();
    this.emit('change');
  }

  // How this page's links went, by path ('lan', 'direct', 'turn', 'relay'): {links opened, piece
  // bytes sent and received}, over the page's life (the metrics of docs/protocol.md part 4).
  pathMetrics() {
    const metrics = {};
    for (const [path, totals] of this.#byPath) metrics[path] = { ...totals };
    for (const peer of this.peers.values()) {
      if (!peer.open) continue;
      const totals = metrics[peer.link.path] ??= { links: 0, sent: 0, received: 0 };
      totals.sent += peer.uploadedBytes;
      totals.received += peer.downloadedBytes;
    }
    return metrics;
  }

  #pathTotals(path) {
    if (!this.#byPath.has(path)) this.#byPath.set(path, { links: 0, sent: 0, received: 0 });
    return this.#byPath.get(path);
  }

  get idle() {
    return this.peers.size === 0;
  }

  get ownerPresent() {
    return [...this.members.values()].includes('owner');
  }

  broadcast(message, except = null) {
    for (const peer of this.peers.values()) if (peer.open && peer !== except) peer.send(message);
  }

  ban(peer) {
    this.#banned.add(peer.id);
    this.#toAsk.delete(peer.id);
    this.#drop(peer);
    this.#topUp();
  }

  close() {
    for (const peer of this.peers.values()) this.#drop(peer);
    this.#relay?.close();
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
      if (!relayed && relayOnly()) {
        this.#sendSignal(from, { kind: 'use_relay' }).catch(() => {});
        return;
      }
      // Both asked at once: the offer of the member with the smaller id goes on.
      if (existing?.link.initiator && !existing.open && this.#selfId < from) return;
      if (existing) {
        this.#drop(existing); // the other side gave up on that link and starts a new one
      } else if (this.#banned.has(from) || (this.#asks && this.#receiverLinks() >= MAX_SWARM_LINKS)) {
        this.#sendSignal(from, { kind: 'busy' }).catch(() => {});
        return;
      }
      this.#link(from, false, relayed);
    }
    this.peers.get(from)?.link.handleSignal(payload);
  }

  #topUp() {
    if (this.#asks) {
      // The owner first: it has every piece.
      const order = [...this.#toAsk].sort((a, b) => (this.members.get(b) === 'owner') - (this.members.get(a) === 'owner'));
      for (const id of order) {
        if (this.peers.has(id) || !this.members.has(id)) continue;
        if (this.members.get(id) !== 'owner' && this.#receiverLinks() >= MAX_SWARM_LINKS) continue;
        this.#toAsk.delete(id);
        this.#link(id, true, relayOnly() || this.#viaRelay.has(id));
      }
    }
    if (this.peers.size === 0) this.emit('idle', this.#lastError);
  }

  #receiverLinks() {
    return [...this.peers.values()].filter((peer) => peer.role !== 'owner').length;
  }

  #link(id, initiator, relayed) {
    const link = relayed
      ? this.#relayLink(id, initiator)
      : new PeerLink({ initiator, sendSignal: (payload) => this.#sendSignal(id, payload) });
    const peer = new Peer({ id, role: this.members.get(id) ?? 'receiver', link, handle: this.#handle });
    peer.on('open', () => {
      this.#pathTotals(peer.link.path).links += 1;
      this.emit('open', peer);
      this.emit('change');
    });
    peer.on('lost', (error) => this.#onLost(peer, error));
    peer.on('fault', (error) => {
      if (!(error instanceof ProtocolError)) {
        this.emit('error', error);
        return;
      }
      console.warn(`swarmdrop: disconnected peer ${peer.id} for good: ${error.message}`);
      this.ban(peer);
    });
    this.peers.set(id, peer);
    this.emit('change');
  }

  // The asker tells the other member first, so that it sets up its side of the relayed link.
  #relayLink(id, initiator) {
    if (!this.#relay || this.#relay.lost) this.#relay = new RelayChannel(this.#signalling);
    const link = this.#relay.link({ shareId: this.#shareId, remoteId: id, initiator });
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
    // asked for through the relay; a link that worked is asked for once more; else it is final.
    if (peer.link.initiator && !peer.link.opened && peer.link.path === 'direct') {
      this.#viaRelay.add(peer.id);
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
      const totals = this.#pathTotals(peer.link.path);
      totals.sent += peer.uploadedBytes;
      totals.received += peer.downloadedBytes;
    }
    peer.close();
    this.emit('closed', peer);
    this.emit('change');
  }

  #sendSignal(to, payload) {
    return this.#signalling.signal(this.#shareId, to, payload);
  }
}
