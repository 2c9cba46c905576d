// The layout of a share's folder in the Origin Private File System, one place for the store
// worker that writes it, the page that reads files back, and the service worker that zips them:
//   swarmdrop/<share id>/f<N>       the plaintext of file N of the manifest, at its size
//   swarmdrop/<share id>/have.bin   bit i (MSB first) set = piece i is written and verified
//   swarmdrop/<share id>/manifest   the sealed manifest, for a reload before any peer answers
//   swarmdrop/<share id>/hashes.bin the signed hash batches it accepted (hashes.js, encodeBatch),
//                                   so that a reload serves its pieces before any peer answers
export const HAVE_FILE = 'have.bin';
export const HASHES_FILE = 'hashes.bin';
export const MANIFEST_FILE = 'manifest';

export function dataFileName(number) {
  return `f${number}`;
}

export async function shareDirectory(shareId, { create = false } = {}) {
  const root = await navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle('swarmdrop', { create });
  return top.getDirectoryHandle(shareId, { create });
}

// File number `number` of the share as a File backed by disk (nothing is read into memory).
export async function storedFile(shareId, number) {
  const dir = await shareDirectory(shareId);
  return (await dir.getFileHandle(dataFileName(number))).getFile();
}
