// Engine modules that need no browser: the hash-batch records kept on disk and the link's first
// message (the scheduler, requests and seeder have their own tests).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HashBook, decodeBatches, encodeBatch } from '../../web/src/engine/transfer/hashes.js';
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
