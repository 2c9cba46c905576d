// The relay through the plugin (docs/protocol.md part 4): one data-channel-only RTCPeerConnection
// to Janus per page carries the peer wire (part 2) to every member we cannot reach directly, its
// text messages sealed under the share's relay key (relay-wire.js sealText). The plugin sees
// member ids, sizes, piece frames' headers and ciphertext, never a key. The server answers for a
// browser that stopped, so a link with bytes in flight and no credit back for LINK_STALL_MS is
// closed (LINK_STALLED); a relay connection lost on our side is hung up (Janus `hangup`) before
// the next `relay`, since the server may still hold its side and would offer nothing new.
import {
  BUFFERED_HIGH_WATERMARK, BUFFERED_LOW_WATERMARK, DATA_CHANNEL_LABEL, LINK_OPEN_TIMEOUT_MS, LINK_STALL_MS,
  RELAY_BUSY_RETRIES, RELAY_BUSY_RETRY_MS, RELAY_GATHERING_TIMEOUT_MS, RELAY_PROBE_INTERVAL_MS,
} from '../config.js';
import { Emitter } from '../emitter.js';
import { frozenMs } from '../frozen.js';
import { LINK_OVERFLOW, LINK_RELAY_LOST, LINK_STALLED, LinkFailure, Outbox } from './outbox.js';
import {
  CreditWindow, KIND_BINARY, KIND_TEXT, RELAY_MAX_TARGETS, RELAY_MESSAGE_MAX, RELAY_PROBE_TYPE, decodeRelayFrame,
  encodeRelayFrame, openText, relayedBytes, sealText,
} from './relay-wire.js';
import { sameBytes } from '../transfer/content.js';
import { PluginError } from './signalling.js';
import { readTextMessage } from './wire.js';

// The plugin's refusal for a target that is not (yet) a relay endpoint of the share.
const ERR_NOT_AN_ENDPOINT = 457;
// The plugin's answer to `relay` when Janus would not take its offer just now.
const ERR_RELAY_BUSY = 470;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PROBE = encoder.encode(JSON.stringify({ t: RELAY_PROBE_TYPE }));

/**
 * Our side of the relay, made on first use and shared by every RelayLink of the page.
 * link({shareId, remoteId, initiator}) -> RelayLink. Once its connection to the server is lost,
 * every link through it is lost and new ones fail at once.
 */
export class RelayChannel {
  #signalling;
  #pc = null;
  #channel = null; // ours, for sending; the plugin may also open channels of its own to us
  #endpoints = new Map(); // share id -> Promise<{peer, window}>, once the endpoint is usable
  #readyPeers = new Set(); // our member ids the plugin said are usable
  #waiting = new Set(); // {peer, resolve, reject}: endpoints waiting for `ready`
  #links = new Map(); // remote member id -> RelayLink
  #windows = new Map(); // remote member id -> CreditWindow: outlives a link, the bytes may not be credited yet
  #error = null;
  #iceServers;
  #linkStallMs;
  #watchTimer = null; // looks for stalled links while bytes are in flight

  // iceServers: the page's RTCIceServer[] (see Swarm). linkStallMs: see LINK_STALL_MS.
  constructor(signalling, iceServers = [], { linkStallMs = LINK_STALL_MS } = {}) {
    this.#signalling = signalling;
    this.#iceServers = iceServers;
    this.#linkStallMs = linkStallMs;
  }

  // key: the share's relay key (content.js openShareKeys), which seals the link's text messages.
  // A new link to a member starts with an empty window: what the old one had in flight went to an
  // endpoint that is gone, or will not be credited (a stalled member), or soon is.
  link({ shareId, remoteId, initiator, key }) {
    this.#links.get(remoteId)?.close(); // frames from that member now belong to the new link
    this.#windows.get(remoteId)?.reset();
    const link = new RelayLink({ relay: this, shareId, remoteId, initiator, key });
    this.#links.set(remoteId, link);
    return link;
  }

  // The connection to the server's relay is gone (or was closed): a new RelayChannel is needed.
  get lost() {
    return this.#error !== null;
  }

  close() {
    this.#lose(new Error('The relay was closed.'));
  }

  // For RelayLink: our endpoint in the share, once usable -> {peer, window}.
  endpoint(shareId) {
    if (this.#error) return Promise.reject(this.#error);
    if (!this.#endpoints.has(shareId)) this.#endpoints.set(shareId, this.#attach(shareId));
    return this.#endpoints.get(shareId);
  }

  // For RelayLink: whether a frame may go now (the channel is open and its buffer not full).
  get writable() {
    return this.#channel?.readyState === 'open' && this.#channel.bufferedAmount < BUFFERED_HIGH_WATERMARK;
  }

  // For RelayLink: sends one frame; the caller checked `writable` and the window. Returns false
  // if the channel threw: the connection to the server's relay is then lost (every relayed link
  // with it, asked for again through a new one), never more.
  transmit(frame) {
    try {
      this.#channel.send(frame);
      return true;
    } catch (error) {
      this.#lose(new Error(`Could not send through the server’s relay: ${error.message}`));
      return false;
    }
  }

  // For RelayLink: the credit window towards a member.
  window(remoteId, size) {
    if (!this.#windows.has(remoteId)) this.#windows.set(remoteId, new CreditWindow(size));
    return this.#windows.get(remoteId);
  }

  // For RelayLink: bytes went out; stalled links are looked for while any are in flight.
  watch() {
    if (this.#watchTimer !== null || this.#error) return;
    const periodMs = this.#linkStallMs / 4;
    const dueAt = performance.now() + periodMs;
    this.#watchTimer = setTimeout(() => {
      this.#watchTimer = null;
      const frozen = frozenMs(dueAt, periodMs);
      if (frozen > 0) for (const window of this.#windows.values()) window.excuse(frozen);
      let inFlight = false;
      for (const link of [...this.#links.values()]) {
        const window = this.#windows.get(link.remoteId);
        if (!window || window.inFlight === 0) continue;
        if (window.stalledMs < this.#linkStallMs) inFlight = true;
        else link.lose(new LinkFailure(LINK_STALLED, 'The other browser took nothing through the server’s relay for a while.'));
      }
      if (inFlight) this.watch();
    }, periodMs);
  }

  // For RelayLink: other links whose next message is the same binary frame as `head` (a seeder
  // serving one piece to several members) and may go now: one upload, copied by the plugin.
  sameFrameAt(link, head) {
    const along = [];
    for (const other of this.#links.values()) {
      if (along.length === RELAY_MAX_TARGETS - 1) break;
      if (other !== link && other.heads(head)) along.push(other);
    }
    return along;
  }

  // For RelayLink: it is closed.
  forget(link) {
    if (this.#links.get(link.remoteId) === link) this.#links.delete(link.remoteId);
  }

  async #attach(shareId) {
    const answer = await this.#askRelay(shareId);
    if (answer.jsep) await this.#accept(answer.jsep);
    else if (!this.#pc) throw new Error('The server offered no relay connection.');
    // A window that cannot hold our largest frame would stall the link for good.
    if (!(answer.window >= relayedBytes(RELAY_MESSAGE_MAX))) throw new Error(`The relay’s window (${answer.window}) is too small.`);
    if (answer.ready) this.#readyPeers.add(answer.peer);
    if (!this.#readyPeers.has(answer.peer)) {
      await new Promise((resolve, reject) => this.#waiting.add({ peer: answer.peer, resolve, reject }));
    }
    return { peer: answer.peer, window: answer.window };
  }

  async #askRelay(shareId) {
    for (let retries = RELAY_BUSY_RETRIES; ; retries--) {
      try {
        return await this.#signalling.relay(shareId);
      } catch (error) {
        if (!(error instanceof PluginError && error.errorCode === ERR_RELAY_BUSY) || retries === 0) throw error;
        await new Promise((resolve) => setTimeout(resolve, RELAY_BUSY_RETRY_MS));
      }
    }
  }

  // The plugin's offer: our answer carries every candidate (see RELAY_GATHERING_TIMEOUT_MS).
  async #accept(offer) {
    const first = !this.#pc;
    if (first) {
      this.#pc = new RTCPeerConnection({ iceServers: this.#iceServers });
      this.#pc.addEventListener('connectionstatechange', () => {
        if (this.#pc.connectionState === 'failed') this.#lose(new LinkFailure(LINK_RELAY_LOST, 'Lost the connection to the server’s relay.'));
      });
      // The plugin may send on a channel it opens itself (e.g. before ours reached it).
      this.#pc.addEventListener('datachannel', ({ channel }) => {
        if (channel.label === DATA_CHANNEL_LABEL) this.#listen(channel);
      });
    }
    await this.#pc.setRemoteDescription(offer);
    if (first) {
      this.#channel = this.#pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true });
      this.#channel.bufferedAmountLowThreshold = BUFFERED_LOW_WATERMARK;
      this.#channel.addEventListener('open', () => this.#pumpAll());
      this.#channel.addEventListener('bufferedamountlow', () => this.#pumpAll());
      this.#listen(this.#channel);
    }
    await this.#pc.setLocalDescription();
    await gathered(this.#pc);
    await this.#signalling.relayAnswer({ type: 'answer', sdp: this.#pc.localDescription.sdp, trickle: false });
  }

  #listen(channel) {
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('message', ({ data }) => this.#onMessage(data));
    channel.addEventListener('close', () => this.#lose(new LinkFailure(LINK_RELAY_LOST, 'The server closed its relay.')));
  }

  #onMessage(data) {
    if (this.#error) return;
    if (typeof data !== 'string') {
      let frame;
      try {
        frame = decodeRelayFrame(data);
      } catch (error) {
        this.#lose(new Error(`The server’s relay sent something else than a relay frame: ${error.message}`));
        return;
      }
      // A frame from a member we hold no link with (not yet, or no more) is not for us to read.
      this.#links.get(frame.source)?.deliver(frame.kind, frame.message);
      return;
    }
    const message = readTextMessage(data);
    switch (message?.t) {
      case 'ready':
        this.#ready(message.peers);
        break;
      case 'credit':
        this.#windows.get(message.to)?.credit(message.bytes);
        this.#links.get(message.to)?.pump();
        break;
      case 'refused':
        this.#refused(message);
        break;
      default:
        console.warn('swarmdrop: ignored a message from the server’s relay:', data);
    }
  }

  #ready(peers) {
    for (const peer of Array.isArray(peers) ? peers : []) this.#readyPeers.add(peer);
    for (const waiter of this.#waiting) {
      if (!this.#readyPeers.has(waiter.peer)) continue;
      this.#waiting.delete(waiter);
      waiter.resolve();
    }
    this.#pumpAll();
  }

  #refused({ to, error_code: code, error }) {
    const reason = `The server’s relay refused a message (${code}: ${error}).`;
    if (to === null || to === undefined) {
      // The whole frame: a quota is used up, or our endpoint is gone; nothing more goes through.
      this.#lose(new Error(reason));
      return;
    }
    if (code === ERR_NOT_AN_ENDPOINT) this.#windows.get(to)?.reset();
    this.#links.get(to)?.refused(code, new Error(reason));
  }

  #pumpAll() {
    for (const link of this.#links.values()) link.pump();
  }

  #lose(error) {
    if (this.#error) return;
    this.#error = error;
    clearTimeout(this.#watchTimer);
    for (const waiter of this.#waiting) waiter.reject(error);
    this.#waiting.clear();
    for (const link of [...this.#links.values()]) link.lose(error);
    if (this.#pc) {
      // The server may still hold its side (our browser stopped until its ICE gave up): its
      // relay state goes, and the next `relay` waits for that and gets a new offer.
      this.#signalling.hangupRelay();
      this.#pc.close();
    }
  }
}

/**
 * A link to one member through the relay, with PeerLink's interface (see transport.js): the
 * initiator asks for it; 'open' once the other member's RelayLink answered our probe (asker) or
 * its first message came (the other side); 'message' (an object with a string `t`), 'data' (an
 * ArrayBuffer), 'lost' (an Error; a LinkFailure when its queue overflowed). Nothing is emitted
 * after close(). Everything sent waits its turn in one Outbox, for credit and the channel.
 */
export class RelayLink extends Emitter {
  path = 'relay';
  #relay;
  #endpoint = null; // {peer, window}: our member's, once usable
  #outbox = new Outbox(); // {kind, data, size, resolve?, from}: waiting for credit or the channel's buffer
  #opened = false;
  #closed = false;
  #openTimer;
  #probeTimer = null;
  #key;
  #ready; // Promise of #endpoint
  // Text is sealed and opened asynchronously: a message waits for those before it (a chain each
  // way, taken while anything is in it), so that frames keep their order (a hash batch before its
  // piece). The counts are the messages in each chain.
  #sending = Promise.resolve();
  #sealing = 0;
  #arrived = Promise.resolve();
  #opening = 0;

  constructor({ relay, shareId, remoteId, initiator, key }) {
    super();
    this.#relay = relay;
    this.remoteId = remoteId;
    this.initiator = initiator;
    this.#key = key;
    this.#openTimer = setTimeout(() => {
      this.lose(new Error('Could not reach the other browser through the server’s relay in time.'));
    }, LINK_OPEN_TIMEOUT_MS);
    this.#ready = relay.endpoint(shareId);
    this.#ready.then((endpoint) => {
      this.#endpoint = endpoint;
      if (initiator) this.#probe();
      this.pump();
    }, (error) => this.lose(new Error(`Could not use the server’s relay: ${error.message}`)));
  }

  get opened() {
    return this.#opened;
  }

  // The relay frame for one target, header included, stays within 65535 bytes.
  get messageSize() {
    return RELAY_MESSAGE_MAX;
  }

  // Nothing to negotiate with the other browser: the relay is set up with the server.
  handleSignal() {}

  // PeerLink's measure(): the round trip through the server is not measured, and the
  // connection to the server reflects no address of ours worth reporting.
  async measure() {
    return { rttMs: null, reflexive: null };
  }

  // PeerLink's send, sendInTurn and sendBinary: after what is already waiting; dropped (false)
  // if the link is not open.
  send(message) {
    this.#write(KIND_TEXT, encoder.encode(JSON.stringify(message)));
  }

  sendInTurn(message) {
    return new Promise((resolve) => this.#write(KIND_TEXT, encoder.encode(JSON.stringify(message)), resolve));
  }

  sendBinary(data) {
    return new Promise((resolve) => this.#write(KIND_BINARY, data, resolve));
  }

  // PeerLink's drained(): sendBinary resolves only once credit let a frame go, so nothing of a
  // piece sent before waits here.
  async drained() {}

  close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#openTimer);
    clearTimeout(this.#probeTimer);
    this.#outbox.clear();
    this.#relay.forget(this);
  }

  // For RelayChannel: a frame from the other member (message: an ArrayBuffer).
  deliver(kind, message) {
    if (this.#closed) return;
    if (kind === KIND_BINARY && this.#opening === 0) {
      this.#take(kind, message);
      return;
    }
    this.#opening += 1;
    this.#arrived = this.#arrived.then(async () => {
      try {
        this.#take(kind, kind === KIND_TEXT ? await this.#unseal(message) : message);
      } finally {
        this.#opening -= 1;
      }
    }).catch((error) => this.lose(new Error(`A message through the server’s relay was refused: ${error.message}`)));
  }

  // A frame from the other member, in the order it came, its text opened. Until a probe opened
  // the link, anything else is left over from an earlier link between the same two members
  // (queued in the server while one of them stopped, sent before this link's first probe): it
  // is dropped, not taken as this link's first message.
  #take(kind, message) {
    if (this.#closed) return;
    const parsed = kind === KIND_TEXT ? readTextMessage(decoder.decode(message)) : null;
    if (kind === KIND_TEXT && parsed === null) {
      this.lose(new Error('The other browser sent a malformed message.'));
      return;
    }
    const probe = parsed?.t === RELAY_PROBE_TYPE;
    if (!this.#opened && !probe) return;
    this.#open();
    if (kind === KIND_BINARY) this.emit('data', message);
    else if (!probe) this.emit('message', parsed);
    else if (!this.initiator) this.#inTurn(KIND_TEXT, PROBE);
  }

  // For RelayChannel: the plugin refused a frame of ours to the other member.
  refused(code, error) {
    // Before it answered, the other member may not have reached the relay yet: the probe repeats.
    if (code === ERR_NOT_AN_ENDPOINT && !this.#opened) return;
    this.lose(code === ERR_NOT_AN_ENDPOINT
      ? new Error('The other browser left the server’s relay.')
      : error);
  }

  // For RelayChannel: sends what waits, while the credit window and the channel's buffer allow;
  // a binary message waiting at the head of other links too goes once to all of them.
  pump() {
    if (this.#closed || !this.#endpoint) return;
    while (this.#outbox.length > 0) {
      const { kind, data } = this.#outbox.head;
      if (!this.#fits(data.length) || !this.#relay.writable) return;
      const links = [this, ...(kind === KIND_BINARY ? this.#relay.sameFrameAt(this, this.#outbox.head) : [])];
      if (!this.#relay.transmit(encodeRelayFrame(kind, this.#endpoint.peer, links.map((link) => link.remoteId), data))) return;
      for (const link of links) link.#sent();
    }
  }

  // For RelayChannel: whether our next message is the binary message `head` of another link of
  // the same member, and may go now.
  heads(head) {
    const next = this.#outbox.head;
    return !this.#closed && this.#endpoint?.peer === head.from && next?.kind === KIND_BINARY
      && this.#fits(next.data.length) && sameBytes(next.data, head.data);
  }

  lose(error) {
    if (this.#closed) return;
    this.close();
    this.emit('lost', error);
  }

  #probe() {
    if (this.#opened || this.#closed) return;
    if (this.#outbox.length === 0 && this.#sealing === 0) this.#inTurn(KIND_TEXT, PROBE);
    this.#probeTimer = setTimeout(() => this.#probe(), RELAY_PROBE_INTERVAL_MS);
  }

  #open() {
    if (this.#opened) return;
    this.#opened = true;
    clearTimeout(this.#openTimer);
    clearTimeout(this.#probeTimer);
    this.emit('open');
  }

  #window() {
    return this.#relay.window(this.remoteId, this.#endpoint.window);
  }

  #fits(length) {
    return this.#window().fits(relayedBytes(length));
  }

  // The head of the queue went out.
  #sent() {
    const { data } = this.#outbox.shift();
    this.#window().spend(relayedBytes(data.length));
    this.#relay.watch();
  }

  // A message of the peer wire, once the link is open.
  #write(kind, data, resolve = null) {
    if (!this.#opened) {
      resolve?.(false);
      return;
    }
    this.#inTurn(kind, data, resolve);
  }

  // Queues a message after those sent before it: text once sealed, a piece frame at once unless
  // something sent before it is still in the chain.
  #inTurn(kind, data, resolve = null) {
    if (kind === KIND_BINARY && this.#sealing === 0) {
      this.#enqueue(kind, data, resolve);
      return;
    }
    this.#sealing += 1;
    this.#sending = this.#sending.then(async () => {
      try {
        this.#enqueue(kind, kind === KIND_TEXT ? await this.#seal(data) : data, resolve);
      } finally {
        this.#sealing -= 1;
      }
    }).catch((error) => {
      resolve?.(false);
      this.lose(new Error(`Could not seal a message for the server’s relay: ${error.message}`));
    });
  }

  // key null: the other member is the server itself, text goes as it is.
  async #seal(text) {
    const { peer } = await this.#ready;
    return this.#key === null ? text : sealText(this.#key, peer, this.remoteId, text);
  }

  async #unseal(sealed) {
    const { peer } = await this.#ready;
    return this.#key === null ? sealed : openText(this.#key, this.remoteId, peer, sealed);
  }

  #enqueue(kind, data, resolve = null) {
    if (this.#closed) {
      resolve?.(false);
      return;
    }
    if (!this.#outbox.push({ kind, data, size: data.length, resolve, from: this.#endpoint?.peer })) {
      resolve?.(false);
      this.lose(new LinkFailure(LINK_OVERFLOW, 'The server’s relay does not take what we send the other browser fast enough.'));
      return;
    }
    this.pump();
  }
}

// Resolves once ICE gathering completed, or after RELAY_GATHERING_TIMEOUT_MS.
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, RELAY_GATHERING_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      resolve();
    });
  });
}
