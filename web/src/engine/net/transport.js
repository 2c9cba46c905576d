// One direct browser-to-browser link: an RTCPeerConnection with one data channel (docs/protocol.md,
// part 2, "Connecting"). Signalling payloads travel through the plugin; this module only builds
// and reads them.
import {
  BUFFERED_HIGH_WATERMARK,
  BUFFERED_LOW_MIN_BYTES,
  BUFFERED_LOW_SECONDS,
  BUFFERED_LOW_WATERMARK,
  CHUNK_SIZE_CAP,
  CHUNK_SIZE_FALLBACK,
  DATA_CHANNEL_LABEL,
  ICE_BATCH_MAX_BYTES,
  ICE_BATCH_MS,
  LINK_OPEN_TIMEOUT_MS,
  PATH_CANDIDATES_WAIT_MS,
  REMOTE_CANDIDATES_MAX,
} from '../config.js';
import { Emitter } from '../emitter.js';
import {
  LINK_OVERFLOW, LINK_SEND_FAILED, LinkFailure, Outbox,
} from './outbox.js';
import { readTextMessage } from './wire.js';

/**
 * The side that asks for the link is the initiator: it creates the channel and the offer.
 * `sendSignal(payload)` must deliver a payload to the other side and return a promise.
 * Events: 'open'; 'message' (a parsed text message, an object with a string `t`);
 * 'data' (an ArrayBuffer); 'lost' (an Error; a LinkFailure when it closed itself: its queue
 * overflowed or its channel threw): the link failed or the far end closed it.
 * Nothing is emitted after close(). Everything sent waits its turn in one Outbox.
 */
export class PeerLink extends Emitter {
  // How the bytes go, known once open (RelayLink's is 'relay'): 'lan' (both sides' own addresses,
  // in one /24 or /64), 'direct' (across networks or NATs), 'turn' (through a TURN server).
  path = 'direct';
  #pc;
  #channel = null;
  #outbox = new Outbox();
  #sendSignal;
  #queuedCandidates = []; // remote candidates that came before the remote description
  #remoteCandidates = 0; // taken so far (at most REMOTE_CANDIDATES_MAX)
  #remoteHosts = new Set(); // the addresses the other side signalled as its own (host candidates)
  #remoteGathered; // resolves once the other side's last candidate came
  #remoteDone;
  #candidates = []; // ours, gathered since the last batch went
  #batchTimer = null;
  #opened = false;
  #closed = false;
  #closing = new AbortController(); // aborted by close(): drained() waits no longer
  #openTimer;
  #handedBytes = 0; // bytes handed to the channel, ever
  #drainRate = null; // bytes/s the channel's buffer last drained at while it held more than the low mark
  #now;

  // iceServers: the page's RTCIceServer[] (STUN/TURN), [] for host candidates only. now(): ms (tests).
  constructor({ initiator, sendSignal, iceServers = [], now = () => performance.now() }) {
    super();
    this.#now = now;
    this.initiator = initiator;
    this.#sendSignal = sendSignal;
    this.#remoteGathered = new Promise((resolve) => { this.#remoteDone = resolve; });
    this.#pc = new RTCPeerConnection({ iceServers });
    this.#pc.addEventListener('icecandidate', ({ candidate }) => {
      // A null candidate: gathering is over, what is gathered goes now and says so.
      if (!candidate) {
        this.#sendCandidates(true);
        return;
      }
      this.#candidates.push(candidate.toJSON());
      this.#batchTimer ??= setTimeout(() => this.#sendCandidates(false), ICE_BATCH_MS);
    });
    this.#pc.addEventListener('connectionstatechange', () => {
      if (this.#pc.connectionState !== 'failed') return;
      if (this.#opened) this.#lose(new Error('The direct connection between the two browsers was lost.'));
      else this.#loseUnopened();
    });
    this.#openTimer = setTimeout(() => this.#loseUnopened(), LINK_OPEN_TIMEOUT_MS);
    if (initiator) {
      this.#setUpChannel(this.#pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true }));
      this.#sendOffer();
    } else {
      this.#pc.addEventListener('datachannel', ({ channel }) => {
        if (channel.label === DATA_CHANNEL_LABEL) this.#setUpChannel(channel);
      });
    }
  }

  // Whether the data channel ever opened.
  get opened() {
    return this.#opened;
  }

  // Largest binary message this link carries.
  get messageSize() {
    const limit = this.#pc.sctp?.maxMessageSize;
    return limit > 0 ? Math.min(limit, CHUNK_SIZE_CAP) : CHUNK_SIZE_FALLBACK;
  }

  // Feeds one signalling payload that came from the other side.
  async handleSignal(payload) {
    try {
      if (payload?.kind === 'sdp') {
        await this.#pc.setRemoteDescription(payload.sdp);
        for (const line of payload.sdp.sdp?.split(/\r?\n/) ?? []) if (line.startsWith('a=candidate:')) this.#noteHost(line.slice(2));
        await this.#addCandidates(this.#queuedCandidates.splice(0));
        if (payload.sdp.type === 'offer') {
          await this.#pc.setLocalDescription();
          this.#signal({ kind: 'sdp', sdp: this.#pc.localDescription.toJSON() });
        }
      } else if (payload?.kind === 'ice') {
        // A batch; older clients send one candidate a time, null for the end.
        const batch = Array.isArray(payload.candidates) ? [...payload.candidates] : [payload.candidate].filter(Boolean);
        // null: the end of the other side's candidates, after them.
        if (payload.done === true || payload.candidate === null) batch.push(null);
        this.#remoteCandidates += batch.length;
        if (this.#remoteCandidates > REMOTE_CANDIDATES_MAX) throw new Error('the other browser sent too many ICE candidates');
        if (this.#pc.remoteDescription) await this.#addCandidates(batch);
        else this.#queuedCandidates.push(...batch);
        if (batch.at(-1) === null) this.#remoteDone();
      }
    } catch (error) {
      this.#lose(new Error(`Could not set up the direct connection: ${error.message}`));
    }
  }

  // Sends a text message (an object, as JSON) after what already waits, and does not wait.
  send(message) {
    this.#write(JSON.stringify(message));
  }

  // The same, resolving once the message is handed to the channel (false if the link closed
  // first): for what must not pile up (a greeting, a reject).
  sendInTurn(message) {
    return new Promise((resolve) => this.#write(JSON.stringify(message), resolve));
  }

  // Sends one binary message; resolves once it is handed to the channel (no acknowledgements:
  // SCTP is reliable and ordered), or to false if the link closed first. Callers send one
  // message at a time.
  sendBinary(data) {
    return new Promise((resolve) => this.#write(data, resolve));
  }

  // Resolves once nothing waits in our queue and the channel's buffer is down to the low mark
  // (lowMark, or the link closed): a sender that starts its next piece only then keeps what is
  // not sent yet in its own queue, where a cancel can still take it out, and the pipe never runs
  // dry meanwhile. Each wait measures the link's rate: the buffer held more than the mark
  // throughout, so it drained as fast as the link sends.
  async drained() {
    const channel = this.#channel;
    while (!this.#closed && channel?.readyState === 'open'
      && (this.#outbox.length > 0 || channel.bufferedAmount > this.lowMark)) {
      channel.bufferedAmountLowThreshold = this.lowMark;
      const from = { at: this.#now(), left: this.#handedBytes - channel.bufferedAmount };
      await this.#bufferDrained();
      const ms = this.#now() - from.at;
      const left = this.#handedBytes - channel.bufferedAmount - from.left;
      if (!this.#closed && ms > 0 && left > 0) this.#drainRate = (left * 1000) / ms;
    }
  }

  // The low mark (config.js BUFFERED_LOW_SECONDS): what the link sends in that long, bounded.
  get lowMark() {
    if (this.#drainRate === null) return BUFFERED_LOW_MIN_BYTES;
    return Math.round(Math.min(BUFFERED_LOW_WATERMARK, Math.max(BUFFERED_LOW_MIN_BYTES, this.#drainRate * BUFFERED_LOW_SECONDS)));
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#openTimer);
    clearTimeout(this.#batchTimer);
    this.#outbox.clear();
    this.#closing.abort();
    this.#channel?.close();
    this.#pc.close();
  }

  // Queues one message (a string or bytes) and sends what may go.
  #write(data, resolve = null) {
    if (this.#closed) {
      resolve?.(false);
      return;
    }
    const size = typeof data === 'string' ? data.length : data.byteLength;
    if (!this.#outbox.push({ data, size, resolve })) {
      resolve?.(false);
      this.#lose(new LinkFailure(LINK_OVERFLOW, `The other browser does not take what we send: ${this.#outbox.length} messages, ${this.#outbox.bytes} bytes wait.`));
      return;
    }
    this.#pump();
  }

  // Hands queued messages to the channel while its buffer is under the high watermark.
  #pump() {
    const channel = this.#channel;
    while (!this.#closed && this.#outbox.length > 0 && channel?.readyState === 'open'
      && channel.bufferedAmount < BUFFERED_HIGH_WATERMARK) {
      try {
        channel.send(this.#outbox.head.data);
        this.#handedBytes += this.#outbox.head.size;
      } catch (error) {
        this.#lose(new LinkFailure(LINK_SEND_FAILED, `Could not send to the other browser: ${error.message}`));
        return;
      }
      this.#outbox.shift();
    }
  }

  #setUpChannel(channel) {
    this.#channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = this.lowMark;
    const onOpen = async () => {
      if (this.#opened || this.#closed) return;
      this.#opened = true;
      clearTimeout(this.#openTimer);
      this.path = await this.#selectedPath();
      if (this.#closed) return;
      this.emit('open');
      this.#pump();
    };
    channel.addEventListener('open', onOpen);
    // A channel announced by the other side may already be open when we get it.
    if (channel.readyState === 'open') queueMicrotask(onOpen);
    // Before any waiter of drained(): what waits goes first.
    channel.addEventListener('bufferedamountlow', () => this.#pump());
    channel.addEventListener('message', ({ data }) => this.#onChannelMessage(data));
    channel.addEventListener('close', () => {
      this.#lose(new Error('The direct connection between the two browsers was closed.'));
    });
  }

  #onChannelMessage(data) {
    if (this.#closed) return;
    if (typeof data !== 'string') {
      this.emit('data', data);
      return;
    }
    const message = readTextMessage(data);
    if (message === null) {
      this.#lose(new Error('The other browser sent a malformed message.'));
      return;
    }
    this.emit('message', message);
  }

  async #sendOffer() {
    try {
      await this.#pc.setLocalDescription();
      this.#signal({ kind: 'sdp', sdp: this.#pc.localDescription.toJSON() });
    } catch (error) {
      this.#lose(new Error(`Could not set up the direct connection: ${error.message}`));
    }
  }

  // Our candidates gathered so far, in as few `ice` payloads as fit ICE_BATCH_MAX_BYTES; done:
  // gathering is over (the last payload says so, empty if need be).
  #sendCandidates(done) {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = null;
    for (const payload of iceBatches(this.#candidates.splice(0), done)) this.#signal(payload);
  }

  #signal(payload) {
    if (this.#closed) return;
    this.#sendSignal(payload).catch((error) => {
      this.#lose(new Error(`Could not reach the other browser through the server: ${error.message}`));
    });
  }

  // Keeps the address of a remote host candidate
  // ("candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> ...").
  #noteHost(candidate = '') {
    const fields = candidate.split(' ');
    if (fields[6] === 'typ' && fields[7] === 'host') this.#remoteHosts.add(fields[4]);
  }

  // Handed to ICE all at once, in order, before anything that comes later (handleSignal is not
  // awaited: a later batch may arrive meanwhile).
  #addCandidates(candidates) {
    return Promise.all(candidates.map((candidate) => this.#addCandidate(candidate)));
  }

  async #addCandidate(candidate) {
    this.#noteHost(candidate?.candidate);
    try {
      // No argument marks the end of the other side's candidates.
      await this.#pc.addIceCandidate(candidate ?? undefined);
    } catch (error) {
      // One unusable candidate is not fatal; if none works, connectionState turns 'failed'.
      console.warn('swarmdrop: ignored a remote ICE candidate:', error);
    }
  }

  // What the tracker reports of this link (tracker.js): the selected candidate pair's round-trip
  // time (ms, null while unmeasured) and our address as a STUN server reflected it (a server-
  // reflexive local candidate; null if none).
  async measure() {
    try {
      const stats = await this.#pc.getStats();
      const { pair } = selectedPair(stats);
      const rtt = pair?.currentRoundTripTime;
      const reflexive = [...stats.values()].find((s) => s.type === 'local-candidate' && s.candidateType === 'srflx');
      return { rttMs: Number.isFinite(rtt) ? Math.round(rtt * 1000) : null, reflexive: reflexive?.address ?? null };
    } catch {
      return { rttMs: null, reflexive: null }; // closed meanwhile
    }
  }

  // The kind of path ICE chose, from the selected candidate pair's two candidates.
  async #selectedPath() {
    try {
      let { ends } = selectedPair(await this.#pc.getStats());
      // A remote end whose connectivity check came before its candidate is peer-reflexive: it is
      // the other side's own address only if that side signalled it as a host candidate (behind
      // a NAT it is the NAT's, which may well share a /24 with us). That candidate may still be
      // on its way through the server (a loaded one lost this race in the e2e): it is waited
      // for, until the other side's last candidate or PATH_CANDIDATES_WAIT_MS, and the stats
      // read again: Chromium hides a peer-reflexive remote address (empty), and turns the end
      // into the host candidate once that is signalled.
      if (ends[1]?.candidateType === 'prflx' && !this.#remoteHosts.has(ends[1].address)) {
        await Promise.race([this.#remoteGathered, new Promise((resolve) => { setTimeout(resolve, PATH_CANDIDATES_WAIT_MS); })]);
        ({ ends } = selectedPair(await this.#pc.getStats()));
      }
      // After the re-read: the pair ICE settled on meanwhile may go through TURN.
      if (ends.some((end) => end?.candidateType === 'relay')) return 'turn';
      const own = (end, hosts) => end?.candidateType === 'host' || (end?.candidateType === 'prflx' && hosts.has(end.address));
      const local = own(ends[0], new Set()) && own(ends[1], this.#remoteHosts) && sameNetwork(ends[0].address, ends[1].address);
      return local ? 'lan' : 'direct';
    } catch {
      return 'direct'; // the stats are only for display
    }
  }

  #bufferDrained() {
    return new Promise((resolve) => {
      const stopListening = new AbortController();
      const done = () => {
        stopListening.abort();
        resolve();
      };
      const options = { once: true, signal: stopListening.signal };
      this.#channel.addEventListener('bufferedamountlow', done, options);
      this.#channel.addEventListener('close', done, options);
      this.#closing.signal.addEventListener('abort', done, options);
    });
  }

  #loseUnopened() {
    this.#lose(new Error('Could not open a direct connection between the two browsers: '
      + 'they cannot reach each other (a TURN relay may be needed).'));
  }

  #lose(error) {
    if (this.#closed) return;
    this.close();
    this.emit('lost', error);
  }
}

// Candidates (RTCIceCandidateInit) as `ice` signalling payloads of at most maxBytes of candidates
// (UTF-8 JSON) each, in order, one over that alone; done: the last says gathering is over (no
// payload at all without candidates, unless done).
export function iceBatches(candidates, done, maxBytes = ICE_BATCH_MAX_BYTES) {
  const batches = [];
  let batch = [];
  let bytes = 0;
  for (const candidate of candidates) {
    const size = new TextEncoder().encode(JSON.stringify(candidate)).length + 1;
    if (batch.length > 0 && bytes + size > maxBytes) {
      batches.push(batch);
      [batch, bytes] = [[], 0];
    }
    batch.push(candidate);
    bytes += size;
  }
  if (batch.length > 0 || done) batches.push(batch);
  return batches.map((list, i) => (done && i === batches.length - 1
    ? { kind: 'ice', candidates: list, done: true } : { kind: 'ice', candidates: list }));
}

// The selected candidate pair of a getStats() report, and its two ends [local, remote].
function selectedPair(stats) {
  const transport = [...stats.values()].find((s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = transport && stats.get(transport.selectedCandidatePairId);
  return { pair, ends: [stats.get(pair?.localCandidateId), stats.get(pair?.remoteCandidateId)] };
}

// Whether two addresses share their /24 (IPv4) or /64 (IPv6): a guess at "one local network".
function sameNetwork(a = '', b = '') {
  const prefix = (address) => (address.includes(':') ? address.split(':').slice(0, 4) : address.split('.').slice(0, 3)).join('|');
  return a !== '' && prefix(a) === prefix(b);
}
