// Where a receiver keeps the verified plaintext of the pieces it holds: on disk in the Origin
// Private File System (through store-worker.js), so memory stays bounded whatever the share's
// size and a reload finds what was stored. Without OPFS (an insecure origin, a browser that
// refuses it) pieces are held in memory up to MEMORY_STORE_CAP_BYTES.
import { MEMORY_STORE_CAP_BYTES, STORE_BUDGET_BYTES, STORE_MAX_IDLE_MS } from '../config.js';
import { decodeBatches, encodeBatch } from '../transfer/hashes.js';
import { sharesToEvict } from './lifetime.js';
import { removeStoredShare, storedFile, storedShares } from './opfs.js';

// code: 'in-use' when another tab of this browser has the share's store open, 'too-large-for-memory'
// when there is no disk store and the share is over the memory cap (detail {total, cap}), else 'failed'.
export class StorageError extends Error {
  constructor(message, code = 'failed') {
    super(message);
    this.code = code;
  }
}

const MiB = 1024 * 1024;

function pieceCountOf(manifest) {
  return manifest.total === 0 ? 0 : Math.ceil(manifest.total / manifest.piece_size);
}

// The share's folder in OPFS: written by the store worker, read back by the page. Each call to
// the worker is a request with an id and a promise for its answer.
class DiskBackend {
  #worker = new Worker(new URL('./store-worker.js', import.meta.url), { type: 'module' });
  #pending = new Map();
  #next = 0;
  #shareId;

  constructor(shareId) {
    this.#shareId = shareId;
    this.#worker.onmessage = ({ data: { id, result, error } }) => {
      const call = this.#pending.get(id);
      this.#pending.delete(id);
      if (error) call.reject(Object.assign(new Error(error.message), { name: error.name }));
      else call.resolve(result);
    };
    this.#worker.onerror = (event) => {
      for (const call of this.#pending.values()) call.reject(new StorageError(`The storage worker failed: ${event.message}`));
      this.#pending.clear();
    };
  }

  // transfer: buffers moved to the worker (detached here), not copied.
  call(op, args = {}, transfer = []) {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, shareId: this.#shareId, ...args }, transfer);
    });
  }

  file(number) {
    return storedFile(this.#shareId, number);
  }

  terminate() {
    this.#worker.terminate();
  }
}

// Disk errors in words a person can act on.
function storageError(error) {
  if (error instanceof StorageError) return error;
  if (error.name === 'QuotaExceededError') {
    return new StorageError('The browser ran out of storage space for this share. Free some disk space and reload.');
  }
  if (error.name === 'NoModificationAllowedError') {
    return new StorageError('This share is already open in another tab of this browser.', 'in-use');
  }
  return new StorageError(`Could not store the data on disk: ${error.message}`);
}

async function opfsAvailable() {
  try {
    await navigator.storage.getDirectory();
    return typeof Worker === 'function';
  } catch {
    return false;
  }
}

export class PieceStore {
  #backend;
  #manifest;
  #have;
  #count;
  #closing = null;

  // savedBatches: the hash batches kept on disk by an earlier visit.
  constructor(backend, manifest, have, savedBatches = []) {
    this.savedBatches = savedBatches;
    this.#backend = backend;
    this.#manifest = manifest;
    this.#have = have;
    this.#count = 0;
    for (let i = 0; i < pieceCountOf(manifest); i++) if (this.has(i)) this.#count++;
  }

  static async open(shareId, manifest) {
    if (!(await opfsAvailable())) return PieceStore.#inMemory(manifest);
    await evictStoredShares(shareId);
    // A share larger than the whole quota can never fit; nearer the limit, writing reports it.
    const { quota = Infinity } = await navigator.storage.estimate().catch(() => ({}));
    if (manifest.total > quota) {
      throw new StorageError(`This share is ${Math.ceil(manifest.total / MiB)} MiB, but the browser lets this site `
        + `store at most ${Math.floor(quota / MiB)} MiB.`);
    }
    const disk = new DiskBackend(shareId);
    try {
      const { have, hashes } = await disk.call('open', { manifest });
      return new PieceStore(disk, manifest, have, decodeBatches(hashes));
    } catch (error) {
      disk.terminate();
      throw storageError(error);
    }
  }

  static #inMemory(manifest) {
    if (manifest.total > MEMORY_STORE_CAP_BYTES) {
      // The page words it (errorKind 'too-large-for-memory', errorDetail {total, cap}).
      throw Object.assign(new StorageError(`no disk store, and ${manifest.total} bytes are over the memory cap`, 'too-large-for-memory'), {
        detail: { total: manifest.total, cap: MEMORY_STORE_CAP_BYTES },
      });
    }
    return new PieceStore(new MemoryBackend(manifest), manifest, new Uint8Array(Math.ceil(pieceCountOf(manifest) / 8)));
  }

  static async savedManifest(shareId) {
    if (!(await opfsAvailable())) return null;
    const disk = new DiskBackend(shareId);
    try {
      return (await disk.call('savedManifest')).sealed;
    } catch {
      return null; // nothing readable kept: the manifest comes from a peer instead
    } finally {
      disk.terminate();
    }
  }

  async saveManifest(sealed) {
    await this.#backend.call('saveManifest', { sealed }).catch((error) => { throw storageError(error); });
  }

  // Keeps a verified hash batch for the next visit.
  async saveBatch(batch) {
    await this.#backend.call('appendHashes', { record: encodeBatch(batch) }).catch((error) => { throw storageError(error); });
  }

  // Pieces held in memory (no disk store here): lost on reload, capped at MEMORY_STORE_CAP_BYTES.
  get inMemory() {
    return this.#backend instanceof MemoryBackend;
  }

  has(index) {
    return (this.#have[index >> 3] & (0x80 >> (index & 7))) !== 0;
  }

  get count() {
    return this.#count;
  }

  get complete() {
    return this.#count === pieceCountOf(this.#manifest);
  }

  haveBitfield() {
    return this.#have.slice();
  }

  // Takes the plaintext: a Uint8Array that spans its whole buffer is moved to the storage worker,
  // not copied (the caller must not use it after).
  async write(index, plaintext) {
    if (this.has(index)) return;
    const whole = plaintext.byteOffset === 0 && plaintext.byteLength === plaintext.buffer.byteLength;
    try {
      await this.#backend.call('write', { index, bytes: plaintext }, whole ? [plaintext.buffer] : []);
    } catch (error) {
      throw error instanceof RangeError ? error : storageError(error);
    }
    if (!this.has(index)) {
      this.#have[index >> 3] |= 0x80 >> (index & 7);
      this.#count++;
    }
  }

  async read(index) {
    if (!this.has(index)) throw new RangeError(`piece ${index} is not held`);
    return (await this.#backend.call('read', { index })).bytes;
  }

  async file(path) {
    const number = this.#manifest.files.findIndex((f) => f.path === path);
    if (number < 0) throw new RangeError(`no file ${path} in this share`);
    if (!this.complete) throw new StorageError('The file is not complete yet.');
    return this.#backend.file(number);
  }

  // Idempotent: a second call waits for the first (a call after the worker ended would never answer).
  close() {
    this.#closing ??= this.#backend.call('close').catch(() => {}).then(() => this.#backend.terminate());
    return this.#closing;
  }
}

/**
 * Removes everything this browser kept of a share (the receiver forgot it, or its sender stopped
 * it before it completed). Its store must be closed first. Throws StorageError 'in-use' while
 * another tab has it open.
 */
export async function forgetStoredShare(shareId) {
  if (!(await opfsAvailable())) return;
  try {
    await removeStoredShare(shareId);
  } catch (error) {
    throw storageError(error);
  }
}

// The kept shares' lifetime (lifetime.js), applied at the start of every store: best effort, a
// share that cannot be removed now is tried at the next start.
async function evictStoredShares(openingId) {
  try {
    const evict = sharesToEvict(await storedShares(), {
      budgetBytes: STORE_BUDGET_BYTES, maxIdleMs: STORE_MAX_IDLE_MS, now: Date.now(), keep: new Set([openingId]),
    });
    for (const id of evict) await removeStoredShare(id).catch(() => {});
  } catch (error) {
    console.warn('swarmdrop: could not look at the shares kept in this browser:', error);
  }
}

// The same requests as the worker, answered from memory.
class MemoryBackend {
  #pieces = new Map();
  #manifest;

  constructor(manifest) {
    this.#manifest = manifest;
  }

  async call(op, { index, bytes } = {}) {
    if (op === 'write') this.#pieces.set(index, bytes.slice()); // a copy: the caller keeps its buffer
    if (op === 'read') return { bytes: this.#pieces.get(index).slice() };
    return {};
  }

  async file(number) {
    const manifest = this.#manifest;
    let start = 0;
    for (let n = 0; n < number; n++) start += manifest.files[n].size;
    const end = start + manifest.files[number].size;
    const parts = [];
    for (let i = Math.floor(start / manifest.piece_size); i * manifest.piece_size < end; i++) {
      const pieceStart = i * manifest.piece_size;
      const piece = this.#pieces.get(i);
      parts.push(piece.subarray(Math.max(0, start - pieceStart), Math.min(piece.length, end - pieceStart)));
    }
    return new File(parts, manifest.files[number].path.split('/').pop(), { type: manifest.files[number].type });
  }

  terminate() {}
}
