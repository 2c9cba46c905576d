// The relay's frames and its credit window (docs/protocol.md part 4), free of WebRTC so that node
// tests can check them. The message inside a frame is the peer wire of part 2, unchanged.

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

function idBytes(id) {
  if (!ID_PATTERN.test(id)) throw new RangeError(`Not a member id: ${id}.`);
  return Uint8Array.from({ length: ID_BYTES }, (_, i) => parseInt(id.slice(2 * i, 2 * i + 2), 16));
}

/**
 * What we may still send one target through the relay: bytes in flight (relayed, not yet
 * credited back by the plugin) never exceed the window, so the plugin never refuses with 458.
 */
export class CreditWindow {
  inFlight = 0;

  constructor(size) {
    this.size = size;
  }

  fits(bytes) {
    return this.inFlight + bytes <= this.size;
  }

  spend(bytes) {
    this.inFlight += bytes;
  }

  // A credit larger than what is in flight (or not a number) is a plugin's mistake; it never
  // makes room beyond the window.
  credit(bytes) {
    if (bytes > 0) this.inFlight = Math.max(0, this.inFlight - bytes);
  }

  // The target is no endpoint (refusal 457): the plugin holds nothing of ours for it.
  reset() {
    this.inFlight = 0;
  }
}
