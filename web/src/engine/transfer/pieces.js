// Byte counts of sets of pieces.
import { pieceRange } from './content.js';

// How many whole pieces of `pieceSize` a budget of `bytes` allows (at least one).
export function piecesIn(bytes, pieceSize) {
  return Math.max(1, Math.floor(bytes / pieceSize));
}

// Plaintext bytes of the pieces set in `bitfield` (all full-sized but the last).
export function bytesHeld(manifest, bitfield) {
  if (bitfield.count === 0) return 0;
  const last = bitfield.length - 1;
  const { start, end } = pieceRange(manifest, last);
  const shortfall = bitfield.has(last) ? manifest.piece_size - (end - start) : 0;
  return bitfield.count * manifest.piece_size - shortfall;
}
