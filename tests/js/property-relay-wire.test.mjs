// Property tests of the relay's frames (web/src/engine/net/relay-wire.js, docs/protocol.md part 4)
// with fast-check: a frame for the plugin lays out kind, source, targets and message as the
// protocol says; a frame from the plugin decodes to its kind, source and message; random bytes
// from the plugin decode or throw the module's RelayFrameError, nothing else; the credit window
// never lets more than its size be in flight; sealed text opens only as sent, between the two
// members it was sealed for. Run: node --test tests/js/property-relay-wire.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import {
  CreditWindow, KIND_BINARY, KIND_TEXT, RELAY_FRAME_MAX, RELAY_MAX_TARGETS, RELAY_MESSAGE_MAX, RelayFrameError, SEAL_OVERHEAD,
  decodeRelayFrame, encodeRelayFrame, openText, relayedBytes, sealText, sendHeaderBytes,
} from '../../web/src/engine/net/relay-wire.js';
import { createShareKeys, openShareKeys } from '../../web/src/engine/transfer/content.js';

const RUNS = { numRuns: 300 };
const memberId = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Buffer.from(b).toString('hex'));
const kind = fc.constantFrom(KIND_TEXT, KIND_BINARY);
const hex = (bytes) => Buffer.from(bytes).toString('hex');

// What the plugin delivers for a frame of `source`: kind, the source's 6 bytes, the message.
function delivered(kindByte, source, message) {
  return Uint8Array.from([kindByte, ...Buffer.from(source, 'hex'), ...message]).buffer;
}

test('a frame for the plugin: kind, source, target count, targets, message', () => {
  const frame = fc.record({
    kind,
    source: memberId,
    targets: fc.array(memberId, { minLength: 1, maxLength: RELAY_MAX_TARGETS }),
    message: fc.uint8Array({ maxLength: RELAY_MESSAGE_MAX }),
  });
  fc.assert(fc.property(frame, ({ kind: k, source, targets, message }) => {
    const bytes = encodeRelayFrame(k, source, targets, message);
    const header = sendHeaderBytes(targets.length);
    assert.ok(bytes.length <= RELAY_FRAME_MAX);
    assert.equal(bytes[0], k);
    assert.equal(hex(bytes.subarray(1, 7)), source);
    assert.equal(bytes[7], targets.length);
    assert.deepEqual(Array.from({ length: targets.length }, (_, i) => hex(bytes.subarray(8 + 6 * i, 14 + 6 * i))), targets);
    assert.deepEqual(bytes.subarray(header), message);
  }), { numRuns: 100 });
});

test('a frame that cannot be made throws RangeError, before anything is sent', () => {
  const bad = fc.oneof(
    fc.record({ source: memberId, targets: fc.constant([]), message: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ source: memberId, targets: fc.array(memberId, { minLength: RELAY_MAX_TARGETS + 1, maxLength: 12 }), message: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ source: fc.string(), targets: fc.array(memberId, { minLength: 1, maxLength: 2 }), message: fc.uint8Array({ maxLength: 8 }) })
      .filter(({ source }) => !/^[0-9a-f]{12}$/.test(source)),
    fc.record({ source: memberId, targets: fc.constant(['0123456789ab']), message: fc.constant(new Uint8Array(RELAY_FRAME_MAX)) }),
  );
  fc.assert(fc.property(kind, bad, (k, { source, targets, message }) => {
    assert.throws(() => encodeRelayFrame(k, source, targets, message), RangeError);
  }), RUNS);
});

test('a frame from the plugin decodes to its kind, source and message', () => {
  fc.assert(fc.property(kind, memberId, fc.uint8Array({ minLength: 1, maxLength: RELAY_MESSAGE_MAX }), (k, source, message) => {
    const frame = decodeRelayFrame(delivered(k, source, message));
    assert.equal(frame.kind, k);
    assert.equal(frame.source, source);
    assert.ok(frame.message instanceof ArrayBuffer);
    assert.deepEqual(new Uint8Array(frame.message), message);
  }), RUNS);
});

test('random bytes from the plugin: a frame or a RelayFrameError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (random) => {
    let frame;
    try {
      frame = decodeRelayFrame(random.slice().buffer);
    } catch (error) {
      assert.ok(error instanceof RelayFrameError, `threw ${error?.name}: ${error?.message}`);
      assert.ok(random.length <= 7 || random[0] > KIND_BINARY);
      return;
    }
    assert.ok(frame.kind === KIND_TEXT || frame.kind === KIND_BINARY);
    assert.match(frame.source, /^[0-9a-f]{12}$/);
    assert.equal(frame.message.byteLength, random.length - 7);
  }), { numRuns: 2000 });
});

test('the credit window never lets more than its size be in flight', () => {
  const step = fc.oneof(
    fc.record({ send: fc.integer({ min: 1, max: RELAY_MESSAGE_MAX }) }),
    fc.record({ credit: fc.oneof(fc.integer({ min: -100_000, max: 300_000 }), fc.double(), fc.constant(undefined)) }),
    fc.constant({ reset: true }),
  );
  fc.assert(fc.property(fc.integer({ min: relayedBytes(RELAY_MESSAGE_MAX), max: 4 << 20 }), fc.array(step, { maxLength: 60 }), (size, steps) => {
    const window = new CreditWindow(size);
    for (const { send, credit, reset } of steps) {
      if (send !== undefined && window.fits(relayedBytes(send))) window.spend(relayedBytes(send));
      else if (reset) window.reset();
      else if (send === undefined) window.credit(credit);
      assert.ok(window.inFlight >= 0 && window.inFlight <= size, `${window.inFlight} of ${size}`);
      assert.ok(Number.isFinite(window.inFlight));
    }
  }), RUNS);
});

test('sealed text opens as sent, only between the members it was sealed for, under the share key', async () => {
  const { relayKey } = await openShareKeys(await createShareKeys());
  const { relayKey: otherShare } = await openShareKeys(await createShareKeys());
  const nonces = new Set();
  await fc.assert(fc.asyncProperty(memberId, memberId, memberId, fc.uint8Array({ maxLength: 2000 }), fc.nat(), async (from, to, third, text, at) => {
    const sealed = await sealText(relayKey, from, to, text);
    assert.equal(sealed.length, text.length + SEAL_OVERHEAD);
    nonces.add(Buffer.from(sealed.subarray(0, 12)).toString('hex'));
    assert.deepEqual(await openText(relayKey, from, to, sealed.slice().buffer), text);
    const refused = (promise) => assert.rejects(promise, RelayFrameError);
    if (third !== to) await refused(openText(relayKey, from, third, sealed)); // passed to someone else
    if (from !== to) await refused(openText(relayKey, to, from, sealed)); // reflected back
    await refused(openText(otherShare, from, to, sealed)); // another share's key
    const altered = sealed.slice();
    altered[at % altered.length] ^= 0x40;
    await refused(openText(relayKey, from, to, altered));
    await refused(openText(relayKey, from, to, sealed.subarray(0, at % SEAL_OVERHEAD)));
  }), { numRuns: 200 });
  assert.equal(nonces.size, 200); // a fresh nonce every time
});
