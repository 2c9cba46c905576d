// The relay's frames and credit window (docs/protocol.md part 4), as the browser builds and reads them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreditWindow, KIND_BINARY, KIND_TEXT, RELAY_FRAME_MAX, RELAY_MESSAGE_MAX, RelayFrameError, decodeRelayFrame,
  encodeRelayFrame, relayedBytes, sendHeaderBytes,
} from '../../web/src/engine/net/relay-wire.js';

const me = '0123456789ab';
const other = 'a1b2c3d4e5f6';

test('a frame for the plugin: kind, our id, target count, target ids, then the message', () => {
  const frame = encodeRelayFrame(KIND_BINARY, me, [other, 'ffffffffffff'], new Uint8Array([9, 8, 7]));
  assert.deepEqual([...frame], [
    1, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 2, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    9, 8, 7,
  ]);
  assert.equal(sendHeaderBytes(2), 20);
  assert.equal(sendHeaderBytes(1), 14); // 65535 − 8 − 6·N bytes of message
  assert.equal(RELAY_MESSAGE_MAX, 65_535 - 8 - 6 * 8); // fits a frame to 8 targets
});

test('the largest message fits 65535 bytes; anything larger, a bad id or target count is refused', () => {
  const eight = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(12));
  assert.equal(encodeRelayFrame(KIND_TEXT, me, eight, new Uint8Array(RELAY_MESSAGE_MAX)).length, RELAY_FRAME_MAX);
  assert.throws(() => encodeRelayFrame(KIND_TEXT, me, eight, new Uint8Array(RELAY_MESSAGE_MAX + 1)), RangeError);
  assert.throws(() => encodeRelayFrame(KIND_TEXT, 'ABCDEF012345', [other], new Uint8Array(1)), RangeError);
  assert.throws(() => encodeRelayFrame(KIND_TEXT, me, [], new Uint8Array(1)), RangeError);
  assert.throws(() => encodeRelayFrame(KIND_TEXT, me, Array(9).fill(other), new Uint8Array(1)), RangeError);
});

test('a frame from the plugin: kind, the sender id, the message as an ArrayBuffer of its own', () => {
  const text = new TextEncoder().encode('{"t":"hello"}');
  const bytes = new Uint8Array(7 + text.length);
  bytes.set([0, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]);
  bytes.set(text, 7);
  const { kind, source, message } = decodeRelayFrame(bytes.buffer);
  assert.equal(kind, KIND_TEXT);
  assert.equal(source, other);
  assert.ok(message instanceof ArrayBuffer);
  assert.equal(new TextDecoder().decode(message), '{"t":"hello"}');
  assert.equal(relayedBytes(text.length), bytes.length);
});

test('a frame from the plugin with no message or an unknown kind is refused', () => {
  assert.throws(() => decodeRelayFrame(new Uint8Array(7).buffer), RelayFrameError);
  assert.throws(() => decodeRelayFrame(new Uint8Array([2, 1, 2, 3, 4, 5, 6, 7]).buffer), RelayFrameError);
  assert.throws(() => decodeRelayFrame(new ArrayBuffer(0)), RelayFrameError);
});

test('the credit window: in flight never above the window; credits make room, never beyond it', () => {
  const window = new CreditWindow(100);
  assert.ok(window.fits(100));
  window.spend(60);
  assert.ok(window.fits(40));
  assert.ok(!window.fits(41));
  window.spend(40);
  assert.ok(!window.fits(1));
  window.credit(30);
  assert.equal(window.inFlight, 70);
  assert.ok(window.fits(30) && !window.fits(31));
  window.credit(500); // more than in flight: a plugin's mistake, not room beyond the window
  assert.equal(window.inFlight, 0);
  assert.ok(!window.fits(101));
  for (const bad of [undefined, null, 'x', -5, Number.NaN]) {
    window.spend(10);
    window.credit(bad);
    assert.equal(window.inFlight, 10);
    window.reset();
  }
  window.spend(80);
  window.reset(); // the target is no endpoint: nothing of ours is held for it
  assert.equal(window.inFlight, 0);
});

test('the credit window\'s stall clock: bytes in flight with no credit, less the time our page was frozen', () => {
  let now = 0;
  const window = new CreditWindow(100, () => now);
  window.spend(50);
  now = 3_000;
  assert.equal(window.stalledMs, 3_000);
  now = 30_000;
  window.excuse(26_000); // stopped for 26 s: no credit could be read meanwhile
  assert.equal(window.stalledMs, 4_000);
  window.credit(50);
  assert.equal(window.stalledMs, 0);
});
