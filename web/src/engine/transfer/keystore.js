// What a sender keeps across a reload, in IndexedDB, per picked file(s): the share id, its owner
// token, the link secret and the signing key (PKCS#8). Picking the same file again after a reload
// serves the same link if the share still exists. Best effort: without IndexedDB nothing is kept.
import { manifestBytes } from './content.js';

const DB_NAME = 'swarmdrop-sender';
const DB_VERSION = 1;
const STORE_NAME = 'shares';

/**
 * The key of a pick: the SHA-256 of the exact manifest it makes, then every file's path, size and
 * modification time. A share's pieces are encrypted under fixed nonces (docs/protocol.md part 3:
 * piece i under nonce(1, i)), so its keys may be taken up again only for the very same plaintext:
 * a manifest that differs in any byte (another piece size, type or fragment index: a newer
 * version of this page, a changed file) gets new keys, and so do files whose size or time changed
 * (their bytes may have).
 */
export async function pickKey(entries, manifest) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', manifestBytes(manifest)));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  return JSON.stringify([hex, ...entries.map(({ path, file }) => [path, file.size, file.lastModified])]);
}

// -> {shareId, ownerToken, linkSecret, signingKey} or null
export async function loadShare(key) {
  try {
    return (await request((store) => store.get(key), 'readonly')) ?? null;
  } catch {
    return null;
  }
}

export async function saveShare(key, record) {
  try {
    await request((store) => store.put(record, key), 'readwrite');
  } catch (error) {
    console.warn('swarmdrop: could not keep the share for a reload:', error);
  }
}

// After the share was stopped: picking the same file again makes a new one.
export async function forgetShare(key) {
  try {
    await request((store) => store.delete(key), 'readwrite');
  } catch (error) {
    console.warn('swarmdrop: could not forget the stopped share:', error);
  }
}

async function request(operation, mode) {
  const db = await new Promise((resolve, reject) => {
    const opening = indexedDB.open(DB_NAME, DB_VERSION);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE_NAME);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE_NAME, mode);
      const pending = operation(transaction.objectStore(STORE_NAME));
      // Done once committed, so that a reload right after finds it.
      transaction.oncomplete = () => resolve(pending.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}
