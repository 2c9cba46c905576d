// Bytes and piece stores for the media modules' tests (ranges, file-bytes, sniff, stream-server).
import { FileBytes } from '../../web/src/engine/media/file-bytes.js';

export const bytesOf = (...parts) => {
  const arrays = parts.map((part) => (typeof part === 'string' ? Uint8Array.from(part, (c) => c.charCodeAt(0)) : Uint8Array.from(part)));
  const out = new Uint8Array(arrays.reduce((sum, a) => sum + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
};
export const u32be = (n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
export const u32le = (n) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
export const u16le = (n) => [n & 255, (n >>> 8) & 255];
export const box = (type, ...body) => {
  const payload = bytesOf(...body);
  return bytesOf(u32be(8 + payload.length), type, payload);
};

// The share's bytes 0, 1, 2, ... (mod 251, so that no piece looks like another).
export const shareBytes = (length) => Uint8Array.from({ length }, (_, i) => (i * 7 + 3) % 251);

// A piece store over a share's bytes; only the pieces in `held` are there.
export function fakeStore(share, pieceSize, held = null) {
  const count = Math.ceil(share.length / pieceSize);
  const pieces = new Set(held ?? Array.from({ length: count }, (_, i) => i));
  const reads = [];
  return {
    pieces,
    reads,
    has: (piece) => pieces.has(piece),
    async read(piece) {
      reads.push(piece);
      if (!pieces.has(piece)) throw new Error(`piece ${piece} read but not held`);
      return share.slice(piece * pieceSize, Math.min((piece + 1) * pieceSize, share.length));
    },
  };
}

// {size, read(from, to)} over one Uint8Array, as FileBytes reads (clamped to the end).
export const inMemory = (data) => ({ size: data.length, read: async (from, to) => data.slice(from, Math.min(to, data.length)) });

// One file as a FileBytes over a store of `pieceSize` pieces, holding `held` (all by default).
export function storedFile(data, pieceSize, held = null) {
  const store = fakeStore(data, pieceSize, held);
  return { store, bytes: new FileBytes({ piece_size: pieceSize, files: [{ path: 'f', size: data.length }] }, 0, store) };
}
