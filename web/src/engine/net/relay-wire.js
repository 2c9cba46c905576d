// The relay's frames and its credit window (docs/protocol.md part 4), free of WebRTC so that node
// tests can check them. The message inside a frame is the peer wire of part 2: a piece frame as
// it is (its data is ciphertext already), a text message sealed (sealText) so that the relay
// reads no piece index, request, have or hash batch, and cannot forge or alter one.

// What a frame carries: a peer-wire text message (UTF-8 JSON) or a peer-wire binary frame.
export const KIND_TEXT = 0;
export const KIND_BINARY = 1;
// A member id travels as the 6 bytes of its 12 hex digits.
const ID_BYTES = 6;
// Largest relay frame: Janus drops a data-channel message of 65536 bytes.
export const RELAY_FRAME_MAX = 65_535;
// Targets one frame may name: the plugin copies it to each (fan-out).
export const RELAY_MAX_TARGETS = 8;
// Client to plugin: kind, our member id, target count, the target ids.
export const sendHeaderBytes = (targets) => 2 + ID_BYTES * (1 + targets);
// Largest peer-wire message: it fits a frame to as many targets as a frame names.
export const RELAY_MESSAGE_MAX = RELAY_FRAME_MAX - sendHeaderBytes(RELAY_MAX_TARGETS);
// Plugin to client: kind, the sender's member id.
const RECEIVE_HEADER_BYTES = 1 + ID_BYTES;
// What the plugin counts against a window for a message: the frame the target gets.
export const relayedBytes = (messageLength) => RECEIVE_HEADER_BYTES + messageLength;
// A member's first relayed text message, before any peer-wire message: the asker repeats it until
// the other member's answers it, so that `hello` goes out only once the other member listens.
export const RELAY_PROBE_TYPE = 'relay_probe';
// A sealed text message: a random nonce, then the AES-GCM ciphertext and tag.
const NONCE_BYTES = 12;
export const SEAL_OVERHEAD = NONCE_BYTES + 16;
const SEAL_LABEL = new TextEncoder().encode('swarmdrop/1 relay text');

const ID_PATTERN = /^[0-9a-f]{12}$/;

/** A frame from the plugin that is not one. */
export class RelayFrameError extends Error {
  name = 'RelayFrameError';
}

// A frame for the plugin: `message` (Uint8Array) from member `source` to each of `targets`.
export function encodeRelayFrame(kind, source, targets, message) {
  if (targets.length < 1 || targets.length > RELAY_MAX_TARGETS) {
    throw new RangeError(`A relay frame has 1 to ${RELAY_MAX_TARGETS} targets, not ${targets.length}.`);
  }
  const header = sendHeaderBytes(targets.length);
  if (header + message.length > RELAY_FRAME_MAX) throw new RangeError(`A relay frame holds at most ${RELAY_FRAME_MAX - header} bytes.`);
  const frame = new Uint8Array(header + message.length);
  frame[0] = kind;
  frame.set(idBytes(source), 1);
  frame[1 + ID_BYTES] = targets.length;
  targets.forEach((target, i) => frame.set(idBytes(target), 2 + ID_BYTES * (1 + i)));
  frame.set(message, header);
  return frame;
}

// A frame from the plugin (ArrayBuffer) -> {kind, source, message: ArrayBuffer of its own}.
export function decodeRelayFrame(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length <= RECEIVE_HEADER_BYTES || bytes[0] > KIND_BINARY) {
    throw new RelayFrameError(`Not a relay frame (${bytes.length} bytes, kind ${bytes[0]}).`);
  }
  const source = [...bytes.subarray(1, RECEIVE_HEADER_BYTES)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return { kind: bytes[0], source, message: buffer.slice(RECEIVE_HEADER_BYTES) };
}

/**
 * A text message from member `from` to member `to`, sealed under the share's relay key
 * (content.js openShareKeys: HKDF of S): N || AES-GCM(key, N, text, AAD = label || from || to),
 * N random. The ids in the AAD keep the relay from passing a message to anyone else, or back.
 */
export async function sealText(key, from, to, text) {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const sealed = await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: sealAad(from, to) }, key, text);
  const out = new Uint8Array(NONCE_BYTES + sealed.byteLength);
  out.set(nonce);
  out.set(new Uint8Array(sealed), NONCE_BYTES);
  return out;
}

// The text inside a sealed message (Uint8Array or ArrayBuffer); throws RelayFrameError for one
// that was not sealed by `from` for `to` under this key, or was altered.
export async function openText(key, from, to, sealed) {
  const bytes = new Uint8Array(sealed);
  if (bytes.length < SEAL_OVERHEAD) throw new RelayFrameError('A relayed text message is too short to be sealed.');
  try {
    const text = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, NONCE_BYTES), additionalData: sealAad(from, to) }, key, bytes.subarray(NONCE_BYTES),
    );
    return new Uint8Array(text);
  } catch {
    throw new RelayFrameError('A relayed text message does not open: altered, or not sealed for this link.');
  }
}

function sealAad(from, to) {
  const aad = new Uint8Array(SEAL_LABEL.length + 2 * ID_BYTES);
  aad.set(SEAL_LABEL);
  aad.set(idBytes(from), SEAL_LABEL.length);
  aad.set(idBytes(to), SEAL_LABEL.length + ID_BYTES);
  return aad;
}

function idBytes(id) {
  if (!ID_PATTERN.test(id)) throw new RangeError(`Not a member id: ${id}.`);
  return Uint8Array.from({ length: ID_BYTES }, (_, i) => parseInt(id.slice(2 * i, 2 * i + 2), 16));
}

/**
 * What we may still send one target through the relay: bytes in flight (relayed, not yet
 * credited back by the plugin) never exceed the window, so the plugin never refuses with 458.
 * It also says how long bytes have been in flight with no credit back (a target that stopped
 * reading). now() in ms.
 */
export class CreditWindow {
  inFlight = 0;
  #movedAt = 0; // when a credit last came, or bytes went out with nothing in flight
  #now;

  constructor(size, now = () => performance.now()) {
    this.size = size;
    this.#now = now;
  }

  fits(bytes) {
    return this.inFlight + bytes <= this.size;
  }

  spend(bytes) {
    if (this.inFlight === 0) this.#movedAt = this.#now();
    this.inFlight += bytes;
  }

  // A credit larger than what is in flight (or not a number) is a plugin's mistake; it never
  // makes room beyond the window.
  credit(bytes) {
    if (!(bytes > 0)) return;
    this.inFlight = Math.max(0, this.inFlight - bytes);
    this.#movedAt = this.#now();
  }

  // How long bytes have been in flight with no credit back (0 with none in flight).
  get stalledMs() {
    return this.inFlight > 0 ? this.#now() - this.#movedAt : 0;
  }

  // Our page was frozen for `ms` (frozen.js): no credit could be read meanwhile.
  excuse(ms) {
    this.#movedAt += ms;
  }

  // The plugin holds nothing of ours for the target: it is no endpoint (refusal 457), or a new
  // link to it replaces one whose bytes will never be credited (its endpoint went and came back).
  reset() {
    this.inFlight = 0;
  }
}
