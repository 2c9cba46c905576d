// The peer wire, version 2 (docs/protocol.md part 2): what two browsers say on the `sd` channel.
// Text messages are JSON objects with a string `t`; binary messages are piece frames. This module
// builds and checks them; what they mean is up to the swarm, the seeder and the downloader.
import { HASH_LENGTH, SEALED_MANIFEST_MAX_BYTES, SIGNATURE_LENGTH, fromBase64, toBase64 } from '../transfer/content.js';

// A frame: u32be piece index, u32be offset in the piece's ciphertext C_i, then the bytes.
export const FRAME_HEADER_BYTES = 8;
// A hash batch on the wire covers at most this many pieces (its message stays under 64 KiB).
const MAX_BATCH_PIECES = 1024;
// A `have` list names at most this many pieces; more travel as a bitfield.
const MAX_HAVE_PIECES = 1024;
const MAX_INDEX = 0xffff_ffff;
// A sealed manifest travels in parts of at most this many bytes (60000 base64 characters), so
// that a folder of thousands of files still fits messages of at most 65535 bytes.
const MANIFEST_PART_BYTES = 45_000;
const MAX_MANIFEST_PARTS = Math.ceil(SEALED_MANIFEST_MAX_BYTES / MANIFEST_PART_BYTES);

/** The other browser broke the wire protocol: the link to it is closed. */
export class ProtocolError extends Error {
  name = 'ProtocolError';
}

// The sealed manifest as its messages, in order.
export function manifestMessages(sealed) {
  const parts = Math.max(1, Math.ceil(sealed.length / MANIFEST_PART_BYTES));
  return Array.from({ length: parts }, (_, part) => ({
    t: 'manifest', part, parts, sealed: toBase64(sealed.subarray(part * MANIFEST_PART_BYTES, (part + 1) * MANIFEST_PART_BYTES)),
  }));
}

// Joins manifest parts as they arrive in order: feed each one; returns the sealed manifest once
// the last part is in, null before. Throws ProtocolError for parts out of order or too large.
export class ManifestAssembler {
  #parts = [];
  #count = 0; // how many parts the first one announced

  add({ part, parts, sealed }) {
    const expected = this.#parts.length;
    if (part !== expected || (expected > 0 && parts !== this.#count)) {
      throw new ProtocolError(`Manifest part ${part} of ${parts} came out of order.`);
    }
    if (sealed.length > MANIFEST_PART_BYTES || (part < parts - 1 && sealed.length !== MANIFEST_PART_BYTES)) {
      throw new ProtocolError(`Manifest part ${part} has ${sealed.length} bytes.`);
    }
    this.#parts.push(sealed);
    this.#count = parts;
    if (part < parts - 1) return null;
    const whole = new Uint8Array(this.#parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const p of this.#parts) {
      whole.set(p, at);
      at += p.length;
    }
    this.#parts = [];
    return whole;
  }
}
// A text message as sent: a JSON object with a string `t`; null when it is not one.
export function readTextMessage(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof message?.t === 'string' ? message : null;
}

// The first message on a link, from the side that asked for it (see peer.js).
export const HELLO_MESSAGE = Object.freeze({ t: 'hello' });
export const hashesMessage = ({ first, count, hashes, sig }) =>
  ({ t: 'hashes', first, count, hashes: toBase64(hashes), sig: toBase64(sig) });
export const haveBitfieldMessage = (bitfield) => ({ t: 'have', bitfield: toBase64(bitfield.bytes) });
export const havePiecesMessage = (pieces) => ({ t: 'have', pieces });
export const requestMessage = (piece) => ({ t: 'request', piece });
export const cancelMessage = (piece) => ({ t: 'cancel', piece });
export const rejectMessage = (piece) => ({ t: 'reject', piece });

/**
 * Checks a text message and decodes its binary members. Returns {t:'hello'}, {t:'manifest', part, parts, sealed},
 * {t:'hashes', first, count, hashes, sig}, {t:'have', bitfield} or {t:'have', pieces},
 * {t:'request'|'cancel'|'reject', piece}; null for a `t` this version does not know (ignored, so
 * that newer peers can say more). Throws ProtocolError for a known `t` with bad members.
 * Piece indices are checked against the share's piece count by whoever knows it.
 */
export function parseMessage(message) {
  switch (message.t) {
    case 'hello':
      return { t: 'hello' };
    case 'manifest': {
      const parts = integer(message.parts, 'parts', 1, MAX_MANIFEST_PARTS);
      return { t: 'manifest', part: integer(message.part, 'part', 0, parts - 1), parts, sealed: bytes(message.sealed, 'sealed') };
    }
    case 'hashes': {
      const count = integer(message.count, 'count', 1, MAX_BATCH_PIECES);
      const hashes = bytes(message.hashes, 'hashes', count * HASH_LENGTH);
      return { t: 'hashes', first: index(message.first), count, hashes, sig: bytes(message.sig, 'sig', SIGNATURE_LENGTH) };
    }
    case 'have':
      if (message.bitfield !== undefined) return { t: 'have', bitfield: bytes(message.bitfield, 'bitfield') };
      if (!Array.isArray(message.pieces) || message.pieces.length > MAX_HAVE_PIECES) {
        throw new ProtocolError(`"have" needs a bitfield or a list of at most ${MAX_HAVE_PIECES} pieces.`);
      }
      return { t: 'have', pieces: message.pieces.map(index) };
    case 'request':
    case 'cancel':
    case 'reject':
      return { t: message.t, piece: index(message.piece) };
    default:
      return null;
  }
}

// C_i as its frames in order, each at most messageSize bytes with its header: views of one
// buffer, one allocation a piece instead of one a frame.
export function encodeFrames(piece, ciphertext, messageSize) {
  const step = messageSize - FRAME_HEADER_BYTES;
  const count = Math.ceil(ciphertext.length / step);
  const buffer = new Uint8Array(ciphertext.length + count * FRAME_HEADER_BYTES);
  const frames = [];
  for (let offset = 0, at = 0; offset < ciphertext.length; offset += step) {
    const data = ciphertext.subarray(offset, offset + step);
    const frame = buffer.subarray(at, at + FRAME_HEADER_BYTES + data.length);
    const view = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
    view.setUint32(0, piece);
    view.setUint32(4, offset);
    frame.set(data, FRAME_HEADER_BYTES);
    frames.push(frame);
    at += frame.length;
  }
  return frames;
}

// -> {t: 'data', piece, offset, data}
export function decodeFrame(buffer) {
  if (buffer.byteLength <= FRAME_HEADER_BYTES) throw new ProtocolError('A piece frame is too short.');
  const view = new DataView(buffer);
  return { t: 'data', piece: view.getUint32(0), offset: view.getUint32(4), data: new Uint8Array(buffer, FRAME_HEADER_BYTES) };
}

function index(value) {
  return integer(value, 'piece index', 0, MAX_INDEX);
}

function integer(value, what, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) throw new ProtocolError(`Bad ${what}: ${shown(value)}.`);
  return value;
}

// A parsed JSON value for an error message: as JSON, cut short. Never `${value}`: an object
// whose toString is not a function (`{"toString": false}`) throws a TypeError there.
function shown(value) {
  return (JSON.stringify(value) ?? String(value)).slice(0, 40);
}

function bytes(value, what, length = null) {
  let decoded;
  try {
    decoded = fromBase64(value);
  } catch (error) {
    throw new ProtocolError(`"${what}" is not base64: ${error.message}`);
  }
  if (length !== null && decoded.length !== length) throw new ProtocolError(`"${what}" must be ${length} bytes.`);
  return decoded;
}
