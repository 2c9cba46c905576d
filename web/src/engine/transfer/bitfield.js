// A set of piece indices as bits, bit i (most significant bit first) = piece i: the layout of
// the wire's `have` bitfield and of PieceStore.haveBitfield().
export class Bitfield {
  #bits;
  #count = 0;

  constructor(length, bytes = null) {
    this.length = length;
    this.#bits = new Uint8Array(Math.ceil(length / 8));
    if (bytes) {
      // Bits past `length` are ignored: a peer's padding must not count as pieces.
      for (let i = 0; i < length; i++) if (bytes[i >> 3] & (0x80 >> (i & 7))) this.set(i);
    }
  }

  has(index) {
    return index >= 0 && index < this.length && (this.#bits[index >> 3] & (0x80 >> (index & 7))) !== 0;
  }

  // Returns whether the bit was newly set.
  set(index) {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`No piece ${index}.`);
    if (this.has(index)) return false;
    this.#bits[index >> 3] |= 0x80 >> (index & 7);
    this.#count += 1;
    return true;
  }

  get count() {
    return this.#count;
  }

  get complete() {
    return this.#count === this.length;
  }

  // The pieces set, in order.
  *indices() {
    for (let byte = 0; byte < this.#bits.length; byte++) {
      if (this.#bits[byte] === 0) continue;
      for (let index = byte * 8; index < Math.min(byte * 8 + 8, this.length); index++) if (this.has(index)) yield index;
    }
  }

  get bytes() {
    return this.#bits.slice();
  }
}
