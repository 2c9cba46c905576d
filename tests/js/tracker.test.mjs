// The browser's side of the tracker (net/tracker.js): the have summary, the address, and the
// reports' timing and contents, over a fake plugin and fake WebRTC.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { REPORT_FALLBACK_INTERVAL_MS, REPORT_LIMIT_MAX } from '../../web/src/engine/config.js';
import { Bitfield } from '../../web/src/engine/transfer/bitfield.js';
import { ERR_TOO_SOON, PluginError } from '../../web/src/engine/net/signalling.js';
import {
  LinkRates, Tracker, haveSummary, learnAddress, reflexiveAddress,
} from '../../web/src/engine/net/tracker.js';
import { FakePeerConnection, FakeSignalling, installFakeWebRtc, settle } from './fake-webrtc.mjs';

beforeEach(installFakeWebRtc);

function bitfield(count, pieces) {
  const field = new Bitfield(count);
  for (const piece of pieces) field.set(piece);
  return field;
}

// Bucket b of a summary, most significant bit first.
const bucket = (summary, b) => (summary[b >> 3] & (0x80 >> (b & 7))) !== 0;

test('the have summary: a bucket is set when every piece in it is held', () => {
  // 512 pieces: two per bucket.
  const half = haveSummary(bitfield(512, [0, 1, 2, 510, 511]));
  assert.equal(half.length, 32);
  assert.deepEqual([0, 1, 2, 255].map((b) => bucket(half, b)), [true, false, false, true]);
  // 1000 pieces: bucket b holds pieces i with floor(i * 256 / 1000) == b; piece 999 is in 255.
  const all = Array.from({ length: 1000 }, (_, i) => i);
  assert.ok(haveSummary(bitfield(1000, all)).every((byte) => byte === 0xff));
  const most = haveSummary(bitfield(1000, all.filter((i) => i !== 999)));
  assert.deepEqual([bucket(most, 254), bucket(most, 255)], [true, false]);
  // Fewer pieces than buckets: an empty bucket is held; an empty bitfield holds only those.
  const small = haveSummary(bitfield(3, []));
  assert.deepEqual([0, 1, 85, 86, 170, 171].map((b) => bucket(small, b)), [false, true, false, true, false, true]);
  assert.equal(haveSummary(new Bitfield(0)).every((byte) => byte === 0xff), true);
});

test('a server-reflexive candidate gives its address; others give none', () => {
  assert.equal(reflexiveAddress('candidate:1 1 udp 1686052607 198.18.0.11 50000 typ srflx raddr 10.0.0.2 rport 50000'), '198.18.0.11');
  assert.equal(reflexiveAddress('a=candidate:1 1 udp 1686052607 2001:db8::1 50000 typ srflx raddr :: rport 0'), '2001:db8::1');
  assert.equal(reflexiveAddress('candidate:2 1 udp 2122260223 10.0.0.2 50000 typ host'), null);
  assert.equal(reflexiveAddress(''), null);
});

test('the address is learnt from the first server-reflexive candidate, within the time limit, and only with a STUN or TURN server', async () => {
  assert.equal(await learnAddress([]), null);
  assert.equal(FakePeerConnection.made.length, 0, 'no connection is made without a server');
  const iceServers = [{ urls: ['stun:198.18.0.1:3478'] }];
  const learning = learnAddress(iceServers);
  const [pc] = FakePeerConnection.made;
  assert.deepEqual(pc.config, { iceServers });
  const candidate = (text) => pc.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate: { candidate: text } }));
  candidate('candidate:2 1 udp 2122260223 10.0.0.2 50000 typ host');
  candidate('candidate:1 1 udp 1686052607 198.18.0.11 50000 typ srflx raddr 10.0.0.2 rport 50000');
  assert.equal(await learning, '198.18.0.11');
  assert.equal(pc.closed, true);
  assert.equal(await learnAddress(iceServers, { timeoutMs: 10 }), null, 'no server answered');
});

test('link rates span a whole interval: a peer new in this sample has none', () => {
  const rates = new LinkRates();
  const a = { id: 'a', downloadedBytes: 0, uploadedBytes: 0 };
  rates.sample([a], 0);
  a.downloadedBytes = 2000;
  const b = { id: 'b', downloadedBytes: 50, uploadedBytes: 0 };
  const first = rates.sample([a, b], 2000);
  assert.deepEqual([...first], [['a', { down: 1000, up: 0 }]]);
});

// An open link to `id`, measured as given.
function link(id, { down = 0, up = 0, rttMs = null, reflexive = null } = {}) {
  return { id, downloadedBytes: down, uploadedBytes: up, link: { measure: async () => ({ rttMs, reflexive }) } };
}

function makeTracker(signalling, { links = [], held = null, complete = false, address = null } = {}) {
  return new Tracker({ signalling, address, holding: () => ({ complete, held }), links: () => links, maxLinks: () => 1 });
}

test('reports go every interval_ms of the answer, with what is held and measured; a 467 waits a whole interval', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const signalling = new FakeSignalling();
  const links = [link('p1', { rttMs: 12 }), link('p2'), link('p3', { reflexive: '198.18.0.12' })];
  const tracker = makeTracker(signalling, { links, held: bitfield(2, [0]) });
  tracker.start('share');
  links[0].downloadedBytes = 1_000_000; // over the interval
  t.mock.timers.tick(REPORT_FALLBACK_INTERVAL_MS);
  await settle();
  assert.equal(signalling.reports.length, 1);
  const [body] = signalling.reports;
  assert.equal(body.complete, false);
  assert.equal(body.address, '198.18.0.12', 'learnt from a link');
  assert.equal(Buffer.from(body.have, 'base64').length, 32);
  // At most maxLinks + 2, the busiest first; an RTT not measured is the longest there is.
  assert.equal(body.links.length, 3);
  assert.deepEqual([body.links[0].peer, body.links[0].rtt_ms, body.links[0].up_kbps], ['p1', 12, 0]);
  assert.ok(body.links[0].down_kbps > 0); // over the real time between the samples (LinkRates has exact figures)
  assert.equal(body.links[1].rtt_ms, REPORT_LIMIT_MAX);
  // The plugin's interval from now on; a refusal does not bring the next report sooner.
  signalling.answers.report = () => { throw new PluginError(ERR_TOO_SOON, 'reports come at most every 8 s'); };
  t.mock.timers.tick(REPORT_FALLBACK_INTERVAL_MS);
  await settle();
  assert.equal(signalling.reports.length, 2);
  t.mock.timers.tick(REPORT_FALLBACK_INTERVAL_MS - 1);
  await settle();
  assert.equal(signalling.reports.length, 2);
  tracker.stop();
  t.mock.timers.tick(60_000);
  await settle();
  assert.equal(signalling.reports.length, 2, 'nothing after stop');
});

test('interval_ms from the answer sets the pace', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const signalling = new FakeSignalling();
  signalling.answers.report = () => ({ interval_ms: 20_000 });
  const tracker = makeTracker(signalling, { complete: true, address: '198.18.0.11' });
  tracker.start('share');
  t.mock.timers.tick(REPORT_FALLBACK_INTERVAL_MS);
  await settle();
  assert.deepEqual(signalling.reports[0], { complete: true, links: [], address: '198.18.0.11' });
  t.mock.timers.tick(19_999);
  await settle();
  assert.equal(signalling.reports.length, 1);
  t.mock.timers.tick(1);
  await settle();
  assert.equal(signalling.reports.length, 2);
  tracker.stop();
});
