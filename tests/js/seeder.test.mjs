// The seeder (transfer/seeder.js): pieces go only once the link drained, the next ones prepared
// meanwhile, never more than its send-ahead bound per link however a peer asks; the origin's
// super-seeding refuses a piece while another linked member holds it or is getting it, never
// starves a receiver that can get it nowhere else, and, in a simulated swarm of the real
// Seeder/Downloader/Scheduler over fake links with a shared uplink per member, uploads about one
// copy of the file while 4 or 8 receivers that join together fetch the rest from each other; the
// greeting goes a message at a time and news reaches a peer only after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bitfield } from '../../web/src/engine/transfer/bitfield.js';
import { deriveContentKey, encryptPiece, pieceHash } from '../../web/src/engine/transfer/content.js';
import { Downloader } from '../../web/src/engine/transfer/downloader.js';
import { Requests } from '../../web/src/engine/transfer/requests.js';
import { Scheduler } from '../../web/src/engine/transfer/scheduler.js';
import { Seeder } from '../../web/src/engine/transfer/seeder.js';
import { parseMessage } from '../../web/src/engine/net/wire.js';
import { range, seeded } from './transfer-helpers.mjs';

const everything = (count) => {
  const bitfield = new Bitfield(count);
  for (let i = 0; i < count; i++) bitfield.set(i);
  return bitfield;
};

// A linked peer for the seeder to serve: records what it is sent; served(n) settles once it
// has n pieces.
function servedPeer(id, pieces = [], count = 4) {
  const peer = { id, open: true, sent: [], pieces: [], waiting: null, uploadedBytes: 0, remote: new Bitfield(count) };
  for (const piece of pieces) peer.remote.set(piece);
  peer.send = (message) => peer.sent.push(message);
  peer.sendInTurn = async (message) => peer.send(message) ?? true;
  peer.drained = async () => {};
  peer.sendPiece = async (piece, ciphertext) => {
    peer.pieces.push(piece);
    peer.uploadedBytes += ciphertext.length;
    if (peer.waiting && peer.pieces.length >= peer.waiting.count) peer.waiting.resolve();
  };
  peer.served = (count_) => new Promise((resolve) => {
    peer.waiting = { count: count_, resolve };
    if (peer.pieces.length >= count_) resolve();
  });
  return peer;
}

const seederOf = (spread, members, count = 4, options = {}) => new Seeder({
  swarm: { peers: new Map(members.map((m) => [m.id, m])) }, sealed: new Uint8Array(1),
  book: { batches: [] }, announced: everything(count), ciphertext: async () => new Uint8Array(8), servable: () => true,
  onError: (error) => { throw error; }, spread, pieceSize: 1 << 20, testHooks: {}, ...options,
});
const rejected = (peer) => peer.sent.filter((m) => m.t === 'reject').map((m) => m.piece);

test('the origin refuses a piece on its way to another linked member, twice once that one got it or holds it, then serves it', async () => {
  const [a, b] = [servedPeer('a'), servedPeer('b', [3])];
  const origin = seederOf(true, [a, b], 4, { spreadRefusals: 2 });
  origin.take(a, { t: 'request', piece: 0 });
  origin.take(b, { t: 'request', piece: 0 }); // on its way to a: b should fetch it from a
  origin.take(b, { t: 'request', piece: 1 }); // nobody has it yet: served
  origin.take(a, { t: 'request', piece: 3 }); // b announced it: a should fetch it from b
  await Promise.all([a.served(1), b.served(1)]);
  assert.deepEqual([a.pieces, b.pieces, rejected(b), rejected(a)], [[0], [1], [0], [3]]);
  a.remote.set(0); // a announced it
  origin.take(b, { t: 'request', piece: 0 }); // asked again once a has it: refused (1 of spreadRefusals)
  origin.take(b, { t: 'request', piece: 0 }); // refused (2)
  origin.take(b, { t: 'request', piece: 0 }); // and again (a was no help): served
  a.open = false;
  origin.take(b, { t: 'request', piece: 1 }); // b's own piece again: never refused
  await b.served(3);
  assert.deepEqual([b.pieces, rejected(b)], [[1, 0, 1], [0, 0, 0]]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(origin.uploadedBytes, 4 * 8);
  // A receiver seeding others never refuses for this.
  const [c, d] = [servedPeer('c'), servedPeer('d')];
  const receiver = seederOf(false, [c, d]);
  receiver.take(c, { t: 'request', piece: 2 });
  receiver.take(d, { t: 'request', piece: 2 });
  await Promise.all([c.served(1), d.served(1)]);
  assert.deepEqual([c.pieces, d.pieces, d.sent], [[2], [2], []]);
});

test('a piece on its way to another member is refused until it announces it (or spreadWaitMs), then twice more, then served', async () => {
  const a = servedPeer('a');
  let release;
  a.drained = () => new Promise((resolve) => { release = resolve; });
  const b = servedPeer('b');
  const origin = seederOf(true, [a, b], 4, { spreadRefusals: 2 });
  origin.take(a, { t: 'request', piece: 2 }); // queued for a until its link drains
  origin.take(b, { t: 'request', piece: 2 });
  origin.take(b, { t: 'request', piece: 2 }); // asked again while still queued for a: refused again
  assert.deepEqual(rejected(b), [2, 2]);
  release();
  await a.served(1);
  origin.take(b, { t: 'request', piece: 2 }); // sent, not announced yet: still on its way
  assert.deepEqual(rejected(b), [2, 2, 2]);
  a.remote.set(2);
  // a holds it: refused twice more (spreadRefusals, b may reach a), then served.
  for (let ask = 0; ask < 3; ask++) origin.take(b, { t: 'request', piece: 2 });
  await b.served(1);
  assert.deepEqual(rejected(b), [2, 2, 2, 2, 2]);
  // A member that never announces what it was sent (it cancelled it) holds nobody up for longer
  // than spreadWaitMs.
  const [c, d] = [servedPeer('c'), servedPeer('d')];
  const quick = seederOf(true, [c, d], 4, { spreadWaitMs: 0, spreadRefusals: 0 });
  quick.take(c, { t: 'request', piece: 1 });
  await c.served(1);
  await new Promise((resolve) => setImmediate(resolve));
  quick.take(d, { t: 'request', piece: 1 });
  await d.served(1);
  assert.deepEqual(rejected(d), []);
});

test('super-seeding never starves a lone receiver: alone it is never refused; after the others left neither', async () => {
  const lone = servedPeer('lone');
  const origin = seederOf(true, [lone]);
  for (const piece of range(0, 4)) origin.take(lone, { t: 'request', piece });
  await lone.served(4);
  assert.deepEqual(rejected(lone), []);
  // The others got every piece, then left.
  const [a, b] = [servedPeer('a', range(0, 4)), servedPeer('b')];
  const other = seederOf(true, [a, b]);
  other.take(b, { t: 'request', piece: 0 });
  a.open = false;
  for (const piece of range(1, 4)) other.take(b, { t: 'request', piece });
  await b.served(3);
  assert.deepEqual([rejected(b), b.pieces], [[0], [1, 2, 3]]);
  other.take(b, { t: 'request', piece: 0 });
  await b.served(4);
});

test('the seeder starts a piece only once the link drained: a piece cancelled meanwhile is never sent', async () => {
  let drain = null;
  const peer = servedPeer('p');
  peer.drained = () => new Promise((resolve) => { drain = resolve; });
  const seeder = seederOf(false, [peer]);
  const step = () => new Promise((resolve) => setTimeout(resolve, 0));
  for (const piece of [0, 1, 2]) seeder.take(peer, { t: 'request', piece });
  await step();
  assert.deepEqual(peer.pieces, []); // piece 0 waits for the buffer to drain
  drain();
  await step();
  assert.deepEqual(peer.pieces, [0]);
  seeder.take(peer, { t: 'cancel', piece: 1 }); // a seek: 1 is still in our queue
  drain();
  await step();
  drain();
  await step();
  assert.deepEqual(peer.pieces, [0, 2]);
});

test('a link that never drains makes the seeder hold at most its send-ahead pieces, however often it asks and cancels; closed, none', async () => {
  const peer = servedPeer('p', [], 64);
  let close;
  peer.drained = () => new Promise((resolve) => { close = resolve; }); // resolves only as the link closes
  const making = []; // the ciphertexts being made: call one to finish it
  let made = 0;
  const seeder = seederOf(false, [peer], 64, {
    sendAheadBytes: 2 << 20, // two pieces of 1 MiB
    ciphertext: () => {
      made += 1;
      return new Promise((resolve) => { making.push(() => resolve(new Uint8Array(8))); });
    },
  });
  const step = () => new Promise((resolve) => setImmediate(resolve));
  for (let piece = 0; piece < 16; piece++) seeder.take(peer, { t: 'request', piece });
  await step();
  assert.equal(made, 2, 'pieces 0 and 1 prepared while the link drains');
  // Asked, cancelled and asked again: a piece dropped while being made still counts.
  for (let round = 0; round < 20; round++) {
    for (const piece of [0, 1]) seeder.take(peer, { t: 'cancel', piece });
    for (const piece of [0, 1]) seeder.take(peer, { t: 'request', piece });
  }
  await step();
  assert.equal(made, 2);
  // Made, the dropped ones are let go and the first two of the queue prepared instead.
  for (const finish of making.splice(0)) finish();
  await step();
  assert.equal(made, 4);
  // The link closes: nothing goes, and nothing more is prepared.
  peer.open = false;
  close();
  for (const finish of making.splice(0)) finish();
  await step();
  await step();
  assert.deepEqual([made, peer.pieces], [4, []]);
});

// A simulated swarm: an origin and `receivers` receivers that all join at once, each member with
// an uplink of `rate` bytes/s shared by its links (pieces queue on it in order) and `latencyMs`
// one way; receiver i is linked with every other but the one opposite it when there are more
// than MAX_SWARM_LINKS + 1. Returns the origin's upload in copies of the file and the seconds
// until every receiver held every piece.
async function simulate({ receivers, count = 96, pieceSize = 16 * 1024, rate = 2_000_000, latencyMs = 3, seed = 1 }) {
  const total = count * pieceSize;
  const contentKey = await deriveContentKey(new Uint8Array(16).fill(7));
  const ciphertexts = await Promise.all(range(0, count).map((i) => encryptPiece(contentKey, i, new Uint8Array(pieceSize).fill(i))));
  const hashes = await Promise.all(ciphertexts.map(pieceHash));
  const book = { batches: [], has: () => true, get: (i) => hashes[i] };
  const random = seeded(seed);
  const started = performance.now();
  const members = [];
  let finished = 0;
  let allDone;
  const done = new Promise((resolve) => { allDone = resolve; });

  const member = (id, role) => {
    const m = { id, role, peers: new Map(), uplinkFreeAt: 0 };
    m.swarm = { peers: m.peers };
    m.held = role === 'owner' ? everything(count) : new Bitfield(count);
    m.seeder = new Seeder({
      swarm: m.swarm, sealed: new Uint8Array(1), book, announced: m.held, ciphertext: async (i) => ciphertexts[i].slice(),
      servable: () => true, onError: (error) => { throw error; }, pieceSize, spread: role === 'owner', testHooks: {},
    });
    if (role === 'receiver') {
      m.downloader = new Downloader({
        manifest: { piece_size: pieceSize, total }, contentKey, book, store: { write: async () => {} },
        scheduler: new Scheduler(new Bitfield(count), { requests: new Requests(), random }),
        peers: () => m.peers.values(), windowBytes: 4 * pieceSize, retryMs: 200,
      });
      m.downloader.on('stored', (piece) => {
        m.seeder.announce(piece);
        if (m.held.complete && ++finished === receivers) allDone((performance.now() - started) / 1000);
      });
    }
    members.push(m);
    return m;
  };

  // `from`'s Peer for `to`: what `from` sends through it reaches `to` as from `to`'s Peer for `from`.
  const peerFor = (from, to) => {
    const peer = { id: to.id, role: to.role, open: true, remote: null, bad: 0, uploadedBytes: 0 };
    const later = (ms, task) => setTimeout(task, ms);
    peer.send = (message) => later(latencyMs, () => to.handle(to.peers.get(from.id), parseMessage(structuredClone(message))));
    peer.sendInTurn = async (message) => peer.send(message) ?? true;
    peer.drained = async () => {
      for (let wait = from.uplinkFreeAt - performance.now(); wait > 0; wait = from.uplinkFreeAt - performance.now()) {
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    };
    peer.sendPiece = async (piece, ciphertext) => {
      from.uplinkFreeAt = Math.max(performance.now(), from.uplinkFreeAt) + (ciphertext.length / rate) * 1000;
      peer.uploadedBytes += ciphertext.length;
      later(from.uplinkFreeAt - performance.now() + latencyMs, () => {
        if (peer.open) to.handle(to.peers.get(from.id), { t: 'data', piece, offset: 0, data: ciphertext });
      });
      return true;
    };
    peer.addHave = ({ bitfield, pieces }) => {
      if (bitfield) peer.remote = new Bitfield(count, bitfield);
      else for (const piece of pieces) (peer.remote ??= new Bitfield(count)).set(piece);
    };
    return peer;
  };

  const origin = member('origin', 'owner');
  origin.handle = (peer, message) => {
    if (!origin.seeder.take(peer, message) && message.t === 'have') peer.addHave(message);
  };
  const all = range(0, receivers).map((i) => member(`r${i}`, 'receiver'));
  for (const r of all) {
    r.handle = (peer, message) => {
      if (!peer?.open || r.seeder.take(peer, message)) return undefined;
      if (message.t === 'have') r.downloader.have(peer, message);
      else if (message.t === 'reject') r.downloader.rejected(peer, message.piece);
      else if (message.t === 'data') return r.downloader.data(peer, message);
      return undefined;
    };
  }
  const link = (a, b) => {
    a.peers.set(b.id, peerFor(a, b));
    b.peers.set(a.id, peerFor(b, a));
  };
  for (const r of all) link(origin, r);
  const opposite = receivers > 7 ? receivers / 2 : 0;
  for (let i = 0; i < receivers; i++) for (let j = i + 1; j < receivers; j++) if (j - i !== opposite) link(all[i], all[j]);
  for (const m of members) for (const peer of m.peers.values()) m.seeder.greet(peer);
  const seconds = await done;
  for (const m of members) for (const peer of m.peers.values()) peer.open = false;
  return { copies: origin.seeder.uploadedBytes / ciphertexts.reduce((sum, c) => sum + c.length, 0), seconds };
}

for (const receivers of [4, 8]) {
  test(`a simulated swarm of an origin and ${receivers} receivers joining together: the origin uploads at most 1.25 copies`, async (t) => {
    const runs = [];
    for (const seed of [1, 2, 3]) runs.push(await simulate({ receivers, seed }));
    t.diagnostic(`origin upload in copies: ${runs.map((r) => r.copies.toFixed(2)).join(', ')}; all done in s: ${runs.map((r) => r.seconds.toFixed(2)).join(', ')}`);
    for (const { copies } of runs) assert.ok(copies <= 1.25, `the origin uploaded ${copies.toFixed(2)} copies`);
  });
}

test('the greeting goes a message at a time; news waits for its end, a batch trusted meanwhile is in it, a second greet sends nothing', async () => {
  const peer = servedPeer('p');
  const handed = []; // resolves of the messages waiting for the channel
  peer.sendInTurn = (message) => new Promise((resolve) => {
    peer.sent.push(message);
    handed.push(resolve);
  });
  const batch = (first) => ({ first, count: 1, hashes: new Uint8Array(32), sig: new Uint8Array(64) });
  const book = { batches: [batch(0)] };
  const seeder = seederOf(false, [peer], 8, { book, sealed: new Uint8Array(100_000), announced: new Bitfield(8) }); // three manifest parts
  const greeted = seeder.greet(peer);
  seeder.greet(peer);
  assert.deepEqual(peer.sent.map((m) => m.t), ['manifest']); // one at a time
  book.batches.push(batch(1));
  seeder.passOn(batch(1)); // not greeted yet: it comes with the greeting instead
  seeder.announce(2); // likewise, in the bitfield
  while (handed.length > 0) {
    handed.shift()(true);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await greeted;
  assert.deepEqual(peer.sent.map((m) => [m.t, m.part ?? m.first ?? null]), [
    ['manifest', 0], ['manifest', 1], ['manifest', 2], ['hashes', 0], ['hashes', 1], ['have', null],
  ]);
  seeder.announce(3); // greeted: news goes at once
  assert.deepEqual(peer.sent.at(-1), { t: 'have', pieces: [3] });
});

test('a piece queued for a member that stopped reading is refused to others for spreadWaitMs only', async () => {
  const stopped = servedPeer('a');
  stopped.drained = () => new Promise(() => {}); // its link never drains
  const b = servedPeer('b');
  const origin = seederOf(true, [stopped, b], 4, { spreadWaitMs: 50, spreadRefusals: 0 });
  origin.take(stopped, { t: 'request', piece: 1 });
  origin.take(b, { t: 'request', piece: 1 });
  assert.deepEqual(rejected(b), [1]);
  await new Promise((resolve) => setTimeout(resolve, 60));
  origin.take(b, { t: 'request', piece: 1 }); // still queued for a, but for longer than spreadWaitMs
  await b.served(1);
  assert.deepEqual([rejected(b), b.pieces, stopped.pieces], [[1], [1], []]);
});
