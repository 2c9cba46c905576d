// The client keeps to the plugin's request budget by itself (docs/protocol.md part 1, "Limits per
// connection"): every request goes through one token bucket (signalling.js RequestPacer, config.js
// SIGNALLING_*), in order, with a bounded queue; a 468 (not handled) is sent again after a pause
// and never surfaces; an attach refused with 469 has its own kind. Trickled ICE candidates go in
// batches (transport.js), which the other side takes. A fake Janus stands in for the server.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  ICE_BATCH_MAX_BYTES, ICE_BATCH_MS, SIGNALLING_QUEUE_MAX, SIGNALLING_REQUEST_BURST, SIGNALLING_REQUESTS_PER_SECOND,
} from '../../web/src/engine/config.js';
import { Emitter } from '../../web/src/engine/emitter.js';
import { JanusError } from '../../web/src/engine/net/janus.js';
import {
  KIND_CONNECTION_LIMIT, KIND_QUEUE_FULL, KIND_SERVER_BUSY, PluginError, RequestPacer, Signalling, SignallingError,
  errorKindOf,
} from '../../web/src/engine/net/signalling.js';
import { PeerLink, iceBatches } from '../../web/src/engine/net/transport.js';
import { FakePeerConnection, installFakeWebRtc, settle } from './fake-webrtc.mjs';

const SHARE = '0123456789abcdef';

// A Janus session: each plugin message is recorded with the (mocked) time it went, and answered
// by answer(body, attempt) (attempt: how often this same body came before), after a tick.
class FakeJanus extends Emitter {
  sent = []; // {body, at}
  #seen = new Map();

  constructor(answer = (body) => ({ swarmdrop: 'signalled', share: body.share, to: body.to })) {
    super();
    this.answer = answer;
  }

  async attach() {
    return 7;
  }

  async message(handleId, body) {
    this.sent.push({ body, at: Date.now() });
    const attempt = this.#seen.get(body) ?? 0;
    this.#seen.set(body, attempt + 1);
    await Promise.resolve();
    return { data: this.answer(body, attempt), jsep: null };
  }

  lose() {
    this.emit('error', new Error('Lost the connection to the signalling server.'));
  }

  close() {}
}

const tooMany = { swarmdrop: 'error', error_code: 468, error: 'more than 20 requests a second from this connection' };

// Runs the mocked clock forward in steps until done() (or a minute passed).
async function runClock(t, done, stepMs = 10) {
  for (let elapsed = 0; !done() && elapsed < 60_000; elapsed += stepMs) {
    t.mock.timers.tick(stepMs);
    await settle();
  }
}

test('a burst of 500 signals goes out in order, none lost, never faster than the budget', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const janus = new FakeJanus();
  const signalling = await Signalling.connect(async () => janus, { now: () => Date.now() });
  const results = Array.from({ length: 500 }, (_, i) => signalling.signal(SHARE, 'aaaaaaaaaaaa', { kind: 'ice', n: i }));
  let settled = 0;
  for (const result of results) result.then(() => { settled += 1; });
  await runClock(t, () => settled === results.length);
  assert.equal(settled, 500);
  assert.deepEqual(janus.sent.map(({ body }) => body.payload.n), results.map((_, i) => i));
  // In any window of T seconds, at most burst + rate T requests (+1: a window's two ends).
  const times = janus.sent.map(({ at }) => at);
  for (let i = 0; i < times.length; i++) {
    for (let j = i; j < times.length; j++) {
      const allowed = SIGNALLING_REQUEST_BURST + (SIGNALLING_REQUESTS_PER_SECOND * (times[j] - times[i])) / 1000 + 1;
      assert.ok(j - i + 1 <= allowed, `${j - i + 1} requests in ${times[j] - times[i]} ms`);
    }
  }
  // ... and at that pace: the last goes once the burst and the rate allow, not much later.
  const expected = ((500 - SIGNALLING_REQUEST_BURST) * 1000) / SIGNALLING_REQUESTS_PER_SECOND;
  assert.ok(times.at(-1) >= expected - 1 && times.at(-1) <= expected + 100, `the last went at ${times.at(-1)} ms`);
  assert.equal(signalling.requestStats.sent, 500);
  assert.equal(signalling.requestStats.waited, 500 - SIGNALLING_REQUEST_BURST);
  assert.equal(signalling.requestStats.refused, 0);
  signalling.close();
});

test('a 468 was not handled: the request is sent again after a pause, before those that came after it, and succeeds', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  // The first signal is refused twice (the server's budget is lower than ours, or was spent).
  const janus = new FakeJanus((body, attempt) => (body.payload.n === 0 && attempt < 2
    ? tooMany : { swarmdrop: 'signalled', share: body.share, to: body.to }));
  const signalling = await Signalling.connect(async () => janus, {
    now: () => Date.now(), rate: 10, burst: 1, retryDelaysMs: [1000, 2000],
  });
  const results = [0, 1, 2].map((n) => signalling.signal(SHARE, 'aaaaaaaaaaaa', { kind: 'ice', n }));
  let settled = 0;
  for (const result of results) result.then(() => { settled += 1; });
  await runClock(t, () => settled === 3);
  assert.equal(settled, 3, 'every request succeeded: the refusals never surfaced');
  assert.deepEqual(janus.sent.map(({ body }) => body.payload.n), [0, 0, 0, 1, 2]);
  // The pauses: 1 s after the first refusal, 2 s after the second.
  const at = janus.sent.map(({ at: time }) => time);
  assert.ok(at[1] - at[0] >= 1000 && at[2] - at[1] >= 2000, JSON.stringify(at));
  assert.deepEqual(signalling.requestStats, { sent: 5, waited: 2, refused: 2 });
  signalling.close();
});

test('retries are bounded: a server that always answers 468 fails the request with that code', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const janus = new FakeJanus(() => tooMany);
  const signalling = await Signalling.connect(async () => janus, { now: () => Date.now(), retries: 3, retryDelaysMs: [100] });
  let failure = null;
  signalling.signal(SHARE, 'aaaaaaaaaaaa', { kind: 'ice' }).catch((error) => { failure = error; });
  await runClock(t, () => failure !== null);
  assert.ok(failure instanceof PluginError && failure.errorCode === 468);
  assert.equal(errorKindOf(failure), KIND_SERVER_BUSY);
  assert.equal(janus.sent.length, 4);
  signalling.close();
});

test('the queue is bounded: one request more than it holds fails at once (queue-full), the others go', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const janus = new FakeJanus();
  const signalling = await Signalling.connect(async () => janus, { now: () => Date.now(), burst: 1, maxQueued: 3 });
  const results = Array.from({ length: 6 }, (_, n) => signalling.signal(SHARE, 'aaaaaaaaaaaa', { kind: 'ice', n }).then(
    () => 'sent',
    (error) => error,
  ));
  // The first went at once; three wait; the fifth and sixth are refused.
  const [fifth, sixth] = await Promise.all(results.slice(4));
  for (const error of [fifth, sixth]) {
    assert.ok(error instanceof SignallingError);
    assert.equal(error.kind, KIND_QUEUE_FULL);
    assert.equal(errorKindOf(error), KIND_QUEUE_FULL);
  }
  await runClock(t, () => janus.sent.length === 4);
  assert.deepEqual(await Promise.all(results.slice(0, 4)), ['sent', 'sent', 'sent', 'sent']);
  assert.deepEqual(janus.sent.map(({ body }) => body.payload.n), [0, 1, 2, 3]);
  assert.ok(SIGNALLING_QUEUE_MAX >= 500, 'the default holds a burst of 500');
  signalling.close();
});

test('a lost connection fails the requests still waiting for the budget; the new session starts with a fresh queue', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const sessions = [];
  const signalling = await Signalling.connect(async () => {
    sessions.push(new FakeJanus());
    return sessions.at(-1);
  }, { now: () => Date.now(), burst: 1 });
  const results = [0, 1, 2].map((n) => signalling.signal(SHARE, 'aaaaaaaaaaaa', { kind: 'ice', n }).then(() => 'sent', (error) => error.message));
  const reconnected = new Promise((resolve) => signalling.on('reconnected', resolve));
  sessions[0].lose();
  assert.deepEqual(await Promise.all(results), ['sent', 'Lost the connection to the signalling server.', 'Lost the connection to the signalling server.']);
  await runClock(t, () => sessions.length === 2);
  await reconnected;
  const late = signalling.signal(SHARE, 'aaaaaaaaaaaa', { kind: 'ice', n: 3 });
  await runClock(t, () => sessions[1].sent.length === 1);
  await late;
  assert.deepEqual(sessions[1].sent.map(({ body }) => body.payload.n), [3]);
  signalling.close();
});

test('an attach refused with 469 rejects with the connection-limit kind', async () => {
  const janus = new FakeJanus();
  janus.attach = async () => { throw new JanusError(461, 'Couldn\'t attach to plugin: error \'469\''); };
  const error = await Signalling.connect(async () => janus).catch((e) => e);
  assert.ok(error instanceof PluginError);
  assert.equal(error.errorCode, 469);
  assert.equal(errorKindOf(error), KIND_CONNECTION_LIMIT);
  // The plugin's own 469 (too many shares or memberships for this connection) is the same kind.
  assert.equal(errorKindOf(new PluginError(469, 'this connection has 16 memberships')), KIND_CONNECTION_LIMIT);
  assert.equal(errorKindOf(new PluginError(449, 'full')), null);
});

// ICE candidates in batches.

beforeEach(installFakeWebRtc);

const candidate = (i, pad = 0) => ({
  candidate: `candidate:${i} 1 udp 2122260223 192.0.2.${i % 250} ${50000 + i} typ host generation 0 ufrag abcd${'x'.repeat(pad)}`,
  sdpMid: '0',
  sdpMLineIndex: 0,
  usernameFragment: 'abcd',
});

// Our RTCPeerConnection's icecandidate events (null: gathering is over).
function gather(pc, list) {
  for (const init of list) {
    const event = Object.assign(new Event('icecandidate'), { candidate: init && { toJSON: () => init } });
    pc.dispatchEvent(event);
  }
}

// An asker and an answerer PeerLink whose signals go straight to each other; what the asker
// signalled, and the candidates the answerer's RTCPeerConnection was given (null: the end).
async function linkedPair() {
  const signalled = [];
  const added = [];
  let answerer = null;
  const asker = new PeerLink({
    initiator: true,
    sendSignal: async (payload) => {
      signalled.push(structuredClone(payload));
      await answerer.handleSignal(payload);
    },
  });
  const askerPc = FakePeerConnection.made.at(-1);
  answerer = new PeerLink({ initiator: false, sendSignal: async (payload) => asker.handleSignal(payload) });
  const answererPc = FakePeerConnection.made.at(-1);
  answererPc.addIceCandidate = async (init) => { added.push(init ?? null); };
  await settle(); // the offer went
  return { asker, answerer, askerPc, signalled, added };
}

test('candidates gathered within ICE_BATCH_MS go in one signal; the end of gathering sends at once and says so', async () => {
  const { asker, answerer, askerPc, signalled, added } = await linkedPair();
  assert.deepEqual(signalled.map((p) => p.kind), ['sdp']);
  gather(askerPc, [candidate(1), candidate(2)]);
  await settle();
  assert.equal(signalled.length, 1, 'the batch waits');
  await new Promise((resolve) => { setTimeout(resolve, ICE_BATCH_MS + 20); });
  assert.deepEqual(signalled[1], { kind: 'ice', candidates: [candidate(1), candidate(2)] });
  gather(askerPc, [candidate(3), null]); // the end: no wait
  await settle();
  assert.deepEqual(signalled[2], { kind: 'ice', candidates: [candidate(3)], done: true });
  await settle();
  assert.deepEqual(added, [candidate(1), candidate(2), candidate(3), null]);
  for (const link of [asker, answerer]) link.close();
});

test('a batch over ICE_BATCH_MAX_BYTES is split, in order, each within the plugin\'s max_signal_bytes', async () => {
  const { asker, answerer, askerPc, signalled, added } = await linkedPair();
  const many = Array.from({ length: 120 }, (_, i) => candidate(i, 200));
  gather(askerPc, [...many, null]);
  await settle();
  const batches = signalled.slice(1);
  assert.ok(batches.length >= 4, `${batches.length} batches`);
  for (const payload of batches) {
    assert.ok(Buffer.byteLength(JSON.stringify(payload.candidates)) <= ICE_BATCH_MAX_BYTES);
    assert.ok(Buffer.byteLength(JSON.stringify(payload)) <= 16384);
  }
  assert.deepEqual(batches.map((p) => p.done === true), [...batches.slice(1).map(() => false), true]);
  assert.deepEqual(batches.flatMap((p) => p.candidates), many);
  await settle();
  assert.deepEqual(added, [...many, null]);
  for (const link of [asker, answerer]) link.close();
});

test('the answerer takes batches and single candidates (older clients) alike, queued until the remote description', async () => {
  const link = new PeerLink({ initiator: false, sendSignal: async () => {} });
  const pc = FakePeerConnection.made.at(-1);
  const added = [];
  pc.addIceCandidate = async (init) => { added.push(init ?? null); };
  await link.handleSignal({ kind: 'ice', candidates: [candidate(1), candidate(2)] });
  await link.handleSignal({ kind: 'ice', candidate: candidate(3) });
  assert.deepEqual(added, [], 'before the offer: queued');
  await link.handleSignal({ kind: 'sdp', sdp: { type: 'offer', sdp: '' } });
  await link.handleSignal({ kind: 'ice', candidates: [], done: true });
  await link.handleSignal({ kind: 'ice', candidate: null });
  assert.deepEqual(added, [candidate(1), candidate(2), candidate(3), null, null]);
  assert.deepEqual(iceBatches([], false), []);
  link.close();
});

test('a link takes at most REMOTE_CANDIDATES_MAX of the other side\'s candidates: more lose it', async () => {
  const link = new PeerLink({ initiator: false, sendSignal: async () => {} });
  const lost = [];
  link.on('lost', (error) => lost.push(error));
  const flood = Array.from({ length: 100 }, (_, i) => candidate(i));
  for (let i = 0; i < 3; i++) await link.handleSignal({ kind: 'ice', candidates: flood });
  assert.equal(lost.length, 1);
  assert.match(lost[0].message, /too many ICE candidates/);
});

// The plugin's per-connection budget as sd_quota keeps it (requests_per_second 20, request_burst
// 100 by default): a request with no token left is refused with 468.
class BudgetedJanus extends FakeJanus {
  refused = 0;
  #tokens = 100;
  #at = 0;

  constructor() {
    super();
    this.answer = (body) => {
      const now = Date.now();
      this.#tokens = Math.min(100, this.#tokens + ((now - this.#at) * 20) / 1000);
      this.#at = now;
      this.#tokens = Math.max(this.#tokens - 1, -100);
      if (this.#tokens >= 0) return { swarmdrop: 'signalled', share: body.share, to: body.to };
      this.refused += 1;
      return tooMany;
    };
  }
}

test('64 receivers ask a sender at once: its answers and candidates reach every one, and the plugin refuses none', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  const { Swarm } = await import('../../web/src/engine/net/swarm.js');
  // Each of the sender's connections gathers 5 candidates once its answer is set (events are
  // tasks, after the promise's callbacks, as in Chromium).
  globalThis.RTCPeerConnection = class extends FakePeerConnection {
    async setLocalDescription() {
      await super.setLocalDescription();
      setTimeout(() => gather(this, [1, 2, 3, 4, 5].map((i) => candidate(i)).concat(null)), 0);
    }
  };
  const server = new BudgetedJanus();
  const signalling = await Signalling.connect(async () => server, { now: () => Date.now() });
  const swarm = new Swarm({ signalling, asks: false, handle: () => {} });
  swarm.start({ shareId: SHARE, selfId: 'owner0000000', joined: { peers: [] } });
  const receivers = Array.from({ length: 64 }, (_, i) => `r${String(i).padStart(11, '0')}`);
  for (const from of receivers) signalling.emit('signal', { from, payload: { kind: 'sdp', sdp: { type: 'offer', sdp: '' } } });
  const done = () => server.sent.filter(({ body }) => body.payload.done).length === receivers.length;
  await runClock(t, done, 50);
  assert.ok(done(), `${server.sent.length} signals sent`);
  assert.equal(server.refused, 0);
  // Two signals a link (the answer, one batch of candidates), in that order.
  assert.equal(server.sent.length, 2 * receivers.length);
  for (const to of receivers) {
    const payloads = server.sent.filter(({ body }) => body.to === to).map(({ body }) => body.payload);
    assert.deepEqual(payloads.map((p) => p.kind), ['sdp', 'ice']);
    assert.equal(payloads[1].candidates.length, 5);
  }
  t.diagnostic(`the last signal went at ${server.sent.at(-1).at} ms; ${signalling.requestStats.waited} waited for the budget`);
  swarm.close();
  signalling.close();
});

test('a request whose send throws at once fails alone: the ones behind it still go', async () => {
  // One token: the first goes at once, the others from the pacer's timer, where a throw used to
  // escape and leave every later request waiting.
  const pacer = new RequestPacer({ rate: 100, burst: 1, maxQueued: 10 });
  const first = pacer.submit(async () => 'first');
  const throwing = pacer.submit(() => { throw new Error('the connection is gone'); });
  const last = pacer.submit(async () => 'last');
  assert.equal(await first, 'first');
  await assert.rejects(throwing, /the connection is gone/);
  assert.equal(await last, 'last');
});

test('a relay request after hangupRelay goes once Janus hung the old relay connection up', async () => {
  const order = [];
  let hungUp;
  const janus = new FakeJanus((body) => ({ swarmdrop: 'relay', share: body.share, peer: 'bbbbbbbbbbbb', window: 1 << 20 }));
  janus.hangup = (handleId) => {
    order.push(`hangup ${handleId}`);
    return new Promise((resolve) => { hungUp = () => { order.push('hung up'); resolve(); }; });
  };
  const signalling = await Signalling.connect(async () => janus);
  signalling.hangupRelay();
  const asked = signalling.relay(SHARE).then(() => order.push('relay answered'));
  await settle();
  assert.deepEqual(janus.sent, [], 'nothing is asked before the old connection is hung up');
  hungUp();
  await asked;
  assert.deepEqual(order, ['hangup 7', 'hung up', 'relay answered']);
  assert.equal(janus.sent[0].body.request, 'relay');
});
