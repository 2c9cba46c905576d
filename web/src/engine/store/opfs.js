// The layout of a share's folder in the Origin Private File System, one place for the store
// worker that writes it, the page that reads files back, and the service worker that zips them:
//   swarmdrop/<share id>/f<N>       the plaintext of file N of the manifest, at its size
//   swarmdrop/<share id>/have.bin   bit i (MSB first) set = piece i is written and verified
//   swarmdrop/<share id>/manifest   the sealed manifest, for a reload before any peer answers
//   swarmdrop/<share id>/hashes.bin the signed hash batches it accepted (hashes.js, encodeBatch),
//                                   so that a reload serves its pieces before any peer answers
//   swarmdrop/<share id>/used.json  {"used_at": ms, "complete": bool}: when a store last opened
//                                   it, and whether every piece is held (lifetime.js decides on it)
export const HAVE_FILE = 'have.bin';
export const HASHES_FILE = 'hashes.bin';
export const MANIFEST_FILE = 'manifest';
export const USED_FILE = 'used.json';
const TOP = 'swarmdrop';

export function dataFileName(number) {
  return `f${number}`;
}

export async function shareDirectory(shareId, { create = false } = {}) {
  const root = await navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle(TOP, { create });
  return top.getDirectoryHandle(shareId, { create });
}

/**
 * Every share kept here, as lifetime.js takes them: [{id, usedAt, complete, bytes}] (bytes: all
 * its files). A share another tab or worker holds open cannot be read and is left out, so it is
 * never removed. A share from before used.json counts as unfinished, used when last written.
 */
export async function storedShares() {
  const root = await navigator.storage.getDirectory();
  let top;
  try {
    top = await root.getDirectoryHandle(TOP);
  } catch {
    return [];
  }
  const shares = [];
  for await (const [id, directory] of top.entries()) {
    if (directory.kind !== 'directory') continue;
    try {
      let bytes = 0;
      let written = 0;
      let used = null;
      for await (const [name, entry] of directory.entries()) {
        if (entry.kind !== 'file') continue;
        const file = await entry.getFile(); // refused while another tab has it open
        bytes += file.size;
        written = Math.max(written, file.lastModified);
        if (name === USED_FILE) used = JSON.parse(await file.text());
      }
      shares.push({ id, bytes, usedAt: Number.isFinite(used?.used_at) ? used.used_at : written, complete: used?.complete === true });
    } catch {
      // in use elsewhere, or unreadable: left alone
    }
  }
  return shares;
}

// Removes everything kept of a share; throws (NoModificationAllowedError) if a tab has it open.
export async function removeStoredShare(shareId) {
  const root = await navigator.storage.getDirectory();
  let top;
  try {
    top = await root.getDirectoryHandle(TOP);
  } catch {
    return; // nothing was ever kept
  }
  await top.removeEntry(shareId, { recursive: true }).catch((error) => {
    if (error.name !== 'NotFoundError') throw error;
  });
}

// File number `number` of the share as a File backed by disk (nothing is read into memory).
export async function storedFile(shareId, number) {
  const dir = await shareDirectory(shareId);
  return (await dir.getFileHandle(dataFileName(number))).getFile();
}
