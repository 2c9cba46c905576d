// The plaintext stream a share's origin serves: its files in manifest order as one run of bytes
// (docs/protocol.md part 3, "Pieces"), read slice by slice, never whole.

/** A file of the share cannot be read (any more): fatal for the share. */
export class FileReadError extends Error {
  name = 'FileReadError';
}

export class FileSource {
  #entries; // [{path, file, start}]

  // entries: [{path, file}] in manifest order.
  constructor(entries) {
    let start = 0;
    this.#entries = entries.map(({ path, file }) => {
      const entry = { path, file, start };
      start += file.size;
      return entry;
    });
    this.total = start;
  }

  // Reads one byte of each non-empty file: a folder or a vanished file fails here, at once.
  async check() {
    for (const { path, file } of this.#entries) {
      if (file.size > 0) await this.#read(path, file.slice(0, 1));
    }
  }

  // Stream bytes [start, end).
  async read(start, end) {
    const parts = [];
    const names = [];
    for (const { path, file, start: fileStart } of this.#entries) {
      const from = Math.max(start, fileStart);
      const to = Math.min(end, fileStart + file.size);
      if (from >= to) continue;
      parts.push(file.slice(from - fileStart, to - fileStart));
      names.push(path);
    }
    // Most pieces lie in one file: its slice is read as it is (a Blob of one part costs a copy).
    return this.#read(names.join('”, “'), parts.length === 1 ? parts[0] : new Blob(parts));
  }

  async #read(name, blob) {
    try {
      return new Uint8Array(await blob.arrayBuffer());
    } catch (error) {
      throw new FileReadError(`Could not read “${name}”: it may be a folder, or no longer there (${error.message}).`);
    }
  }
}
