// One record per request (transfer/requests.js) and the downloader that keeps them: the window
// in bytes, cancel/refuse/bad/forget/finish leaving nothing behind, the delivery rate, a moving
// focus, and an urgent piece whose slow copy is cancelled when the fast one comes. The window
// sized from rate and latency (bandwidth-delay product) between its floor and its ceiling, never
// past the sender's budget (a real Seeder takes the requests); pieces being stored count apart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bitfield } from '../../web/src/engine/transfer/bitfield.js';
import { deriveContentKey, encryptPiece, pieceHash } from '../../web/src/engine/transfer/content.js';
import { REQUEST_BUDGET_WINDOWS, REQUEST_WINDOW_BYTES, REQUEST_WINDOW_MAX_BYTES } from '../../web/src/engine/config.js';
import { Downloader } from '../../web/src/engine/transfer/downloader.js';
import { frozenMs } from '../../web/src/engine/frozen.js';
import { piecesIn } from '../../web/src/engine/transfer/pieces.js';
import { Requests } from '../../web/src/engine/transfer/requests.js';
import { Scheduler } from '../../web/src/engine/transfer/scheduler.js';
import { Seeder } from '../../web/src/engine/transfer/seeder.js';
import { fakeClock, fakePeer, measure, range, seeded } from './transfer-helpers.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;

test('one record per (piece, peer): queries by peer and piece, the window in bytes, and end/finish/forget leave nothing', () => {
  const clock = fakeClock();
  const requests = new Requests({ now: clock.now });
  const [a, b] = [{ id: 'a' }, { id: 'b' }];
  const first = requests.ask(0, a, 100);
  requests.ask(1, a, 50);
  requests.ask(0, b, 100);
  assert.equal(requests.get(0, a), first);
  assert.deepEqual(requests.of(a).map((r) => r.piece), [0, 1]);
  assert.deepEqual(requests.sourcesOf(0), [a, b]);
  assert.deepEqual([requests.bytesOf(a), requests.bytesOf(b), requests.countOf(a), requests.pieceCount], [150, 100, 2, 2]);
  requests.end(1, a); // cancelled or refused
  assert.deepEqual([requests.get(1, a), requests.asked(1), requests.bytesOf(a)], [null, false, 100]);
  requests.end(1, a); // twice: nothing more
  assert.equal(requests.bytesOf(a), 100);
  // Piece 0 came from a: b's request ends, a's bytes leave its window and count as storing
  // until stored.
  assert.deepEqual(requests.finish(0, a), [b]);
  assert.deepEqual([requests.asked(0), requests.countOf(a), requests.bytesOf(a), requests.bytesOf(b)], [false, 0, 0, 0]);
  assert.deepEqual([requests.windowBytes, requests.storingBytes], [0, 100]);
  requests.stored(first);
  requests.stored(first); // twice: nothing more
  assert.deepEqual([requests.bytesOf(a), requests.storingBytes], [0, 0]);
  // Whole pieces being verified count as storing, not in the window, until they end.
  const whole = requests.ask(2, b, 10);
  requests.ask(3, b, 10);
  requests.arrived(whole);
  assert.deepEqual([requests.bytesOf(b), requests.windowBytes, requests.storingBytes], [10, 10, 10]);
  assert.deepEqual(requests.forget(b), [2, 3]);
  assert.deepEqual([requests.pieceCount, requests.countOf(b), requests.bytesOf(b), [...requests.pieces]], [0, 0, 0, []]);
  assert.deepEqual([requests.windowBytes, requests.storingBytes], [0, 0]);
  // A finished piece whose peer left meanwhile counts until it is written.
  const last = requests.ask(4, b, 30);
  requests.finish(4, b);
  requests.forget(b);
  assert.equal(requests.storingBytes, 30);
  requests.stored(last);
  assert.deepEqual([requests.bytesOf(b), requests.storingBytes], [0, 0]);
});

test('a delivery rate counts only the time a peer had requests outstanding, and a stall against it', () => {
  const clock = fakeClock();
  const requests = new Requests({ now: clock.now });
  const a = { id: 'a' };
  assert.equal(requests.rateOf(a), null);
  const request = requests.ask(0, a, 1_000_000);
  clock.advance(500);
  requests.received(request, 500_000);
  assert.equal(requests.rateOf(a), null); // not a whole piece, not a whole window: unmeasured
  clock.advance(500);
  requests.received(request, 500_000);
  requests.finish(0, a);
  assert.equal(requests.rateOf(a), 1_000_000);
  clock.advance(60_000); // idle: the measure stays
  assert.equal(requests.rateOf(a), 1_000_000);
  requests.ask(1, a, 1_000_000);
  clock.advance(1_000); // asked and nothing came: slower
  assert.equal(requests.rateOf(a), 500_000);
  measure(requests, clock, { id: 'b' }, 2_000);
  assert.equal(requests.rateOf({ id: 'c' }), null);
});

// A downloader over `count` pieces of `pieceSize` (C_i of piece i: encrypted i-filled bytes).
// `write` stands for the store's; `options` go to the Downloader.
async function downloaderFor({
  count, pieceSize, peers, total = count * pieceSize, windowBytes, clock = fakeClock(), write = async () => {}, ...options
}) {
  const contentKey = await deriveContentKey(new Uint8Array(16));
  const manifest = { piece_size: pieceSize, total };
  const ciphertexts = await Promise.all(range(0, count).map((i) => {
    const size = Math.min(pieceSize, total - i * pieceSize);
    return encryptPiece(contentKey, i, new Uint8Array(size).fill(i));
  }));
  const hashes = await Promise.all(ciphertexts.map(pieceHash));
  const stored = [];
  const store = { write: async (piece) => { await write(piece); stored.push(piece); } };
  const book = { has: (i) => i < count, get: (i) => hashes[i] };
  const scheduler = new Scheduler(new Bitfield(count), { requests: new Requests({ now: clock.now }), random: seeded(3) });
  const downloader = new Downloader({ manifest, contentKey, book, store, scheduler, peers: () => peers, windowBytes, ...options });
  for (const peer of peers) scheduler.have(peer, { bitfield: peer.remote.bytes });
  const deliver = (peer, piece) => downloader.data(peer, { piece, offset: 0, data: ciphertexts[piece] });
  return { downloader, scheduler, requests: scheduler.requests, stored, deliver, clock };
}

const asked = (peer, type = 'request') => peer.sent.filter((m) => m.t === type).map((m) => m.piece);

test('the window counts bytes: whole pieces up to it, a short last piece as its size', async () => {
  const count = 6;
  const peer = fakePeer('a', range(0, count), count);
  // 256 KiB pieces, the last one 16 KiB; a window of 1 MiB.
  const { downloader, requests } = await downloaderFor({
    count, pieceSize: 256 * KiB, total: 5 * 256 * KiB + 16 * KiB, peers: [peer], windowBytes: MiB,
  });
  downloader.focus(2); // in order from piece 2, so that the pieces are known
  assert.deepEqual(asked(peer), [2, 3, 4, 5]);
  assert.equal(requests.bytesOf(peer), 3 * 256 * KiB + 16 * KiB);
  const lone = fakePeer('b', range(0, 3), 3);
  const big = await downloaderFor({ count: 3, pieceSize: 2 * MiB, peers: [lone], windowBytes: MiB });
  big.downloader.fill(); // a piece larger than the window: one at a time
  assert.equal(big.requests.countOf(lone), 1);
});

test('refused, bad and forgotten requests end in one place; a stored piece frees the window', async () => {
  const count = 4;
  const a = fakePeer('a', range(0, count), count);
  const b = fakePeer('b', range(0, count), count);
  const { downloader, requests, stored, deliver } = await downloaderFor({ count, pieceSize: 16 * KiB, peers: [a, b], windowBytes: 32 * KiB });
  downloader.fill();
  assert.equal(requests.pieceCount, 4);
  const [first] = asked(a);
  downloader.rejected(a, first);
  assert.equal(requests.get(first, a), null);
  downloader.rejected(a, first); // a second refusal of what is no longer asked: ignored
  const [piece] = asked(b);
  await deliver(b, piece);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(stored, [piece]);
  assert.equal(requests.asked(piece), false);
  // Bad data (too long for the piece) ends the request and counts against the peer.
  const [other] = requests.of(a).map((r) => r.piece);
  await downloader.data(a, { piece: other, offset: 16 * KiB, data: new Uint8Array(100) });
  assert.deepEqual([a.bad, requests.get(other, a)], [1, null]);
  a.open = false;
  downloader.forget(a);
  assert.deepEqual([requests.countOf(a), requests.bytesOf(a)], [0, 0]);
  for (const p of range(0, count)) for (const source of requests.sourcesOf(p)) assert.notEqual(source, a);
});

test('moving the focus cancels requests far from it that have no bytes yet, and asks for those at it', async () => {
  const count = 40;
  const peer = fakePeer('a', range(0, count), count);
  const { downloader, requests } = await downloaderFor({ count, pieceSize: MiB, total: count * MiB, peers: [peer], windowBytes: 4 * MiB });
  downloader.focus(0);
  assert.deepEqual(asked(peer), [0, 1, 2, 3]);
  requests.received(requests.get(1, peer), 10); // piece 1 is on its way: kept
  peer.sent.length = 0;
  downloader.focus(30, 8);
  assert.deepEqual(asked(peer, 'cancel'), [0, 2, 3]);
  assert.deepEqual(asked(peer), [30, 31, 32]);
  peer.sent.length = 0;
  downloader.focus(30, 8); // the same focus: nothing changes
  assert.equal(peer.sent.length, 0);
  downloader.focus(33, 8); // playing on: a small step forward cancels nothing
  assert.equal(asked(peer, 'cancel').length, 0);
  assert.deepEqual(requests.of(peer).map((r) => r.piece).sort((x, y) => x - y), [1, 30, 31, 32]);
  downloader.focus(10, 8); // a seek back: the requests far from it go
  assert.deepEqual(asked(peer, 'cancel'), [30, 31, 32]);
});

test('wanted pieces cancel the requests queued ahead of them at a peer, not those asked after them', async () => {
  const count = 20;
  const peer = fakePeer('a', range(0, count), count);
  const { downloader, requests } = await downloaderFor({ count, pieceSize: MiB, total: count * MiB, peers: [peer], windowBytes: 4 * MiB });
  downloader.focus(0);
  assert.deepEqual(asked(peer), [0, 1, 2, 3]);
  peer.sent.length = 0;
  downloader.want([1]); // asked already, behind 0 only: 2 and 3 are behind it and stay
  assert.deepEqual(asked(peer, 'cancel'), [0]);
  assert.deepEqual(requests.of(peer).map((r) => r.piece), [1, 2, 3, 0]);
  peer.sent.length = 0;
  downloader.want([15]); // asked of nobody: everything queued is ahead of it
  assert.deepEqual(asked(peer, 'cancel'), [1, 2, 3, 0]);
  assert.deepEqual(asked(peer).slice(0, 2), [1, 15]); // in the order wanted: 1 still is
});

test('an urgent piece on a slow link is asked of a fast one too; the first copy wins and the other is cancelled', async () => {
  const count = 8;
  const slow = fakePeer('slow', range(0, count), count);
  const fast = fakePeer('fast', range(0, count), count);
  const clock = fakeClock();
  const peers = [slow];
  const { downloader, requests, stored, deliver } = await downloaderFor({
    count, pieceSize: 16 * KiB, peers, windowBytes: 64 * KiB, clock,
  });
  measure(requests, clock, slow, 10_000);
  downloader.want([5]);
  assert.equal(asked(slow)[0], 5);
  // A fast link opens: it is asked for the urgent piece too.
  peers.push(fast);
  measure(requests, clock, fast, 1_000_000);
  downloader.have(fast, { bitfield: fast.remote.bytes });
  assert.equal(asked(fast)[0], 5);
  await deliver(fast, 5);
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(stored.includes(5));
  assert.deepEqual(asked(slow, 'cancel'), [5]);
  assert.equal(requests.asked(5), false);
  await deliver(slow, 5); // its frames still come: ignored
  assert.equal(slow.bad, 0);
});

test('a peer that sends nothing while asked goes quiet: its pieces are asked of the owner too, and past linkStallMs it is reported stalled', async () => {
  const count = 2;
  const owner = fakePeer('o', range(0, count), count, 'owner');
  const b = fakePeer('b', range(0, count), count);
  const { downloader, requests, clock, deliver } = await downloaderFor({ count, pieceSize: 16 * KiB, peers: [owner, b], windowBytes: 32 * KiB });
  const stalled = [];
  downloader.on('stalled', (peer) => stalled.push(peer.id));
  downloader.fill();
  // b holds both: the owner is asked for nothing while b answers.
  assert.deepEqual([asked(b).sort(), asked(owner)], [[0, 1], []]);
  clock.advance(3_000);
  await deliver(b, 0); // a sign of life
  clock.advance(3_000);
  downloader.checkLiveness();
  assert.deepEqual([requests.quietMs(b), asked(owner), stalled], [3_000, [], []]);
  // Quiet for REQUEST_IDLE_MS (4 s): what is asked only of b goes to the owner too.
  clock.advance(1_000);
  downloader.checkLiveness();
  assert.deepEqual([asked(owner), requests.sourcesOf(1).map((p) => p.id).sort(), stalled], [[1], ['b', 'o'], []]);
  // Quiet for linkStallMs (10 s), b is reported; the owner, asked 6 s ago, is not yet.
  clock.advance(6_000);
  downloader.checkLiveness();
  assert.deepEqual([stalled, requests.quietMs(owner)], [['b'], 6_000]);
});

test('quietMs counts from the last byte or reject, or from when a peer with nothing asked was asked', () => {
  const clock = fakeClock();
  const requests = new Requests({ now: clock.now });
  const peer = { id: 'p' };
  clock.advance(50_000); // idle long before: that is no silence
  const request = requests.ask(0, peer, 10);
  clock.advance(2_000);
  assert.equal(requests.quietMs(peer), 2_000);
  requests.received(request, 5);
  clock.advance(1_000);
  assert.equal(requests.quietMs(peer), 1_000);
  requests.heard(peer);
  assert.equal(requests.quietMs(peer), 0);
  clock.advance(4_000);
  assert.deepEqual([...requests.quietPeers(4_000)], [peer]);
  requests.end(0, peer);
  assert.deepEqual([requests.quietMs(peer), requests.quietPeers(0).size], [0, 0]);
});

// Gives `peer` a delivery rate of `rate` bytes/s and a latency of `latencyMs` in `requests`: a
// request asked with nothing ahead, its first byte latencyMs later, the rest in the next second.
function link(requests, clock, peer, { rate, latencyMs }) {
  const bytes = Math.round((rate * (latencyMs + 1_000)) / 1000);
  const request = requests.ask(-1, peer, bytes);
  clock.advance(latencyMs);
  requests.received(request, 1);
  clock.advance(1_000);
  requests.received(request, bytes - 1);
  requests.finish(-1, peer);
  requests.stored(request);
}

test('the window is twice rate x latency plus a piece, between the floor and the ceiling', async () => {
  const count = 16;
  const [peer, fast, far] = ['a', 'b', 'c'].map((id) => fakePeer(id, range(0, count), count));
  const { downloader, requests, clock } = await downloaderFor({ count, pieceSize: MiB, peers: [peer, fast], windowBytes: 4 * MiB });
  assert.equal(downloader.windowOf(peer), 4 * MiB); // unmeasured: the floor
  link(requests, clock, peer, { rate: 10e6, latencyMs: 50 }); // 1 MB: under the floor
  assert.deepEqual([requests.latencyOf(peer), Math.round(requests.rateOf(peer))], [50, 10e6]);
  assert.equal(downloader.windowOf(peer), 4 * MiB);
  link(requests, clock, fast, { rate: 40e6, latencyMs: 60 }); // 4.8 MB and a piece
  assert.ok(Math.abs(downloader.windowOf(fast) - (4.8e6 + MiB)) < 1_000);
  downloader.fill();
  assert.deepEqual([requests.countOf(peer), requests.countOf(fast)], [4, 5]);
  link(requests, clock, far, { rate: 100e6, latencyMs: 200 }); // 40 MB: the ceiling
  assert.equal(downloader.windowOf(far), REQUEST_WINDOW_MAX_BYTES);
});

test('however fast and far a link, the window stays within half of what the sender takes unanswered', async () => {
  for (const [pieceSize, count] of [[16 * KiB, 600], [256 * KiB, 40], [MiB, 12], [4 * MiB, 4]]) {
    const budget = REQUEST_BUDGET_WINDOWS * piecesIn(REQUEST_WINDOW_BYTES, pieceSize);
    const peer = fakePeer('a', range(0, count), count);
    const { downloader, requests, clock } = await downloaderFor({ count, pieceSize, peers: [peer], windowBytes: REQUEST_WINDOW_BYTES });
    link(requests, clock, peer, { rate: 1e9, latencyMs: 1_000 });
    downloader.fill();
    const asks = peer.sent.filter((m) => m.t === 'request');
    assert.ok(asks.length <= budget / 2, `${asks.length} of ${pieceSize}-byte pieces asked, budget ${budget}`);
    assert.ok(asks.length >= piecesIn(REQUEST_WINDOW_BYTES, pieceSize), 'at least the floor');
    // The sender's own count: every request refused and its reject waiting counts; none is too many.
    const sender = { id: 'receiver', open: true, sendInTurn: () => new Promise(() => {}) };
    const seeder = new Seeder({
      swarm: { peers: new Map() }, sealed: new Uint8Array(1), book: null, announced: new Bitfield(count),
      ciphertext: null, servable: () => false, onError: (error) => { throw error; }, pieceSize,
    });
    for (const message of asks) seeder.take(sender, message);
  }
});

test('the window shrinks when the rate falls; a stalled link\'s never grows', async () => {
  const count = 32;
  const [peer, slow] = ['a', 'b'].map((id) => fakePeer(id, range(0, count), count));
  const peers = [peer];
  const { downloader, requests, clock, deliver } = await downloaderFor({ count, pieceSize: MiB, peers, windowBytes: 4 * MiB });
  link(requests, clock, peer, { rate: 40e6, latencyMs: 80 });
  const before = downloader.windowOf(peer);
  assert.ok(before > 7 * MiB, `${before}`);
  downloader.fill();
  // Asked and nothing comes: each look finds the window smaller or the same, down to the floor.
  let last = before;
  for (let step = 0; step < 50; step++) {
    clock.advance(200);
    const now = downloader.windowOf(peer);
    assert.ok(now <= last, `step ${step}: ${now} > ${last}`);
    last = now;
  }
  assert.equal(last, 4 * MiB);
  // It delivers again, slower: the window follows the rate, under the first.
  peers.push(slow);
  link(requests, clock, slow, { rate: 40e6, latencyMs: 80 });
  const first = downloader.windowOf(slow);
  downloader.have(slow, { bitfield: slow.remote.bytes });
  for (const { piece } of requests.of(slow)) {
    clock.advance(100); // 1 MiB in 100 ms: 10 MB/s
    await deliver(slow, piece);
  }
  assert.ok(downloader.windowOf(slow) < first, `${downloader.windowOf(slow)} >= ${first}`);
});

test('a piece that came whole leaves the window at once; while writes hold storingBytes nothing is asked', async () => {
  const count = 12;
  const peer = fakePeer('a', range(0, count), count);
  const writes = [];
  const { downloader, requests, stored, deliver } = await downloaderFor({
    count, pieceSize: 16 * KiB, peers: [peer], windowBytes: 64 * KiB, storingBytes: 32 * KiB,
    write: () => new Promise((resolve) => writes.push(resolve)),
  });
  downloader.focus(0);
  assert.deepEqual(asked(peer), [0, 1, 2, 3]);
  await deliver(peer, 0); // being written: piece 4 takes its place in the window
  assert.deepEqual([asked(peer), requests.bytesOf(peer), requests.storingBytes], [[0, 1, 2, 3, 4], 64 * KiB, 16 * KiB]);
  await deliver(peer, 1); // storing is full: nothing more is asked
  assert.deepEqual([asked(peer).length, requests.bytesOf(peer), requests.storingBytes], [5, 48 * KiB, 32 * KiB]);
  await new Promise((resolve) => setImmediate(resolve));
  for (const resolve of writes.splice(0)) resolve();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual([stored, asked(peer), requests.storingBytes], [[0, 1], [0, 1, 2, 3, 4, 5], 0]);
  assert.equal(requests.bytesOf(peer), 64 * KiB);
});

test('all windows together stay within totalWindowBytes, and a link with nothing asked may still ask one piece', async () => {
  const count = 12;
  const [a, b, c] = ['a', 'b', 'c'].map((id) => fakePeer(id, range(0, count), count));
  const peers = [a, b];
  const { downloader, requests } = await downloaderFor({
    count, pieceSize: 16 * KiB, peers, windowBytes: 64 * KiB, totalWindowBytes: 96 * KiB,
  });
  downloader.fill();
  assert.deepEqual([requests.countOf(a), requests.countOf(b), requests.windowBytes], [3, 3, 96 * KiB]);
  peers.push(c);
  downloader.have(c, { bitfield: c.remote.bytes });
  assert.deepEqual([requests.countOf(c), requests.windowBytes], [1, 112 * KiB]);
});

test('endgame does not double a piece whose frames all came (it is being verified)', () => {
  const count = 2;
  const [a, b] = ['a', 'b'].map((id) => fakePeer(id, range(0, count), count));
  const scheduler = new Scheduler(new Bitfield(count), { random: seeded(1) });
  for (const peer of [a, b]) scheduler.have(peer, { bitfield: peer.remote.bytes });
  const { requests } = scheduler;
  const whole = requests.ask(0, a, 10);
  requests.ask(1, a, 10);
  requests.arrived(whole);
  assert.equal(scheduler.next(b), 1); // every piece asked: b doubles the one still coming
});

test('time our page was frozen counts as no peer\'s silence: a peer quiet only across it is not reported stalled', async () => {
  const count = 1;
  const b = fakePeer('b', range(0, count), count);
  const { downloader, requests, clock } = await downloaderFor({ count, pieceSize: 16 * KiB, peers: [b], windowBytes: 32 * KiB });
  const stalled = [];
  downloader.on('stalled', (peer) => stalled.push(peer.id));
  downloader.fill();
  clock.advance(2_000);
  downloader.checkLiveness();
  clock.advance(25_000); // the process was stopped: the next tick comes 25 s late
  downloader.checkLiveness(24_500);
  assert.deepEqual([stalled, requests.quietMs(b)], [[], 2_500]);
  clock.advance(8_000); // then really quiet: reported once past linkStallMs of running time
  downloader.checkLiveness();
  assert.deepEqual(stalled, ['b']);
});

test('frozenMs: a timer late by more than its period measures a freeze; less is a busy thread', () => {
  assert.equal(frozenMs(1_000, 500, 1_400), 0);
  assert.equal(frozenMs(1_000, 500, 1_500), 0);
  assert.equal(frozenMs(1_000, 500, 26_000), 25_000);
});
