// Property tests of the peer wire's parser (web/src/engine/net/wire.js, docs/protocol.md part 2)
// with fast-check: every message the builders make reads back as itself through JSON, every frame
// decodes to what was encoded, manifests split into parts join back, and nothing a hostile peer
// can send (random text, random members under a known `t`, random bytes) throws anything but
// the module's ProtocolError. Run: node --test tests/js/property-wire.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import {
  FRAME_HEADER_BYTES, HELLO_MESSAGE, ManifestAssembler, ProtocolError, cancelMessage, decodeFrame, encodeFrames,
  hashesMessage, haveBitfieldMessage, havePiecesMessage, manifestMessages, parseMessage, readTextMessage, rejectMessage,
  requestMessage,
} from '../../web/src/engine/net/wire.js';
import { SEALED_MANIFEST_MAX_BYTES } from '../../web/src/engine/transfer/content.js';

const RUNS = { numRuns: 300 };
const index = fc.integer({ min: 0, max: 0xffff_ffff });
const bytes = (options) => fc.uint8Array(options);

// A message as it travels: built, sent as JSON text, read, parsed.
const travel = (message) => parseMessage(readTextMessage(JSON.stringify(message)));

// Runs `body`; anything thrown must be a ProtocolError.
function onlyProtocolErrors(body) {
  try {
    body();
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `threw ${error?.name}: ${error?.message}`);
  }
}

test('every message the builders make reads back as itself', () => {
  fc.assert(fc.property(
    fc.oneof(
      fc.constant({ built: HELLO_MESSAGE, expected: { t: 'hello' } }),
      fc.record({ first: index, hashes: fc.integer({ min: 1, max: 1024 }).chain((n) => bytes({ minLength: 32 * n, maxLength: 32 * n })), sig: bytes({ minLength: 64, maxLength: 64 }) })
        .map(({ first, hashes, sig }) => {
          const batch = { first, count: hashes.length / 32, hashes, sig };
          return { built: hashesMessage(batch), expected: { t: 'hashes', ...batch } };
        }),
      bytes({ maxLength: 4096 }).map((field) => ({ built: haveBitfieldMessage({ bytes: field }), expected: { t: 'have', bitfield: field } })),
      fc.array(index, { maxLength: 1024 }).map((pieces) => ({ built: havePiecesMessage(pieces), expected: { t: 'have', pieces } })),
      fc.tuple(fc.constantFrom(requestMessage, cancelMessage, rejectMessage), index).map(([make, piece]) => ({ built: make(piece), expected: make(piece) })),
    ),
    ({ built, expected }) => {
      assert.deepEqual(travel(built), expected);
    },
  ), RUNS);
});

test('a sealed manifest split into messages joins back whole', () => {
  fc.assert(fc.property(bytes({ minLength: 1, maxLength: 200_000 }), (sealed) => {
    const assembler = new ManifestAssembler();
    const messages = manifestMessages(sealed);
    let whole = null;
    messages.forEach((message, i) => {
      const parsed = travel(message);
      whole = assembler.add(parsed);
      assert.equal(whole === null, i < messages.length - 1);
    });
    assert.deepEqual(whole, sealed);
  }), { numRuns: 50 });
});

test('the largest manifest fits the parts a parser takes', () => {
  const messages = manifestMessages(new Uint8Array(SEALED_MANIFEST_MAX_BYTES));
  assert.ok(messages.every((message) => travel(message).t === 'manifest'));
  for (const message of messages) assert.ok(JSON.stringify(message).length <= 65_535);
});

test('the frames of a piece fit the message size and decode to the piece, in order', () => {
  const messageSize = fc.integer({ min: 1024, max: 65_535 });
  fc.assert(fc.property(index, bytes({ minLength: 1, maxLength: 150_000 }), messageSize, (piece, ciphertext, size) => {
    let offset = 0;
    for (const frame of encodeFrames(piece, ciphertext, size)) {
      assert.ok(frame.length <= size);
      // What arrives is an ArrayBuffer of its own (the data channel's binaryType).
      const decoded = decodeFrame(frame.slice().buffer);
      const data = ciphertext.subarray(offset, offset + decoded.data.length);
      assert.deepEqual({ ...decoded, data: new Uint8Array(decoded.data) }, { t: 'data', piece, offset, data });
      offset += data.length;
    }
    assert.equal(offset, ciphertext.length);
  }), RUNS);
});

test('random bytes as a frame: a frame or a ProtocolError', () => {
  fc.assert(fc.property(bytes({ maxLength: 64 }), (random) => {
    onlyProtocolErrors(() => {
      const frame = decodeFrame(random.slice().buffer);
      assert.equal(frame.data.byteLength, random.length - FRAME_HEADER_BYTES);
    });
  }), RUNS);
});

test('random text: a message or null, never a throw', () => {
  const text = fc.oneof(fc.string({ unit: 'binary' }), fc.json(), fc.jsonValue().map((value) => JSON.stringify({ t: 'have', x: value })));
  fc.assert(fc.property(text, (random) => {
    const message = readTextMessage(random);
    assert.ok(message === null || typeof message.t === 'string');
  }), RUNS);
});

// Any JSON value in any member, under every `t` the parser knows, and some close to valid.
const anyMember = fc.oneof(
  fc.jsonValue(),
  index,
  fc.integer(),
  fc.double(),
  fc.base64String(),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.array(fc.oneof(index, fc.double(), fc.string())),
);
const members = fc.dictionary(fc.constantFrom('part', 'parts', 'sealed', 'first', 'count', 'hashes', 'sig', 'bitfield', 'pieces', 'piece', 'x'), anyMember);

test('random members under a known t: a parsed message or a ProtocolError', () => {
  fc.assert(fc.property(fc.constantFrom('hello', 'manifest', 'hashes', 'have', 'request', 'cancel', 'reject', 'other'), members, (t, rest) => {
    onlyProtocolErrors(() => {
      const parsed = parseMessage(readTextMessage(JSON.stringify({ ...rest, t })));
      if (t === 'other') assert.equal(parsed, null);
      else assert.equal(parsed.t, t);
    });
  }), { numRuns: 2000 });
});

// fast-check's find: an object as an index, whose toString is not a function.
test('an index that is an object without a callable toString is a ProtocolError', () => {
  for (const t of ['request', 'cancel', 'reject']) {
    assert.throws(() => parseMessage(readTextMessage('{"t":"' + t + '","piece":{"toString":false}}')), ProtocolError);
  }
});

test('random manifest parts: joined, waiting, or a ProtocolError', () => {
  const part = fc.record({ part: fc.nat(4), parts: fc.integer({ min: 1, max: 4 }), sealed: bytes({ maxLength: 45_001 }) });
  fc.assert(fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
    const assembler = new ManifestAssembler();
    for (const message of parts) {
      onlyProtocolErrors(() => {
        const whole = assembler.add(message);
        assert.ok(whole === null || whole instanceof Uint8Array);
      });
    }
  }), RUNS);
});
