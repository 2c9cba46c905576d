// The on-disk half of store.js, in a dedicated worker because only workers get synchronous
// access handles: the main thread's createWritable() copies the whole file on every commit,
// which is ruinous per piece. Writes the share's folder laid out as opfs.js says.
// Requests: {id, op, ...}; replies: {id, result} or {id, error: {name, message}}.
import { STORE_FLUSH_BYTES, STORE_FLUSH_MS } from '../config.js';
import {
  HASHES_FILE, HAVE_FILE, MANIFEST_FILE, USED_FILE, dataFileName, shareDirectory,
} from './opfs.js';

let dir = null;
let layout = null; // {pieceSize, total, files: [{name, start, size}]}
let have = null; // Uint8Array bitfield
let held = 0; // bits set in have
let haveHandle = null;
let hashesHandle = null; // open until `close`: batches may come after the last piece's write
let handles = null; // per file FileSystemSyncAccessHandle, null once every piece is held
// Written since the last flush: pieces (in `have` already, not yet in HAVE_FILE), their bytes, the
// data files written, whether hash records were appended; the timer that flushes them at the
// latest, and what that timer's flush threw (told to the next request: nothing else would hear).
const unflushed = { pieces: [], bytes: 0, files: new Set(), hashes: false, timer: null, failed: null };

function pieceCount() {
  return layout.total === 0 ? 0 : Math.ceil(layout.total / layout.pieceSize);
}

function countHeld() {
  let n = 0;
  for (let i = 0; i < pieceCount(); i++) if (have[i >> 3] & (0x80 >> (i & 7))) n++;
  return n;
}

// The (file, offset in file, offset in piece, length) runs covering stream bytes [start, end).
function* runs(start, end) {
  for (const file of layout.files) {
    const from = Math.max(start, file.start);
    const to = Math.min(end, file.start + file.size);
    if (from < to) yield { file, at: from - file.start, offset: from - start, length: to - from };
  }
}

function pieceBounds(index) {
  if (!Number.isSafeInteger(index) || index < 0 || index >= pieceCount()) {
    throw new RangeError(`piece ${index} is outside this share`);
  }
  const start = index * layout.pieceSize;
  return { start, end: Math.min(start + layout.pieceSize, layout.total) };
}

const ops = {
  async open({ shareId, manifest }) {
    dir = await shareDirectory(shareId, { create: true });
    let start = 0;
    const files = manifest.files.map((f, n) => {
      const entry = { name: dataFileName(n), start, size: f.size };
      start += f.size;
      return entry;
    });
    layout = { pieceSize: manifest.piece_size, total: manifest.total, files };
    haveHandle = await (await dir.getFileHandle(HAVE_FILE, { create: true })).createSyncAccessHandle();
    have = new Uint8Array(Math.ceil(pieceCount() / 8));
    if (haveHandle.getSize() === have.length) haveHandle.read(have, { at: 0 });
    else haveHandle.truncate(have.length);
    held = countHeld();
    hashesHandle = await (await dir.getFileHandle(HASHES_FILE, { create: true })).createSyncAccessHandle();
    const hashes = new Uint8Array(hashesHandle.getSize());
    hashesHandle.read(hashes, { at: 0 });
    await markUsed(held === pieceCount());
    if (held === pieceCount()) {
      haveHandle.close();
      haveHandle = null;
    } else {
      handles = [];
      for (const file of files) {
        const handle = await (await dir.getFileHandle(file.name, { create: true })).createSyncAccessHandle();
        handles.push(handle);
        if (handle.getSize() !== file.size) handle.truncate(file.size);
      }
    }
    return { have, hashes };
  },

  async appendHashes({ record }) {
    hashesHandle.write(record, { at: hashesHandle.getSize() });
    unflushed.hashes = true;
    flushLater();
    return {};
  },

  async write({ index, bytes }) {
    const { start, end } = pieceBounds(index);
    if (bytes.length !== end - start) throw new RangeError(`piece ${index} must be ${end - start} bytes`);
    const bit = 0x80 >> (index & 7);
    if (!handles || have[index >> 3] & bit) return { complete: held === pieceCount() };
    for (const run of runs(start, end)) {
      const handle = handles[layout.files.indexOf(run.file)];
      handle.write(bytes.subarray(run.offset, run.offset + run.length), { at: run.at });
      unflushed.files.add(handle);
    }
    have[index >> 3] |= bit;
    held++;
    unflushed.pieces.push(index);
    unflushed.bytes += bytes.length;
    const complete = held === pieceCount();
    if (complete) {
      closeHandles(); // flushes; releases the files so that the page can read them as File objects
      await markUsed(true);
    } else if (unflushed.bytes >= STORE_FLUSH_BYTES) {
      flush();
    } else {
      flushLater();
    }
    return { complete };
  },

  async read({ index }) {
    const { start, end } = pieceBounds(index);
    const bytes = new Uint8Array(end - start);
    for (const run of runs(start, end)) {
      const target = bytes.subarray(run.offset, run.offset + run.length);
      if (handles) {
        handles[layout.files.indexOf(run.file)].read(target, { at: run.at });
      } else {
        const file = await (await dir.getFileHandle(run.file.name)).getFile();
        target.set(new Uint8Array(await file.slice(run.at, run.at + run.length).arrayBuffer()));
      }
    }
    return { bytes };
  },

  async saveManifest({ sealed }) {
    const handle = await (await dir.getFileHandle(MANIFEST_FILE, { create: true })).createSyncAccessHandle();
    try {
      handle.truncate(0);
      handle.write(sealed, { at: 0 });
      handle.flush();
    } finally {
      handle.close();
    }
    return {};
  },

  async savedManifest({ shareId }) {
    try {
      const file = await (await (await shareDirectory(shareId)).getFileHandle(MANIFEST_FILE)).getFile();
      return { sealed: new Uint8Array(await file.arrayBuffer()) };
    } catch (error) {
      if (error.name === 'NotFoundError') return { sealed: null };
      throw error;
    }
  },

  async close() {
    closeHandles(); // flushes
    hashesHandle?.close();
    hashesHandle = null;
    return {};
  },
};

// used.json (opfs.js): this share was opened now; complete: every piece is held.
async function markUsed(complete) {
  const handle = await (await dir.getFileHandle(USED_FILE, { create: true })).createSyncAccessHandle();
  try {
    const record = new TextEncoder().encode(JSON.stringify({ used_at: Date.now(), complete }));
    handle.truncate(0);
    handle.write(record, { at: 0 });
    handle.flush();
  } finally {
    handle.close();
  }
}

// Makes what was written durable, in the order that keeps the bitfield true after a crash: the
// pieces' data and the hash records first, then the bits of those pieces in HAVE_FILE.
function flush() {
  clearTimeout(unflushed.timer);
  unflushed.timer = null;
  for (const handle of unflushed.files) handle.flush();
  if (unflushed.hashes) hashesHandle?.flush();
  for (const index of unflushed.pieces) haveHandle.write(have.subarray(index >> 3, (index >> 3) + 1), { at: index >> 3 });
  if (unflushed.pieces.length > 0) haveHandle.flush();
  unflushed.pieces = [];
  unflushed.bytes = 0;
  unflushed.files.clear();
  unflushed.hashes = false;
}

function flushLater() {
  unflushed.timer ??= setTimeout(() => {
    try {
      flush();
    } catch (error) {
      unflushed.failed ??= error;
    }
  }, STORE_FLUSH_MS);
}

function closeHandles() {
  flush();
  for (const handle of handles ?? []) handle.close();
  handles = null;
  haveHandle?.close();
  haveHandle = null;
}

self.onmessage = async ({ data: { id, op, ...args } }) => {
  try {
    if (unflushed.failed) {
      const error = unflushed.failed;
      unflushed.failed = null;
      throw error;
    }
    const result = await ops[op](args);
    // Piece bytes and kept hashes move to the page instead of being copied.
    self.postMessage({ id, result }, [result.bytes?.buffer, result.hashes?.buffer].filter(Boolean));
  } catch (error) {
    self.postMessage({ id, error: { name: error.name, message: error.message } });
  }
};
