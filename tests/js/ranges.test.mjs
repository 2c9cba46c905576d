// HTTP byte ranges (ranges.js) and a file's bytes over the piece store (file-bytes.js): edge
// cases and bad input.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FileBytes, PiecesMissing } from '../../web/src/engine/media/file-bytes.js';
import { parseRange, rangeHeaders } from '../../web/src/engine/media/ranges.js';
import { test } from 'node:test';
import { fakeStore, shareBytes } from './media-helpers.mjs';

// ---------------------------------------------------------------------------------------------
// ranges.js

test('ranges: no header, or one that is not a byte range, is the whole file (200)', () => {
  for (const header of [undefined, null, '', 42, 'bytes=', 'bytes=abc', 'bytes=1-a', 'bytes=-', 'items=0-1', 'bytes 0-1', 'bytes=0-1;x', 'bytes=0x10-', 'bytes=1.5-2', 'bytes=--1']) {
    assert.deepEqual(parseRange(header, 1000), { status: 200, start: 0, end: 1000 }, String(header));
  }
});

test('ranges: one range is 206 with the bytes [start, end)', () => {
  assert.deepEqual(parseRange('bytes=0-', 1000), { status: 206, start: 0, end: 1000 });
  assert.deepEqual(parseRange('bytes=0-0', 1000), { status: 206, start: 0, end: 1 });
  assert.deepEqual(parseRange('bytes=100-199', 1000), { status: 206, start: 100, end: 200 });
  assert.deepEqual(parseRange('bytes=500-', 1000), { status: 206, start: 500, end: 1000 });
  assert.deepEqual(parseRange('bytes=999-', 1000), { status: 206, start: 999, end: 1000 });
  assert.deepEqual(parseRange('bytes=999-999', 1000), { status: 206, start: 999, end: 1000 });
  // Case and spaces around the unit and the range.
  assert.deepEqual(parseRange('  Bytes= 100-199 ', 1000), { status: 206, start: 100, end: 200 });
});

test('ranges: a suffix is the last N bytes, all of them when N is larger than the file, none for 0', () => {
  assert.deepEqual(parseRange('bytes=-500', 1000), { status: 206, start: 500, end: 1000 });
  assert.deepEqual(parseRange('bytes=-1', 1000), { status: 206, start: 999, end: 1000 });
  assert.deepEqual(parseRange('bytes=-1000', 1000), { status: 206, start: 0, end: 1000 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { status: 206, start: 0, end: 1000 });
  assert.equal(parseRange('bytes=-0', 1000).status, 416); // RFC 9110 14.1.3: a zero suffix is unsatisfiable
});

test('ranges: a start at or past the end is 416 with Content-Range bytes */size; an end past it is clamped', () => {
  assert.equal(parseRange('bytes=1000-', 1000).status, 416);
  assert.equal(parseRange('bytes=1000-1000', 1000).status, 416);
  assert.equal(parseRange('bytes=5000-6000', 1000).status, 416);
  const headers = rangeHeaders(parseRange('bytes=1000-', 1000), 1000, 'video/mp4');
  assert.equal(headers['Content-Range'], 'bytes */1000');
  assert.equal(headers['Accept-Ranges'], 'bytes');
  assert.equal(headers['Content-Length'], undefined); // no body
  assert.deepEqual(parseRange('bytes=900-5000', 1000), { status: 206, start: 900, end: 1000 });
  assert.deepEqual(parseRange('bytes=0-999', 1000), { status: 206, start: 0, end: 1000 });
  assert.deepEqual(parseRange('bytes=0-1000', 1000), { status: 206, start: 0, end: 1000 });
});

test('ranges: a last byte before the first makes the header invalid: the whole file', () => {
  assert.deepEqual(parseRange('bytes=200-100', 1000), { status: 200, start: 0, end: 1000 });
  assert.deepEqual(parseRange('bytes=0-9,200-100', 1000), { status: 200, start: 0, end: 1000 });
  // ...even when both are past the end.
  assert.deepEqual(parseRange('bytes=3000-2000', 1000), { status: 200, start: 0, end: 1000 });
});

test('ranges: several ranges that touch or overlap are joined into one 206; apart, the whole file', () => {
  assert.deepEqual(parseRange('bytes=0-99,100-199', 1000), { status: 206, start: 0, end: 200 }); // touch
  assert.deepEqual(parseRange('bytes=0-99,50-149', 1000), { status: 206, start: 0, end: 150 }); // overlap
  assert.deepEqual(parseRange('bytes=100-199,0-99', 1000), { status: 206, start: 0, end: 200 }); // out of order
  assert.deepEqual(parseRange('bytes=0-9, 20-29, 10-19', 1000), { status: 206, start: 0, end: 30 });
  assert.deepEqual(parseRange('bytes=10-19,12-15', 1000), { status: 206, start: 10, end: 20 }); // one inside another
  assert.deepEqual(parseRange('bytes=900-,-50', 1000), { status: 206, start: 900, end: 1000 }); // suffix inside
  assert.deepEqual(parseRange('bytes=0-9,20-29', 1000), { status: 200, start: 0, end: 1000 }); // apart
  assert.deepEqual(parseRange('bytes=0-9,11-19', 1000), { status: 200, start: 0, end: 1000 }); // one byte apart
  assert.deepEqual(parseRange('bytes=0-9,20-29,10-14', 1000), { status: 200, start: 0, end: 1000 }); // a gap left
  // An unsatisfiable one among them is left out; if none is left, 416.
  assert.deepEqual(parseRange('bytes=0-9,5000-6000', 1000), { status: 206, start: 0, end: 10 });
  assert.equal(parseRange('bytes=5000-,-0', 1000).status, 416);
  // A malformed one makes the whole header invalid.
  assert.deepEqual(parseRange('bytes=0-9,abc', 1000), { status: 200, start: 0, end: 1000 });
});

test('ranges: an empty file has no satisfiable range; without a header it is 200 with no bytes', () => {
  for (const header of ['bytes=0-', 'bytes=0-0', 'bytes=-5', 'bytes=-0', 'bytes=0-9,10-19']) {
    assert.equal(parseRange(header, 0).status, 416, header);
  }
  assert.deepEqual(rangeHeaders(parseRange('bytes=0-', 0), 0, null)['Content-Range'], 'bytes */0');
  const whole = parseRange(undefined, 0);
  assert.deepEqual(whole, { status: 200, start: 0, end: 0 });
  const headers = rangeHeaders(whole, 0, null);
  assert.equal(headers['Content-Length'], '0');
  assert.equal(headers['Content-Range'], undefined);
  // A malformed header on an empty file: the (empty) whole, not 416.
  assert.deepEqual(parseRange('bytes=abc', 0), { status: 200, start: 0, end: 0 });
});

test('ranges: numbers beyond safe integers', () => {
  const huge = '99999999999999999999'; // 1e20
  assert.deepEqual(parseRange(`bytes=0-${huge}`, 1000), { status: 206, start: 0, end: 1000 }); // the end is clamped
  assert.deepEqual(parseRange(`bytes=-${huge}`, 1000), { status: 206, start: 0, end: 1000 }); // every byte
  // A start that is no safe integer is not honoured: the whole file (a server may always ignore
  // Range; never a 206 with a garbled start).
  const far = parseRange(`bytes=${huge}-`, 1000);
  assert.notEqual(far.status, 206);
  assert.deepEqual(far, { status: 200, start: 0, end: 1000 });
  // At the edge of safe integers the numbers still hold.
  const max = Number.MAX_SAFE_INTEGER;
  assert.deepEqual(parseRange(`bytes=${max - 1}-`, max), { status: 206, start: max - 1, end: max });
  assert.deepEqual(parseRange(`bytes=0-${max}`, max), { status: 206, start: 0, end: max });
  assert.equal(parseRange(`bytes=${max}-`, max).status, 416);
});

test('ranges: response headers', () => {
  const partial = rangeHeaders({ status: 206, start: 100, end: 200 }, 1000, 'video/mp4');
  assert.deepEqual(partial, {
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
    'Content-Type': 'video/mp4',
    'Content-Length': '100',
    'Content-Range': 'bytes 100-199/1000',
  });
  const whole = rangeHeaders({ status: 200, start: 0, end: 1000 }, 1000, null);
  assert.equal(whole['Content-Type'], 'application/octet-stream');
  assert.equal(whole['Content-Length'], '1000');
  assert.equal(whole['Accept-Ranges'], 'bytes');
  assert.equal(whole['Content-Range'], undefined);
  assert.equal(rangeHeaders(parseRange('bytes=0-0', 1), 1, '')['Content-Range'], 'bytes 0-0/1');
  assert.equal(rangeHeaders(parseRange('bytes=0-0', 1), 1, '')['Content-Type'], 'application/octet-stream');
  const refused = rangeHeaders({ status: 416, start: 0, end: 0 }, 1000, 'video/mp4');
  assert.deepEqual(refused, { 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store', 'Content-Range': 'bytes */1000' });
});

// ---------------------------------------------------------------------------------------------
// file-bytes.js

// Files not aligned to the 16-byte pieces; the share is 82 bytes: pieces 0..5, the last one 2 bytes.
const SMALL = {
  piece_size: 16,
  files: [{ path: 'a', size: 10 }, { path: 'empty', size: 0 }, { path: 'b', size: 37 }, { path: 'c', size: 5 }, { path: 'd', size: 30 }],
};
const SMALL_SHARE = shareBytes(82);
const starts = [0, 10, 10, 47, 52];
const fileOf = (number) => SMALL_SHARE.slice(starts[number], starts[number] + SMALL.files[number].size);

test('file bytes: reads across piece and file boundaries return exactly the file\'s bytes', async () => {
  const store = fakeStore(SMALL_SHARE, 16);
  for (let number = 0; number < SMALL.files.length; number++) {
    const bytes = new FileBytes(SMALL, number, store);
    const expected = fileOf(number);
    assert.equal(bytes.size, expected.length);
    assert.equal(bytes.start, starts[number]);
    for (let from = 0; from <= bytes.size; from++) {
      for (let to = from; to <= bytes.size + 2; to++) {
        assert.deepEqual(await bytes.read(from, to), expected.slice(from, to), `file ${number} [${from}, ${to})`);
      }
    }
  }
});

test('file bytes: read clamps to the file and is empty for nothing', async () => {
  const bytes = new FileBytes(SMALL, 2, fakeStore(SMALL_SHARE, 16));
  assert.deepEqual(await bytes.read(30, 1000), fileOf(2).slice(30));
  assert.deepEqual(await bytes.read(37, 50), new Uint8Array(0));
  assert.deepEqual(await bytes.read(100, 200), new Uint8Array(0));
  assert.deepEqual(await bytes.read(20, 10), new Uint8Array(0));
  assert.deepEqual(await bytes.read(5, 5), new Uint8Array(0));
  const empty = new FileBytes(SMALL, 1, fakeStore(SMALL_SHARE, 16, []));
  assert.deepEqual(await empty.read(0, 100), new Uint8Array(0)); // nothing to miss
  assert.deepEqual(empty.missing(0, 0), []);
  // The last file ends in the short last piece of the share.
  const last = new FileBytes(SMALL, 4, fakeStore(SMALL_SHARE, 16));
  assert.deepEqual(await last.read(0, 30), SMALL_SHARE.slice(52, 82));
});

test('file bytes: missing pieces throw PiecesMissing with every missing piece of the range', async () => {
  const store = fakeStore(SMALL_SHARE, 16, [1, 3, 4]);
  const b = new FileBytes(SMALL, 2, store); // share bytes 10..47: pieces 0, 1, 2
  await assert.rejects(b.read(0, 37), (error) => {
    assert.ok(error instanceof PiecesMissing);
    assert.ok(error instanceof Error);
    assert.deepEqual(error.pieces, [0, 2]);
    assert.match(error.message, /piece 0/);
    return true;
  });
  assert.deepEqual(store.reads, []); // nothing read when anything is missing
  assert.deepEqual(await b.read(6, 22), SMALL_SHARE.slice(16, 32)); // piece 1 alone: held
  await assert.rejects(b.read(21, 23), (error) => error instanceof PiecesMissing && error.pieces.join() === '2');
  assert.deepEqual(b.missing(0, 37), [0, 2]);
  assert.deepEqual(b.missing(6, 22), []);
  assert.deepEqual(b.missing(37, 37), []);
  const d = new FileBytes(SMALL, 4, fakeStore(SMALL_SHARE, 16, [3])); // share bytes 52..82: pieces 3, 4, 5
  await assert.rejects(d.read(0, 30), (error) => error instanceof PiecesMissing && error.pieces.join() === '4,5');
  await assert.rejects(d.read(29, 30), (error) => error instanceof PiecesMissing && error.pieces.join() === '5');
});

test('file bytes: readChunk stops at the end of the piece, of the max, and of the file', async () => {
  const store = fakeStore(SMALL_SHARE, 16);
  const b = new FileBytes(SMALL, 2, store); // starts at share byte 10
  assert.deepEqual(await b.readChunk(0, 100), fileOf(2).slice(0, 6)); // to the end of piece 0
  assert.deepEqual(await b.readChunk(6, 100), fileOf(2).slice(6, 22)); // piece 1 whole
  assert.deepEqual(await b.readChunk(7, 100), fileOf(2).slice(7, 22));
  assert.deepEqual(await b.readChunk(6, 4), fileOf(2).slice(6, 10)); // the max
  assert.deepEqual(await b.readChunk(30, 100), fileOf(2).slice(30, 37)); // the file ends in piece 2
  assert.deepEqual(await b.readChunk(36, 100), fileOf(2).slice(36, 37));
  assert.deepEqual(await b.readChunk(37, 100), new Uint8Array(0));
  // Chunk by chunk, the whole file with one piece read each.
  const chunks = [];
  store.reads.length = 0;
  for (let at = 0; at < b.size;) {
    const chunk = await b.readChunk(at, 1000);
    assert.ok(chunk.length > 0);
    chunks.push(chunk);
    at += chunk.length;
  }
  assert.deepEqual(chunks.map((c) => c.length), [6, 16, 15]);
  assert.deepEqual(store.reads, [0, 1, 2]);
  // Missing: only that piece is named.
  const gappy = new FileBytes(SMALL, 2, fakeStore(SMALL_SHARE, 16, [0]));
  assert.deepEqual(await gappy.readChunk(0, 100), fileOf(2).slice(0, 6));
  await assert.rejects(gappy.readChunk(6, 100), (error) => error instanceof PiecesMissing && error.pieces.join() === '1');
});

test('file bytes: pieceAt at the start, the end, and for an empty file', () => {
  const store = fakeStore(SMALL_SHARE, 16);
  const b = new FileBytes(SMALL, 2, store);
  assert.equal(b.pieceAt(0), 0);
  assert.equal(b.pieceAt(5), 0);
  assert.equal(b.pieceAt(6), 1);
  assert.equal(b.pieceAt(36), 2); // the last byte
  assert.equal(b.pieceAt(37), 2); // the end: the last piece of the file, not the next
  assert.equal(b.pieceAt(1000), 2);
  const d = new FileBytes(SMALL, 4, store);
  assert.equal(d.pieceAt(0), 3);
  assert.equal(d.pieceAt(30), 5); // the share's last piece, not one past it
  const empty = new FileBytes(SMALL, 1, store);
  assert.equal(empty.size, 0);
  assert.equal(empty.pieceAt(0), 0); // where it would be: share byte 10, in piece 0
  assert.equal(empty.pieceAt(10), 0);
  const a = new FileBytes(SMALL, 0, store);
  assert.equal(a.pieceAt(0), 0);
  assert.equal(a.pieceAt(10), 0);
});
