// A streaming ZIP writer (APPNOTE 6.3.x): files are stored, not compressed (they travel
// encrypted and are mostly media or archives already), CRC-32 is computed while streaming and
// written in a data descriptor after each file, and ZIP64 records are used where a size, an
// offset or the entry count needs them. Memory stays at one read chunk whatever the sizes.
// Only names that pass "File names" (docs/protocol.md part 3) are written: whatever tool extracts
// the archive, on whatever system, every entry lands inside its folder under the name it shows.
import { pathProblem } from '../transfer/content.js';

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes, previous = 0) {
  let crc = ~previous;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

const U32_MAX = 0xffffffff;
const FLAGS = 0x0808; // bit 3: sizes and CRC follow the data; bit 11: names are UTF-8
// Made by: Unix (3), APPNOTE 4.5. Info-ZIP's unzip reads the names of an archive made on MS-DOS (0)
// as code page 437 whatever bit 11 says, which mangles every non-ASCII name (a 255-byte UTF-8 name
// grows past what Linux takes); as Unix, the external attributes give each file its mode.
const MADE_BY = (3 << 8) | 45;
const FILE_ATTRIBUTES = 0o100644 * 0x10000; // a regular file, rw-r--r--, in the upper 16 bits
const encoder = new TextEncoder();

// Little-endian fields written in order.
class Fields {
  #bytes = [];

  u16(v) { this.#bytes.push(v & 0xff, (v >>> 8) & 0xff); return this; }
  u32(v) { for (let i = 0; i < 4; i++) this.#bytes.push(Math.floor(v / 2 ** (8 * i)) & 0xff); return this; }
  u64(v) { for (let i = 0; i < 8; i++) this.#bytes.push(Math.floor(v / 2 ** (8 * i)) & 0xff); return this; }
  raw(bytes) { for (const b of bytes) this.#bytes.push(b); return this; }
  get bytes() { return Uint8Array.from(this.#bytes); }
}

function dosDateTime(date) {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

function localHeader(name, stamp) {
  return new Fields().u32(0x04034b50).u16(45).u16(FLAGS).u16(0).u16(stamp.time).u16(stamp.date)
    .u32(0).u32(0).u32(0).u16(name.length).u16(0).raw(name).bytes;
}

function dataDescriptor(crc, size) {
  const fields = new Fields().u32(0x08074b50).u32(crc);
  return (size >= U32_MAX ? fields.u64(size).u64(size) : fields.u32(size).u32(size)).bytes;
}

function centralEntry({ name, crc, size, offset }, stamp) {
  const extra = new Fields();
  if (size >= U32_MAX) extra.u64(size).u64(size);
  if (offset >= U32_MAX) extra.u64(offset);
  const zip64 = extra.bytes;
  const extraField = zip64.length ? new Fields().u16(0x0001).u16(zip64.length).raw(zip64).bytes : new Uint8Array(0);
  const size32 = size >= U32_MAX ? U32_MAX : size;
  return new Fields().u32(0x02014b50).u16(MADE_BY).u16(45).u16(FLAGS).u16(0).u16(stamp.time).u16(stamp.date)
    .u32(crc).u32(size32).u32(size32).u16(name.length).u16(extraField.length).u16(0).u16(0).u16(0).u32(FILE_ATTRIBUTES)
    .u32(Math.min(offset, U32_MAX)).raw(name).raw(extraField).bytes;
}

function endRecords(count, directoryStart, directorySize) {
  const end = new Fields();
  const needs64 = count >= 0xffff || directoryStart >= U32_MAX || directorySize >= U32_MAX;
  if (needs64) {
    const recordStart = directoryStart + directorySize;
    end.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(count).u64(count).u64(directorySize).u64(directoryStart);
    end.u32(0x07064b50).u32(0).u64(recordStart).u32(1);
  }
  end.u32(0x06054b50).u16(0).u16(0).u16(Math.min(count, 0xffff)).u16(Math.min(count, 0xffff))
    .u32(Math.min(directorySize, U32_MAX)).u32(Math.min(directoryStart, U32_MAX)).u16(0);
  return end.bytes;
}

/**
 * entries: [{path, size, open: async () => Blob}] in the order they go into the archive; `open`
 * is called when the entry's turn comes. Returns a ReadableStream of the archive's bytes. A path
 * that breaks a rule of "File names" throws a RangeError here, before any byte; a blob whose
 * length differs from `size` errors the stream (the archive would be corrupt).
 */
export function zipStream(entries, { date = new Date() } = {}) {
  for (const { path } of entries) {
    const rule = pathProblem(path);
    if (rule) throw new RangeError(`Not a name a ZIP archive may hold (${rule}): ${JSON.stringify(path)}.`);
  }
  const stamp = dosDateTime(date);
  const written = [];
  let offset = 0;
  let next = 0;
  let reader = null;
  let current = null;

  return new ReadableStream({
    async pull(controller) {
      const emit = (bytes) => {
        controller.enqueue(bytes);
        offset += bytes.length;
      };
      if (!current) {
        if (next === entries.length) {
          const directoryStart = offset;
          for (const entry of written) emit(centralEntry(entry, stamp));
          emit(endRecords(written.length, directoryStart, offset - directoryStart));
          controller.close();
          return;
        }
        const { path, size, open } = entries[next++];
        current = { name: encoder.encode(path), size, crc: 0, seen: 0, offset };
        emit(localHeader(current.name, stamp));
        reader = (await open()).stream().getReader();
      }
      const { done, value } = await reader.read();
      if (!done) {
        current.crc = crc32(value, current.crc);
        current.seen += value.length;
        emit(value);
        return;
      }
      if (current.seen !== current.size) {
        controller.error(new Error(`${new TextDecoder().decode(current.name)} has ${current.seen} bytes, not ${current.size}`));
        return;
      }
      emit(dataDescriptor(current.crc, current.size));
      written.push(current);
      current = null;
    },
    cancel() {
      return reader?.cancel();
    },
  });
}
