// The bytes of one file of a share, read from the verified plaintext pieces in the piece store.
// A share is its files one after the other, cut into pieces of piece_size bytes (docs/protocol.md
// part 3): this is the one place that maps a file's byte offsets to pieces, for the streaming
// server, the media sniffer and the Media Source player. A tab whose share is open in another
// tab reads through that tab instead (StreamedFileBytes), with the same read(from, to).

// Bytes asked for that are not all held yet: `pieces` are the missing ones (ascending).
export class PiecesMissing extends Error {
  constructor(pieces) {
    super(`piece ${pieces[0]} is not here yet`);
    this.pieces = pieces;
  }
}

export class FileBytes {
  // manifest: the share's; number: the file's index in it; store: {has(piece), read(piece)}.
  constructor(manifest, number, store) {
    this.number = number;
    this.file = manifest.files[number];
    this.size = this.file.size;
    this.start = manifest.files.slice(0, number).reduce((sum, f) => sum + f.size, 0);
    this.pieceSize = manifest.piece_size;
    this.store = store;
  }

  // The piece that holds the file's byte `offset` (the last piece of the file for its end).
  pieceAt(offset) {
    return Math.floor((this.start + Math.min(offset, Math.max(0, this.size - 1))) / this.pieceSize);
  }

  // The pieces of bytes [from, to) not held (ascending; empty when all are).
  missing(from, to) {
    const pieces = [];
    if (to <= from) return pieces;
    for (let piece = this.pieceAt(from), last = this.pieceAt(to - 1); piece <= last; piece++) {
      if (!this.store.has(piece)) pieces.push(piece);
    }
    return pieces;
  }

  // Bytes [from, to) of the file (clamped to its size); PiecesMissing unless every piece is held.
  async read(from, to) {
    const end = Math.min(to, this.size);
    if (end <= from) return new Uint8Array(0);
    const gaps = this.missing(from, end);
    if (gaps.length > 0) throw new PiecesMissing(gaps);
    const out = new Uint8Array(end - from);
    for (let piece = this.pieceAt(from), last = this.pieceAt(end - 1); piece <= last; piece++) {
      const plain = await this.store.read(piece);
      const pieceStart = piece * this.pieceSize - this.start; // in file offsets
      const a = Math.max(from, pieceStart);
      const b = Math.min(end, pieceStart + plain.length);
      out.set(plain.subarray(a - pieceStart, b - pieceStart), a - from);
    }
    return out;
  }

  // The bytes from `from` to the end of the piece that holds it, at most `max`: what can be sent
  // with one piece read. PiecesMissing when that piece is not held.
  async readChunk(from, max) {
    const pieceEnd = (this.pieceAt(from) + 1) * this.pieceSize - this.start;
    return this.read(from, Math.min(pieceEnd, from + max, this.size));
  }
}

// The bytes of one file as another tab of this browser serves them at its streaming URL (the
// service worker asks that tab): a read waits until that tab has them, and its download fetches
// them first. For a tab that cannot open the share's store because another one has it.
export class StreamedFileBytes {
  constructor(manifest, number, url) {
    this.number = number;
    this.file = manifest.files[number];
    this.size = this.file.size;
    this.url = url;
  }

  async read(from, to) {
    const end = Math.min(to, this.size);
    if (end <= from) return new Uint8Array(0);
    const response = await fetch(this.url, { headers: { Range: `bytes=${from}-${end - 1}` } });
    if (response.status !== 206) throw new Error(`the tab that has this share answered ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
}
