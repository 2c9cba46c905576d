// The piece hashes H_i a peer trusts: only from hash batches signed with the link's public key
// (docs/protocol.md part 3). Keeps the batches themselves too, to pass them on unchanged.
import { HASH_LENGTH, SIGNATURE_LENGTH, verifyHashes } from './content.js';
import { Bitfield } from './bitfield.js';
import { ProtocolError } from '../net/wire.js';

export class HashBook {
  #hashes;
  #known;
  #verifyKey;
  batches = []; // {first, count, hashes, sig} in the order they were accepted

  // verifyKey: null for the origin, which only adds batches it signed itself.
  constructor(pieceCount, verifyKey) {
    this.pieceCount = pieceCount;
    this.#hashes = new Uint8Array(pieceCount * HASH_LENGTH);
    this.#known = new Bitfield(pieceCount);
    this.#verifyKey = verifyKey;
  }

  has(index) {
    return this.#known.has(index);
  }

  get(index) {
    return this.#hashes.subarray(index * HASH_LENGTH, (index + 1) * HASH_LENGTH);
  }

  /**
   * A batch from a peer. Returns the indices it newly made known ([] when it adds nothing: then
   * it need not be passed on). Throws ProtocolError when it does not fit the share or its
   * signature does not verify.
   */
  async accept(batch) {
    const { first, count, hashes, sig } = batch;
    if (first + count > this.pieceCount) throw new ProtocolError('A hash batch covers pieces the share does not have.');
    const fresh = [];
    for (let i = first; i < first + count; i++) if (!this.has(i)) fresh.push(i);
    if (fresh.length === 0) return [];
    if (!(await verifyHashes(this.#verifyKey, first, hashes, sig))) {
      throw new ProtocolError('A hash batch is not signed by the share\'s origin.');
    }
    return this.add(batch);
  }

  // Batches kept on disk by this member after it verified them (see decodeBatches).
  restore(batches) {
    for (const batch of batches) if (batch.first + batch.count <= this.pieceCount) this.add(batch);
  }

  // A batch known to be good (signed here, or verified); returns the indices it newly made known.
  add(batch) {
    const fresh = [];
    for (let n = 0; n < batch.count; n++) {
      const index = batch.first + n;
      if (this.has(index)) continue;
      this.#hashes.set(batch.hashes.subarray(n * HASH_LENGTH, (n + 1) * HASH_LENGTH), index * HASH_LENGTH);
      this.#known.set(index);
      fresh.push(index);
    }
    if (fresh.length > 0) this.batches.push(batch);
    return fresh;
  }
}

// A batch as a receiver keeps it on disk (opfs.js, hashes.bin), records one after another:
// u32be first, u32be count, count × 32 bytes of hashes, the 64-byte signature.
const RECORD_HEADER_BYTES = 8;

export function encodeBatch({ first, count, hashes, sig }) {
  const record = new Uint8Array(RECORD_HEADER_BYTES + hashes.length + SIGNATURE_LENGTH);
  const view = new DataView(record.buffer);
  view.setUint32(0, first);
  view.setUint32(4, count);
  record.set(hashes, RECORD_HEADER_BYTES);
  record.set(sig, RECORD_HEADER_BYTES + hashes.length);
  return record;
}

// The records of `bytes` in order; a record cut short (the page closed while writing) ends them.
export function decodeBatches(bytes) {
  const batches = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + RECORD_HEADER_BYTES <= bytes.length;) {
    const first = view.getUint32(at);
    const count = view.getUint32(at + 4);
    const end = at + RECORD_HEADER_BYTES + count * HASH_LENGTH + SIGNATURE_LENGTH;
    if (count === 0 || end > bytes.length) break;
    const hashes = bytes.slice(at + RECORD_HEADER_BYTES, end - SIGNATURE_LENGTH);
    batches.push({ first, count, hashes, sig: bytes.slice(end - SIGNATURE_LENGTH, end) });
    at = end;
  }
  return batches;
}
