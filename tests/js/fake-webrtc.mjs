// Just enough of RTCPeerConnection for the swarm's and the tracker's logic to run under Node
// (no media, no network): channels open when a test says so, getStats reports what it is given.
import { Emitter } from '../../web/src/engine/emitter.js';

export class FakeChannel extends EventTarget {
  readyState = 'connecting';
  bufferedAmount = 0;
  sent = [];

  constructor(label) {
    super();
    this.label = label;
  }

  send(data) {
    this.sent.push(data);
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
}

// Lets every pending promise callback run.
export const settle = () => new Promise((resolve) => setImmediate(resolve));
