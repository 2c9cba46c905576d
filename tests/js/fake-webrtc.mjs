// Just enough of RTCPeerConnection for the swarm's and the tracker's logic to run under Node
// (no media, no network): channels open when a test says so, getStats reports what it is given.
import { Emitter } from '../../web/src/engine/emitter.js';

// Chromium's RTCDataChannel throws (OperationError) on a send that would queue more than this.
export const CHROMIUM_SEND_QUEUE_MAX = 16 * 1024 * 1024;

// What the other side has taken is up to the test (drain); until then sends pile up in
// bufferedAmount, and past CHROMIUM_SEND_QUEUE_MAX send throws as Chromium's does.
export class FakeChannel extends EventTarget {
  readyState = 'connecting';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  mostBuffered = 0; // the most bufferedAmount ever was
  sent = [];

  constructor(label) {
    super();
    this.label = label;
  }

  send(data) {
    if (this.readyState !== 'open') throw new DOMException('RTCDataChannel.readyState is not \'open\'', 'InvalidStateError');
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (this.bufferedAmount + size > CHROMIUM_SEND_QUEUE_MAX) throw new DOMException('RTCDataChannel send queue is full', 'OperationError');
    this.bufferedAmount += size;
    this.mostBuffered = Math.max(this.mostBuffered, this.bufferedAmount);
    this.sent.push(data);
  }

  // The other side took `bytes` of what waits (all by default): 'bufferedamountlow' as the
  // buffer falls to its threshold.
  drain(bytes = this.bufferedAmount) {
    const before = this.bufferedAmount;
    this.bufferedAmount = Math.max(0, before - bytes);
    if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) {
      this.dispatchEvent(new Event('bufferedamountlow'));
    }
  }

  // A message from the other side (a string, or an ArrayBuffer).
  receive(data) {
    this.dispatchEvent(Object.assign(new Event('message'), { data }));
  }

  open() {
    this.readyState = 'open';
    this.dispatchEvent(new Event('open'));
  }

  close() {
    this.readyState = 'closed';
  }
}

export class FakePeerConnection extends EventTarget {
  static made = [];
  static stats = new Map(); // what getStats() answers
  localDescription = null;
  remoteDescription = null;
  connectionState = 'new';
  channel = null;
  closed = false;

  constructor(config) {
    super();
    this.config = config;
    FakePeerConnection.made.push(this);
  }

  createDataChannel(label) {
    this.channel = new FakeChannel(label);
    return this.channel;
  }

  // The asker's channel reaching this side (the answering PeerLink waits for it), open.
  announceChannel(label) {
    this.channel = new FakeChannel(label);
    this.channel.readyState = 'open';
    this.dispatchEvent(Object.assign(new Event('datachannel'), { channel: this.channel }));
    return this.channel;
  }

  async setLocalDescription() {
    const type = this.remoteDescription ? 'answer' : 'offer';
    this.localDescription = { type, sdp: '', toJSON: () => ({ type, sdp: '' }) };
  }

  async setRemoteDescription(description) {
    this.remoteDescription = description;
  }

  async addIceCandidate() {}

  async getStats() {
    return FakePeerConnection.stats;
  }

  close() {
    this.closed = true;
  }
}

export function installFakeWebRtc() {
  FakePeerConnection.made = [];
  FakePeerConnection.stats = new Map();
  globalThis.RTCPeerConnection = FakePeerConnection;
}

// The plugin as the Swarm and the Tracker see it: signals are recorded, list and report answer
// what the test set (answers.list: peers, answers.report: a function of the body).
export class FakeSignalling extends Emitter {
  signals = []; // {to, payload}
  lists = 0;
  reports = []; // bodies
  answers = { list: [], report: () => ({ interval_ms: 5000 }) };

  async signal(share, to, payload) {
    this.signals.push({ to, payload });
    return {};
  }

  async list() {
    this.lists += 1;
    return { peers: this.answers.list };
  }

  async report(share, body) {
    this.reports.push(body);
    return this.answers.report(body);
  }

  // The relay (relay.js): every `relay` is answered with an offer; hangups are counted.
  relays = 0;
  hangups = 0;

  async relay(share) {
    this.relays += 1;
    return { share, peer: 'ee0000000000', window: 1 << 20, jsep: { type: 'offer', sdp: '' } };
  }

  async relayAnswer() {}

  hangupRelay() {
    this.hangups += 1;
  }
}

// Lets every pending promise callback run.
export const settle = () => new Promise((resolve) => setImmediate(resolve));
