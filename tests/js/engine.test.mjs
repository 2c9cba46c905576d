// Engine modules that need no browser: the hash-batch records kept on disk, the scheduler's
// refusals, and the link's first message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bitfield } from '../../web/src/engine/transfer/bitfield.js';
import { HashBook, decodeBatches, encodeBatch } from '../../web/src/engine/transfer/hashes.js';
import { Scheduler } from '../../web/src/engine/transfer/scheduler.js';
import { sameBytes } from '../../web/src/engine/transfer/content.js';
import { ProtocolError, parseMessage, readTextMessage } from '../../web/src/engine/net/wire.js';

const batch = (first, count, fill) => ({
  first, count, hashes: new Uint8Array(count * 32).fill(fill), sig: new Uint8Array(64).fill(fill + 1),
});

test('hash batch records round-trip in order, and a record cut short ends them', () => {
  const batches = [batch(0, 1, 1), batch(5, 3, 7), batch(1, 1, 9)];
  const bytes = Buffer.concat(batches.map(encodeBatch));
  assert.deepEqual(decodeBatches(new Uint8Array(bytes)), batches);
  assert.deepEqual(decodeBatches(new Uint8Array(bytes.subarray(0, bytes.length - 1))), batches.slice(0, 2));
  assert.deepEqual(decodeBatches(new Uint8Array(bytes.subarray(0, 5))), []);
  assert.deepEqual(decodeBatches(new Uint8Array(0)), []);
  // A zero count is never written: whatever follows it is not trusted either.
  const zero = encodeBatch(batch(0, 1, 1));
  zero[7] = 0;
  assert.deepEqual(decodeBatches(zero), []);
});

test('restored batches make their pieces known; those outside the share are skipped', () => {
  const book = new HashBook(4, null);
  book.restore([batch(0, 2, 3), batch(3, 2, 4), batch(1, 1, 5)]);
  assert.deepEqual([0, 1, 2, 3].map((i) => book.has(i)), [true, true, false, false]);
  assert.equal(book.get(1)[0], 3); // the first batch for a piece wins
  assert.equal(book.batches.length, 1);
});

function peerWith(id, pieces, count) {
  const remote = new Bitfield(count);
  for (const piece of pieces) remote.set(piece);
  return { id, remote, requested: new Set() };
}

test('a piece a peer refused is asked of another peer, and of that one again after resume', () => {
  const scheduler = new Scheduler(new Bitfield(2));
  const a = peerWith('a', [0, 1], 2);
  const b = peerWith('b', [0], 2);
  scheduler.pause(0, a);
  assert.equal(scheduler.next(a), 1);
  assert.equal(scheduler.next(b), 0);
  scheduler.resume(0, b); // resuming a peer that was not paused changes nothing
  scheduler.resume(0, a);
  assert.equal(scheduler.next(a), 0);
});

test('a piece a peer sent bad is never asked of it again', () => {
  const scheduler = new Scheduler(new Bitfield(1));
  const a = peerWith('a', [0], 1);
  scheduler.avoid(0, a);
  scheduler.resume(0, a);
  assert.equal(scheduler.next(a), null);
});

test('hello is the only member-less message; unknown types are ignored', () => {
  assert.deepEqual(parseMessage({ t: 'hello' }), { t: 'hello' });
  assert.deepEqual(parseMessage({ t: 'hello', extra: 1 }), { t: 'hello' });
  assert.equal(parseMessage({ t: 'from-the-future' }), null);
  assert.throws(() => parseMessage({ t: 'request', piece: -1 }), ProtocolError);
});

test('a text message is a JSON object with a string t, or nothing', () => {
  assert.deepEqual(readTextMessage('{"t":"have","pieces":[1]}'), { t: 'have', pieces: [1] });
  for (const text of ['', 'not json', '7', 'null', '[]', '{"t":1}', '{"type":"have"}']) assert.equal(readTextMessage(text), null, text);
});

test('sameBytes compares length and every byte', () => {
  assert.ok(sameBytes(new Uint8Array([1, 2, 3]), Uint8Array.of(1, 2, 3)));
  assert.ok(!sameBytes(new Uint8Array([1, 2, 3]), Uint8Array.of(1, 2, 4)));
  assert.ok(!sameBytes(new Uint8Array([1, 2]), Uint8Array.of(1, 2, 0)));
  assert.ok(sameBytes(new Uint8Array(0), new Uint8Array(0)));
});

test('the scheduler asks for the lowest missing piece at or after its focus first, then the rest', () => {
  const done = new Bitfield(10);
  done.set(0);
  const scheduler = new Scheduler(done);
  const a = peerWith('a', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10);
  const b = peerWith('b', [1, 2, 3, 6], 10);
  assert.equal(scheduler.focus, 0);
  assert.equal(scheduler.next(a), 1); // no focus: lowest missing first
  scheduler.setFocus(5);
  assert.equal(scheduler.focus, 5);
  assert.equal(scheduler.next(a), 5);
  scheduler.assign(5, a);
  assert.equal(scheduler.next(a), 6);
  assert.equal(scheduler.next(b), 6); // b lacks 5: its first piece at or after the focus
  scheduler.assign(6, b);
  scheduler.finish(5);
  scheduler.finish(6);
  assert.equal(scheduler.next(b), 1); // nothing b has past the focus: the rest, from the start
  for (const piece of [7, 8, 9]) {
    assert.equal(scheduler.next(a), piece);
    scheduler.assign(piece, a);
    scheduler.finish(piece);
  }
  assert.equal(scheduler.next(a), 1); // past the end: back to the lowest missing
  scheduler.setFocus(2);
  assert.equal(scheduler.next(a), 2);
  scheduler.setFocus(1000); // clamped to the end: the plain order
  assert.equal(scheduler.next(a), 1);
  scheduler.setFocus(0);
  assert.equal(scheduler.next(a), 1);
  // The endgame still works with a focus: every missing piece asked, an idle peer doubles one.
  const all = new Scheduler(new Bitfield(3));
  const c = peerWith('c', [0, 1, 2], 3);
  const d = peerWith('d', [0, 1, 2], 3);
  all.setFocus(2);
  assert.deepEqual([0, 1, 2].map(() => { const p = all.next(c); all.assign(p, c); c.requested.add(p); return p; }), [2, 0, 1]);
  assert.equal(all.next(d), 2);
  assert.deepEqual(all.askedOf(c).sort(), [0, 1, 2]);
});

test('moving the downloader\'s focus cancels requests far from it that have no bytes yet, and asks for those at it', async () => {
  const { Downloader } = await import('../../web/src/engine/transfer/downloader.js');
  const count = 40;
  const scheduler = new Scheduler(new Bitfield(count));
  const sent = [];
  const peer = { ...peerWith('a', Array.from({ length: count }, (_, i) => i), count), open: true, incoming: new Map(), send: (m) => sent.push(m) };
  // A window of 4 MiB: four pieces of 1 MiB.
  const manifest = { piece_size: 1 << 20 };
  const downloader = new Downloader({ manifest, contentKey: null, book: null, store: null, scheduler, peers: () => [peer] });
  downloader.fill();
  assert.deepEqual([...peer.requested], [0, 1, 2, 3]);
  peer.incoming.set(1, { received: 10 }); // piece 1 is on its way: kept
  sent.length = 0;
  downloader.focus(30, 8);
  assert.deepEqual(sent.filter((m) => m.t === 'cancel').map((m) => m.piece), [0, 2, 3]);
  assert.deepEqual(sent.filter((m) => m.t === 'request').map((m) => m.piece), [30, 31, 32]);
  assert.deepEqual([...peer.requested].sort((x, y) => x - y), [1, 30, 31, 32]);
  sent.length = 0;
  downloader.focus(30, 8); // the same focus: nothing changes
  assert.equal(sent.length, 0);
  downloader.focus(33, 8); // playing on: a small step forward cancels nothing
  assert.equal(sent.filter((m) => m.t === 'cancel').length, 0);
  assert.deepEqual([...peer.requested].sort((x, y) => x - y), [1, 30, 31, 32]);
  downloader.focus(10, 8); // a seek back: the requests far from it go
  assert.deepEqual(sent.filter((m) => m.t === 'cancel').map((m) => m.piece), [30, 31, 32]);
});

test('wanted pieces are asked for before the focus and the plain order; done ones are skipped', () => {
  const done = new Bitfield(10);
  done.set(8);
  const scheduler = new Scheduler(done);
  const a = peerWith('a', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10);
  const b = peerWith('b', [0, 1, 2, 3, 4, 5, 6, 7, 8], 10); // lacks 9
  scheduler.setFocus(4);
  scheduler.want([9, 8, 2, -1, 10]); // 8 is done; -1 and 10 are outside the share
  assert.equal(scheduler.next(a), 9); // the first wanted, before the focus
  assert.equal(scheduler.next(b), 2); // b lacks 9: the next wanted it has
  scheduler.assign(9, a);
  assert.equal(scheduler.next(a), 2); // 9 is asked already: the next wanted
  scheduler.assign(2, b);
  assert.equal(scheduler.next(a), 4); // every wanted piece asked: the focus
  assert.equal(scheduler.next(b), 4);
  scheduler.release(2, b); // a wanted piece whose request ended comes back first
  assert.equal(scheduler.next(a), 2);
  scheduler.finish(2);
  scheduler.finish(9);
  assert.equal(scheduler.next(a), 4); // done wanted pieces are dropped
  scheduler.want([9, 2]); // already done: not wanted again
  assert.equal(scheduler.next(a), 4);
  scheduler.setFocus(0);
  scheduler.want([7, 3]);
  assert.equal(scheduler.next(a), 7); // in the order wanted, not the piece order
  scheduler.assign(7, a);
  assert.equal(scheduler.next(a), 3);
  scheduler.assign(3, a);
  assert.equal(scheduler.next(a), 0); // then the plain order
  scheduler.pause(0, b);
  scheduler.want([0]);
  assert.equal(scheduler.next(b), 1); // b may not be asked for the wanted 0 now: the plain order
  assert.equal(scheduler.next(a), 0);
});

test('the origin refuses a piece once to a peer while it went to another linked member, then serves it', async () => {
  const { Seeder } = await import('../../web/src/engine/transfer/seeder.js');
  const everything = new Bitfield(4);
  for (let i = 0; i < 4; i++) everything.set(i);
  // A peer whose sendPiece settles `served` once it has `expect` pieces.
  const peer = (id) => {
    const p = { id, open: true, sent: [], pieces: [], waiting: null };
    p.send = (message) => p.sent.push(message);
    p.drained = async () => {};
    p.sendPiece = async (piece) => {
      p.pieces.push(piece);
      if (p.waiting && p.pieces.length >= p.waiting.count) p.waiting.resolve();
    };
    p.served = (count) => new Promise((resolve) => {
      p.waiting = { count, resolve };
      if (p.pieces.length >= count) resolve();
    });
    return p;
  };
  const seeder = (spread, members) => new Seeder({
    swarm: { broadcast() {}, peers: new Map(members.map((m) => [m.id, m])) }, sealed: new Uint8Array(1),
    book: { batches: [] }, announced: everything, ciphertext: async () => new Uint8Array(8), servable: () => true,
    onError: (error) => { throw error; }, spread, pieceSize: 1 << 20,
  });
  const [a, b] = [peer('a'), peer('b')];
  const origin = seeder(true, [a, b]);
  origin.take(a, { t: 'request', piece: 0 });
  origin.take(b, { t: 'request', piece: 0 }); // went to a: b should fetch it from a
  origin.take(b, { t: 'request', piece: 1 }); // nobody has it yet: served
  await Promise.all([a.served(1), b.served(1)]);
  assert.deepEqual(a.pieces, [0]);
  assert.deepEqual(b.pieces, [1]);
  assert.deepEqual(b.sent, [{ t: 'reject', piece: 0 }]);
  origin.take(b, { t: 'request', piece: 0 }); // asked again (a was no help): served
  a.open = false;
  origin.take(b, { t: 'request', piece: 1 }); // b's own piece again: never refused
  await b.served(3);
  assert.deepEqual(b.pieces, [1, 0, 1]);
  assert.equal(b.sent.length, 1);
  // A receiver seeding others never refuses for this.
  const [c, d] = [peer('c'), peer('d')];
  const receiver = seeder(false, [c, d]);
  receiver.take(c, { t: 'request', piece: 2 });
  receiver.take(d, { t: 'request', piece: 2 });
  await Promise.all([c.served(1), d.served(1)]);
  assert.deepEqual([c.pieces, d.pieces, d.sent], [[2], [2], []]);
});

test('the seeder starts a piece only once the link drained: a piece cancelled meanwhile is never sent', async () => {
  const { Seeder } = await import('../../web/src/engine/transfer/seeder.js');
  const everything = new Bitfield(4);
  for (let i = 0; i < 4; i++) everything.set(i);
  let drain = null;
  const peer = {
    id: 'p', open: true, sent: [], pieces: [],
    send(message) { this.sent.push(message); },
    drained: () => new Promise((resolve) => { drain = resolve; }),
    async sendPiece(piece) { this.pieces.push(piece); },
  };
  const seeder = new Seeder({
    swarm: { broadcast() {}, peers: new Map([['p', peer]]) }, sealed: new Uint8Array(1), book: { has: () => true },
    announced: everything, ciphertext: async () => new Uint8Array(4), servable: () => true, onError: (error) => { throw error; },
    pieceSize: 1 << 20,
  });
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
