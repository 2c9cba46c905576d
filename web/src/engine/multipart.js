// A streaming reader of a multipart/form-data body (RFC 7578), for the share sheet's POST to the
// service worker (share-inbox.js): a shared video may be larger than the memory a phone gives a
// worker, so each part's bytes are handed on as they arrive, never gathered. Runs in any context
// with streams (worker, page, Node). Fails with MultipartError on a body that is not well formed
// or that ends early; memory held: one chunk of the body plus a part's headers (MAX_HEADER_BYTES).

// Headers of one part longer than this are refused: a browser writes a few hundred bytes.
export const MAX_HEADER_BYTES = 16 * 1024;

const encoder = new TextEncoder();
const CRLF = encoder.encode('\r\n');
const HEADERS_END = encoder.encode('\r\n\r\n');

export class MultipartError extends Error {}

// The boundary of a multipart/form-data Content-Type, or null when the type is another.
export function multipartBoundary(contentType) {
  const match = /^\s*multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType ?? '');
  return match ? match[1] ?? match[2] : null;
}

// The parts of `body` (a ReadableStream of bytes) in order: `await next()` is the next part's
// {name, filename (null for a plain field), type}, or null after the last; then `await read()`
// gives its bytes chunk by chunk (a Uint8Array) and null at its end. A part not read to its end is
// skipped by the next next().
export class MultipartReader {
  #reader;
  #delimiter; // CRLF "--" boundary; the body's first delimiter has no CRLF, so one is put before it
  #buffer = CRLF;
  #ended = false; // the body has no more bytes than #buffer
  #inPart = false;
  #finished = false; // the closing delimiter was read

  constructor(body, boundary) {
    this.#reader = body.getReader();
    this.#delimiter = encoder.encode(`\r\n--${boundary}`);
  }

  async next() {
    while (this.#inPart) await this.read();
    if (this.#finished) return null;
    // Skip to the delimiter: what comes before the first one (a preamble) means nothing.
    let at;
    while ((at = indexOf(this.#buffer, this.#delimiter)) === -1) {
      this.#keep(this.#delimiter.length - 1);
      await this.#fill('the body has no part');
    }
    this.#buffer = this.#buffer.subarray(at + this.#delimiter.length);
    while (this.#buffer.length < 2) await this.#fill('the body ends after a delimiter');
    if (this.#buffer[0] === 0x2d && this.#buffer[1] === 0x2d) { // "--": the closing delimiter
      this.#finished = true;
      this.#reader.cancel().catch(() => {}); // an epilogue means nothing
      return null;
    }
    let end;
    while ((end = indexOf(this.#buffer, HEADERS_END)) === -1) {
      if (this.#buffer.length > MAX_HEADER_BYTES) throw new MultipartError('a part\'s headers are too long');
      await this.#fill('the body ends in a part\'s headers');
    }
    const part = partHeaders(new TextDecoder().decode(this.#buffer.subarray(0, end)));
    this.#buffer = this.#buffer.subarray(end + HEADERS_END.length);
    this.#inPart = true;
    return part;
  }

  async read() {
    if (!this.#inPart) return null;
    for (;;) {
      const at = indexOf(this.#buffer, this.#delimiter);
      if (at !== -1) {
        const chunk = this.#buffer.subarray(0, at);
        this.#buffer = this.#buffer.subarray(at); // next() reads the delimiter
        this.#inPart = false;
        return chunk.length > 0 ? chunk : null;
      }
      // All but what may be the start of a delimiter split between two chunks is this part's.
      const safe = this.#buffer.length - (this.#delimiter.length - 1);
      if (safe > 0) {
        const chunk = this.#buffer.subarray(0, safe);
        this.#buffer = this.#buffer.subarray(safe);
        return chunk;
      }
      await this.#fill('the body ends inside a part');
    }
  }

  // Keeps the last `count` bytes of the buffer only.
  #keep(count) {
    if (this.#buffer.length > count) this.#buffer = this.#buffer.subarray(this.#buffer.length - count);
  }

  async #fill(whenEnded) {
    if (this.#ended) throw new MultipartError(whenEnded);
    const { value, done } = await this.#reader.read();
    if (done) {
      this.#ended = true;
      return;
    }
    const joined = new Uint8Array(this.#buffer.length + value.length);
    joined.set(this.#buffer);
    joined.set(value, this.#buffer.length);
    this.#buffer = joined;
  }
}

// {name, filename, type} of a part's header lines; a part without a form-data name is refused.
function partHeaders(text) {
  let disposition = '';
  let type = '';
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'content-disposition') disposition = line.slice(colon + 1);
    else if (name === 'content-type') type = line.slice(colon + 1).trim();
  }
  const name = dispositionParameter(disposition, 'name');
  if (!/^\s*form-data\s*;/i.test(disposition) || name === null) throw new MultipartError('a part is not a form field');
  return { name, filename: dispositionParameter(disposition, 'filename'), type };
}

// A quoted parameter as browsers write it (RFC 7578 4.2: '"' and line breaks percent-encoded).
function dispositionParameter(disposition, parameter) {
  const match = new RegExp(`;\\s*${parameter}="([^"]*)"`, 'i').exec(disposition);
  if (!match) return null;
  return match[1].replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}

function indexOf(bytes, sequence) {
  for (let at = bytes.indexOf(sequence[0]); at !== -1 && at <= bytes.length - sequence.length; at = bytes.indexOf(sequence[0], at + 1)) {
    let i = 1;
    while (i < sequence.length && bytes[at + i] === sequence[i]) i++;
    if (i === sequence.length) return at;
  }
  return -1;
}
