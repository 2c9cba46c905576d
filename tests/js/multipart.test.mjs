// The share sheet's multipart body read part by part (web/src/engine/multipart.js): a body as
// browsers write it, cut into chunks anywhere (a delimiter split between two), gives back every
// field and file byte for byte; a body that is not well formed or ends early fails clearly.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MAX_HEADER_BYTES, MultipartError, MultipartReader, multipartBoundary } from '../../web/src/engine/multipart.js';

// A body as a browser sends it, and its boundary (Response encodes a FormData the way fetch does).
async function encoded(fields) {
  const form = new FormData();
  for (const [name, value, filename] of fields) {
    if (filename) form.append(name, new Blob([value], { type: 'application/octet-stream' }), filename);
    else form.append(name, value);
  }
  const response = new Response(form);
  return { bytes: new Uint8Array(await response.arrayBuffer()), boundary: multipartBoundary(response.headers.get('content-type')) };
}

// `bytes` as a stream of chunks of `size` bytes.
function chunked(bytes, size) {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) controller.close();
      else controller.enqueue(bytes.slice(at, at += size));
    },
  });
}

async function readAll(body, boundary) {
  const reader = new MultipartReader(body, boundary);
  const parts = [];
  for (let part; (part = await reader.next());) {
    const chunks = [];
    for (let chunk; (chunk = await reader.read());) chunks.push(Buffer.from(chunk));
    parts.push({ ...part, bytes: Buffer.concat(chunks) });
  }
  return parts;
}

test('the boundary of a multipart/form-data type, quoted or not; none for other types', () => {
  assert.equal(multipartBoundary('multipart/form-data; boundary=----WebKitFormBoundaryAbC'), '----WebKitFormBoundaryAbC');
  assert.equal(multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b"'), 'a b');
  assert.equal(multipartBoundary('application/x-www-form-urlencoded'), null);
  assert.equal(multipartBoundary(null), null);
});

test('fields and files come back byte for byte, however the body is cut', async () => {
  const file = randomBytes(300_000);
  const { bytes, boundary } = await encoded([
    ['title', 'Holiday "2026"'], ['files', file, 'a.bin'], ['files', Buffer.alloc(0), 'empty.txt'], ['files', Buffer.from('\r\n--'), 'b "q".txt'],
  ]);
  for (const size of [1, 7, boundary.length + 3, 65536, bytes.length]) {
    const parts = await readAll(chunked(bytes, size), boundary);
    assert.deepEqual(parts.map(({ name, filename }) => [name, filename]), [['title', null], ['files', 'a.bin'], ['files', 'empty.txt'], ['files', 'b "q".txt']], `chunks of ${size}`);
    assert.equal(parts[0].bytes.toString(), 'Holiday "2026"');
    assert.ok(parts[1].bytes.equals(file), `chunks of ${size}`);
    assert.equal(parts[1].type, 'application/octet-stream');
    assert.equal(parts[2].bytes.length, 0);
    assert.equal(parts[3].bytes.toString(), '\r\n--');
  }
});

test('a part left unread is skipped; a body cut short, without parts or with endless headers fails', async () => {
  const { bytes, boundary } = await encoded([['files', randomBytes(10_000), 'a.bin'], ['text', 'hello']]);
  const reader = new MultipartReader(chunked(bytes, 1000), boundary);
  assert.equal((await reader.next()).filename, 'a.bin');
  assert.equal((await reader.next()).name, 'text');
  assert.equal(Buffer.from(await reader.read()).toString(), 'hello');
  assert.equal(await reader.next(), null);

  await assert.rejects(readAll(chunked(bytes.slice(0, 5000), 1000), boundary), MultipartError);
  await assert.rejects(readAll(chunked(new TextEncoder().encode('nothing here'), 4), boundary), MultipartError);
  const endless = new TextEncoder().encode(`--${boundary}\r\nX: ${'y'.repeat(MAX_HEADER_BYTES)}`);
  await assert.rejects(readAll(chunked(endless, 4096), boundary), /too long/);
  const notForm = new TextEncoder().encode(`--${boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${boundary}--\r\n`);
  await assert.rejects(readAll(chunked(notForm, 9), boundary), /not a form field/);
});
