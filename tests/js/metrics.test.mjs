// The metrics recorder (engine/metrics.js, docs/metrics.md): its bounded series and rates from
// counters it is fed, the offload arithmetic over a real Swarm (fake WebRTC), round trips from
// getStats never asked twice at once, timers gone after stop, the player's figures, and the
// snapshot checked against docs/metrics.schema.json (a wrong snapshot fails it).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { beforeEach, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import { METRICS_SAMPLE_MS, METRICS_SERIES_MAX } from '../../web/src/engine/config.js';
import { METRICS_SCHEMA, MetricsRecorder, offload } from '../../web/src/engine/metrics.js';
import { LinkRates } from '../../web/src/engine/net/tracker.js';
import { Player, bufferAhead } from '../../web/src/engine/media/player.js';
import { Swarm } from '../../web/src/engine/net/swarm.js';
import { gainedSinceFirstHave, noteHolding } from '../../web/src/engine/sender.js';
import { TAG_LENGTH } from '../../web/src/engine/transfer/content.js';
import { FakePeerConnection, FakeSignalling, installFakeWebRtc, settle } from './fake-webrtc.mjs';

const schema = JSON.parse(readFileSync(new URL('../../docs/metrics.schema.json', import.meta.url)));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

beforeEach(installFakeWebRtc);

// What an engine tells the recorder (MetricsRecorder describe()).
const described = (extra = {}) => ({
  shareId: 'AbCdEfGhIjKl', peerId: 'me0000000000', phase: 'transferring', share: { files: 1, total: 8 << 20, pieceSize: 1 << 20 },
  held: 3 << 20, reportedHeld: null, copies: 1, badPieces: 0, playback: null, requests: { sent: 4, waited: 0, refused: 0 },
  reconnections: 0, ...extra,
});

// A hand-driven clock and a swarm of fake peers whose counters the test sets.
function fakeRecorder({ page = 'receiver', seriesMax, describe = described } = {}) {
  const clock = { ms: 0, now: () => clock.ms, date: () => Date.UTC(2026, 10, 28) + clock.ms };
  const peers = new Map();
  const swarm = {
    peers,
    roleMetrics: () => {
      const byRole = {};
      for (const peer of peers.values()) {
        const totals = byRole[peer.role] ??= { sent: 0, received: 0 };
        totals.sent += peer.uploadedBytes;
        totals.received += peer.downloadedBytes;
      }
      return byRole;
    },
    pathMetrics: () => ({}),
    peerMetrics: () => [...peers.values()].map((peer) => ({
      peer: peer.id, role: peer.role, path: 'direct', phase: 'open', ban: null, downloadedBytes: peer.downloadedBytes, uploadedBytes: peer.uploadedBytes,
    })),
  };
  const addPeer = (id, role, rttMs = null) => {
    const peer = { id, role, open: true, downloadedBytes: 0, uploadedBytes: 0, measured: 0 };
    peer.link = { measure: async () => { peer.measured += 1; return { rttMs, reflexive: null }; } };
    peers.set(id, peer);
    return peer;
  };
  const recorder = new MetricsRecorder({
    page, swarm: () => swarm, describe, seriesMax, clock, userAgent: () => 'test-agent',
  });
  return { recorder, clock, addPeer };
}

test('the series keeps the latest seriesMax samples, oldest first, with the rates of each window', () => {
  const { recorder, clock, addPeer } = fakeRecorder({ seriesMax: 5 });
  const origin = addPeer('o', 'owner');
  recorder.start();
  for (let second = 1; second <= 8; second++) {
    clock.ms = second * 1000;
    origin.downloadedBytes += second * 100; // 100 B/s in the first second, 800 in the eighth
    origin.uploadedBytes += 10;
    recorder.sample();
  }
  const { series, totals } = recorder.snapshot();
  assert.deepEqual(series.map(({ t }) => t), [4000, 5000, 6000, 7000, 8000]);
  assert.deepEqual(series.map(({ down }) => down), [400, 500, 600, 700, 800]);
  assert.ok(series.every(({ up }) => up === 10));
  assert.deepEqual([totals.downBytesPerSecond, totals.upBytesPerSecond], [800, 10]);
  // A window of half a second: the rate is per second.
  clock.ms += 500;
  origin.downloadedBytes += 1000;
  recorder.sample();
  assert.equal(recorder.snapshot().totals.downBytesPerSecond, 2000);
  assert.equal(recorder.snapshot().series.length, 5);
  recorder.stop();
});

test('the default series holds METRICS_SERIES_MAX samples of METRICS_SAMPLE_MS', () => {
  const { recorder, clock } = fakeRecorder();
  recorder.start();
  for (let i = 1; i <= METRICS_SERIES_MAX + 50; i++) {
    clock.ms = i * METRICS_SAMPLE_MS;
    recorder.sample();
  }
  const { series } = recorder.snapshot();
  assert.equal(series.length, METRICS_SERIES_MAX);
  assert.equal(series[0].t, 51 * METRICS_SAMPLE_MS);
  recorder.stop();
});

test('per-link rates come from the recorder\'s own sampling: the tracker sampling its LinkRates meanwhile changes nothing', () => {
  const { recorder, clock, addPeer } = fakeRecorder();
  const peer = addPeer('r1', 'receiver');
  const trackers = new LinkRates(); // the tracker's, sampled at its own times
  recorder.start();
  clock.ms = 1000;
  recorder.sample(); // the link's first sample: no rate yet
  assert.equal(recorder.snapshot().peers[0].downBytesPerSecond, 0);
  trackers.sample([peer], 1000);
  peer.downloadedBytes = 3000;
  peer.uploadedBytes = 1000;
  trackers.sample([peer], 1500);
  clock.ms = 2000;
  recorder.sample();
  const [row] = recorder.snapshot().peers;
  assert.deepEqual([row.downBytesPerSecond, row.upBytesPerSecond, row.received, row.sent], [3000, 1000, 3000, 1000]);
  recorder.stop();
});

test('offload: fromOrigin the owner\'s bytes, fromPeers the receivers\', null while nothing came; the sender\'s against what its receivers hold', () => {
  assert.equal(offload('receiver', { received: 0, fromPeers: 0 }), null);
  assert.equal(offload('receiver', { received: 400, fromPeers: 100 }), 0.25);
  assert.equal(offload('sender', { sent: 0, reportedHeld: 0 }), null);
  assert.equal(offload('sender', { sent: 300, reportedHeld: 1200 }), 0.75);
  assert.equal(offload('sender', { sent: 600, reportedHeld: 300 }), -1); // sent to receivers that left unfinished

  const { recorder, addPeer } = fakeRecorder();
  assert.equal(recorder.snapshot().totals.offload, null);
  const origin = addPeer('o', 'owner');
  const other = addPeer('r1', 'receiver');
  const third = addPeer('r2', 'receiver');
  origin.downloadedBytes = 5000;
  other.downloadedBytes = 2000;
  third.downloadedBytes = 1000;
  other.uploadedBytes = 700;
  const { totals } = recorder.snapshot();
  assert.deepEqual(
    [totals.received, totals.fromOrigin, totals.fromPeers, totals.sent, totals.offload],
    [8000, 5000, 3000, 700, 3000 / 8000],
  );
});

test('the sender\'s offload counts what its receivers gained since their first have to this page, not what they held before', () => {
  const row = () => ({ bytes: 0, pieces: 0, firstHeld: null });
  const returning = row(); // held 8 pieces from an earlier visit (or before the sender reloaded)
  const fresh = row();
  const silent = row(); // linked, no have yet
  noteHolding(returning, 8 << 20, 8);
  noteHolding(fresh, 0, 0);
  assert.equal(gainedSinceFirstHave([returning, fresh, silent]), 0);
  noteHolding(returning, 10 << 20, 10);
  noteHolding(fresh, 3 << 20, 3);
  const gained = 5 * ((1 << 20) + TAG_LENGTH);
  assert.equal(gainedSinceFirstHave([returning, fresh, silent]), gained);
  // This page sent those 5 pieces itself: nothing offloaded (the 8 held before do not count).
  assert.equal(offload('sender', { sent: gained, reportedHeld: gainedSinceFirstHave([returning, fresh, silent]) }), 0);
});

// Opens the link the swarm asked `id` for, as if ICE had connected (see swarm.test.mjs).
async function openLink(swarm, id) {
  FakePeerConnection.made[[...swarm.peers.keys()].indexOf(id)].channel.open();
  await settle();
  return swarm.peers.get(id);
}

test('over a real swarm: the bytes of closed links still count, by role, and the members holding every piece are copies', async (t) => {
  const signalling = new FakeSignalling();
  const swarm = new Swarm({ signalling, asks: true, handle: () => {} });
  t.after(() => swarm.close());
  const members = [{ peer: 'owner0000000', role: 'owner' }, { peer: 'r1', role: 'receiver' }, { peer: 'r2', role: 'receiver', complete: true }];
  swarm.start({ shareId: 's', selfId: 'me', joined: { peers: members } });
  const recorder = new MetricsRecorder({ page: 'receiver', swarm: () => swarm, describe: () => described({ copies: swarm.completeMembers() }) });
  const origin = await openLink(swarm, 'owner0000000');
  const r1 = await openLink(swarm, 'r1');
  origin.downloadedBytes = 4096;
  r1.downloadedBytes = 1024;
  r1.uploadedBytes = 512;
  // The owner, and r2 (the tracker listed it complete); r1 once its have says so.
  assert.equal(swarm.completeMembers(), 2);
  r1.addHave({ pieces: [0, 1] }, 2);
  assert.equal(swarm.completeMembers(), 3);
  signalling.emit('peer_left', { peer: 'r1' });
  const snapshot = recorder.snapshot();
  assert.deepEqual(
    [snapshot.totals.received, snapshot.totals.fromOrigin, snapshot.totals.fromPeers, snapshot.totals.sent, snapshot.totals.offload],
    [5120, 4096, 1024, 512, 0.2],
  );
  assert.equal(snapshot.totals.copies, 2); // r1 left
  assert.deepEqual(snapshot.paths, { direct: { links: 2, sent: 512, received: 5120 } });
  assert.deepEqual(
    Object.fromEntries(snapshot.peers.map(({ peer, phase, path }) => [peer, [phase, path]])),
    { r1: ['gone', 'direct'], r2: ['connecting', null], owner0000000: ['open', 'direct'] }, // a link being set up has no path yet
  );
  assert.equal(validate(snapshot), true, JSON.stringify(validate.errors));
});

test('round trips come from each open link\'s getStats, one round at a time; relayed links have none', async () => {
  const { recorder, clock, addPeer } = fakeRecorder();
  const near = addPeer('r1', 'receiver', 25);
  const relayed = addPeer('r2', 'receiver', null);
  let release;
  near.link.measure = () => {
    near.measured += 1;
    return new Promise((resolve) => { release = () => resolve({ rttMs: 25, reflexive: null }); });
  };
  recorder.start();
  clock.ms = 1000;
  recorder.sample();
  clock.ms = 2000;
  recorder.sample(); // the first round is not over: no second one
  assert.deepEqual([near.measured, relayed.measured], [1, 1]);
  release();
  await settle();
  const rtts = () => recorder.snapshot().peers.map(({ rttMs }) => rttMs);
  assert.deepEqual(rtts(), [25, null]);
  clock.ms = 3000;
  recorder.sample();
  assert.equal(near.measured, 2);
  recorder.stop();
});

test('a PeerLink\'s selected pair gives the round trip in ms', async (t) => {
  const signalling = new FakeSignalling();
  const swarm = new Swarm({ signalling, asks: true, handle: () => {} });
  t.after(() => swarm.close());
  swarm.start({ shareId: 's', selfId: 'me', joined: { peers: [{ peer: 'r1', role: 'receiver' }] } });
  await openLink(swarm, 'r1');
  FakePeerConnection.stats = new Map([
    ['t', { type: 'transport', selectedCandidatePairId: 'p' }],
    ['p', { type: 'candidate-pair', currentRoundTripTime: 0.0314, localCandidateId: 'l', remoteCandidateId: 'r' }],
  ]);
  const recorder = new MetricsRecorder({ page: 'receiver', swarm: () => swarm, describe: () => described() });
  recorder.start();
  recorder.sample();
  await settle();
  assert.equal(recorder.snapshot().peers[0].rttMs, 31);
  recorder.stop();
});

test('a round of getStats that never settles ends after measureTimeoutMs: those links are unmeasured, and the next round runs', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const clock = { ms: 0, now: () => clock.ms, date: () => clock.ms };
  let asked = 0;
  const stuck = { id: 'r1', role: 'receiver', open: true, downloadedBytes: 0, uploadedBytes: 0 };
  stuck.link = { measure: () => { asked += 1; return new Promise(() => {}); } };
  const swarm = {
    peers: new Map([['r1', stuck]]), roleMetrics: () => ({}), pathMetrics: () => ({}),
    peerMetrics: () => [{ peer: 'r1', role: 'receiver', path: 'direct', phase: 'open', ban: null, downloadedBytes: 0, uploadedBytes: 0 }],
  };
  const recorder = new MetricsRecorder({ page: 'receiver', swarm: () => swarm, describe: () => described(), clock, measureTimeoutMs: 3000 });
  recorder.start(); // its timer is not mocked: its first sample would come after this test
  recorder.sample();
  recorder.sample(); // the round is still running: no second getStats
  assert.equal(asked, 1);
  t.mock.timers.tick(3000);
  await settle();
  assert.equal(recorder.snapshot().peers[0].rttMs, null);
  recorder.sample();
  assert.equal(asked, 2);
  recorder.stop();
});

test('stop() keeps the series but no speed or round trip: nothing moves any more', async () => {
  const { recorder, clock, addPeer } = fakeRecorder();
  const origin = addPeer('o', 'owner', 40);
  recorder.start();
  clock.ms = 1000;
  origin.downloadedBytes = 5000;
  origin.uploadedBytes = 100;
  recorder.sample();
  clock.ms = 2000;
  origin.downloadedBytes = 9000;
  recorder.sample();
  await settle();
  let { totals, peers } = recorder.snapshot();
  assert.deepEqual([totals.downBytesPerSecond, peers[0].downBytesPerSecond, peers[0].rttMs], [4000, 4000, 40]);
  recorder.stop();
  ({ totals, peers } = recorder.snapshot());
  assert.deepEqual([totals.downBytesPerSecond, totals.upBytesPerSecond, peers[0].downBytesPerSecond, peers[0].upBytesPerSecond, peers[0].rttMs], [0, 0, 0, 0, null]);
  assert.equal(recorder.snapshot().series.length, 2);
  assert.equal(totals.received, 9000);
});

test('start() samples on a timer every METRICS_SAMPLE_MS; stop() leaves none', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const { recorder, clock } = fakeRecorder();
  assert.equal(recorder.snapshot().startedAt, null);
  recorder.start();
  for (let i = 1; i <= 3; i++) {
    clock.ms = i * METRICS_SAMPLE_MS;
    t.mock.timers.tick(METRICS_SAMPLE_MS);
  }
  assert.equal(recorder.snapshot().series.length, 3);
  recorder.stop();
  clock.ms += 10 * METRICS_SAMPLE_MS;
  t.mock.timers.tick(10 * METRICS_SAMPLE_MS);
  assert.equal(recorder.snapshot().series.length, 3);
});

// A <video> as the Player sees it: events, a playhead and buffered ranges.
class FakeVideo extends EventTarget {
  currentTime = 0;
  duration = 20;
  buffered = { length: 1, start: () => 0, end: () => 12 };
  removeAttribute() {}
  load() {}
}

test('the player times the first frame from play(), and counts stalls after it until playing again', async () => {
  const video = new FakeVideo();
  const player = new Player({ file: 0, path: 'a.mp4', kind: 'video', type: 'video/mp4', url: '/stream/x', askedAt: performance.now() });
  player.attach(video);
  video.dispatchEvent(new Event('waiting')); // before the first frame: starting, not a stall
  await new Promise((resolve) => { setTimeout(resolve, 20); });
  video.dispatchEvent(new Event('loadeddata'));
  let metrics = player.metrics();
  assert.ok(metrics.timeToFirstFrameMs >= 15, String(metrics.timeToFirstFrameMs));
  assert.equal(metrics.stalls, 0);
  video.currentTime = 4;
  video.dispatchEvent(new Event('timeupdate'));
  video.dispatchEvent(new Event('waiting'));
  video.dispatchEvent(new Event('waiting')); // the same stall
  await new Promise((resolve) => { setTimeout(resolve, 20); });
  assert.ok(player.metrics().stalledMs >= 15); // the one going on counts
  video.dispatchEvent(new Event('playing'));
  metrics = player.metrics();
  assert.equal(metrics.stalls, 1);
  assert.equal(metrics.bufferAheadSeconds, 8);
  const stalled = metrics.stalledMs;
  await new Promise((resolve) => { setTimeout(resolve, 10); });
  assert.equal(player.metrics().stalledMs, stalled); // over: it stays
  video.dispatchEvent(new Event('waiting'));
  player.close(); // ends the stall going on
  const closed = player.metrics();
  assert.equal(closed.stalls, 2);
  await new Promise((resolve) => { setTimeout(resolve, 10); });
  assert.equal(player.metrics().stalledMs, closed.stalledMs);
  assert.deepEqual([bufferAhead([[0, 2], [5, 9]], 6), bufferAhead([[0, 2]], 3), bufferAhead([], 0)], [3, 0, 0]);
});

test('a snapshot is plain data that validates against docs/metrics.schema.json', () => {
  const playback = {
    file: 0, path: 'a.mp4', via: 'mse', timeToFirstFrameMs: 812.5, stalls: 1, stalledMs: 640, bufferAheadSeconds: 6.2, mediaBitsPerSecond: 2e6,
  };
  const { recorder, clock, addPeer } = fakeRecorder({ describe: () => described({ playback }) });
  const peer = addPeer('owner0000000', 'owner', 12);
  recorder.start();
  clock.ms = 1000;
  peer.downloadedBytes = 250_000;
  recorder.sample();
  const snapshot = recorder.snapshot();
  assert.equal(snapshot.schema, METRICS_SCHEMA);
  assert.deepEqual(structuredClone(snapshot), snapshot);
  assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
  assert.equal(snapshot.playback.downloadBitsPerSecond, 2_000_000);
  assert.equal(validate(snapshot), true, JSON.stringify(validate.errors));
  // A sender's before it shares: no share, no start yet.
  const idle = fakeRecorder({
    page: 'sender',
    describe: () => described({ shareId: null, peerId: null, phase: 'waiting', share: { files: 0, total: 0, pieceSize: null }, held: 0, reportedHeld: 0 }),
  }).recorder.snapshot();
  assert.equal(validate(idle), true, JSON.stringify(validate.errors));
  recorder.stop();
});

test('a snapshot with a wrong field fails validation', () => {
  const { recorder, addPeer } = fakeRecorder();
  addPeer('r1', 'receiver');
  const good = recorder.snapshot();
  assert.equal(validate(good), true);
  const wrong = [
    (s) => { s.totals.offload = '25 %'; },
    (s) => { s.totals.received = -1; },
    (s) => { s.peers[0].phase = 'lost'; },
    (s) => { s.peers[0].rtt = 5; },
    (s) => { delete s.totals.fromPeers; },
    (s) => { s.schema = 'swarmdrop-metrics/2'; },
    (s) => { s.at = 'yesterday'; },
    (s) => { s.paths.carrier_pigeon = { links: 1, sent: 0, received: 0 }; },
    (s) => { s.series = Array.from({ length: METRICS_SERIES_MAX + 1 }, (_, t) => ({ t, down: 0, up: 0 })); },
    (s) => { s.playback = { file: 0 }; },
  ];
  for (const spoil of wrong) {
    const snapshot = structuredClone(good);
    spoil(snapshot);
    assert.equal(validate(snapshot), false, spoil.toString());
  }
});
