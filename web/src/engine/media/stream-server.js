// The page's half of streaming a share's files to the browser's own player (the service worker,
// sw.js, is the other): the service worker forwards each request for /stream/<share id>/<file
// number>/<name> with its Range header and a MessagePort; this answers with the status and
// headers (ranges.js), then one chunk per 'pull' from the verified plaintext in the piece store.
// A chunk whose pieces are not here yet waits for them: the stream read most recently sets the
// download's focus to where it reads, so the bytes the player waits for come first (its seek, an
// MP4's index at the end). A response the player drops ('cancel', or no pull for STREAM_IDLE_MS,
// or more than MAX_OPEN_STREAMS open) is ended and stops steering the download.
//
// Messages on the port: to the page {type: 'pull'|'cancel'}; from it {type: 'head', status,
// headers} (alone when there is no body: 416, HEAD, an empty range), then {type: 'chunk', bytes
// (ArrayBuffer, transferred)}, {type: 'end'} or {type: 'error', message}; {type: 'refused'} is the
// only answer to a share or file this page does not serve.
import { MAX_OPEN_STREAMS, PIECE_SIZE, STREAM_IDLE_MS, STREAM_KEEPALIVE_MS, STREAM_PATH_PREFIX } from '../config.js';
import { FileBytes, PiecesMissing } from './file-bytes.js';
import { parseRange, rangeHeaders } from './ranges.js';

// The URL at which the service worker streams file `number` of the share.
export function streamUrl(shareId, number, path) {
  return `${STREAM_PATH_PREFIX}${shareId}/${number}/${encodeURIComponent(path.split('/').pop())}`;
}

export class StreamServer {
  #shareId;
  #manifest;
  #store;
  #focus;
  #typeOf;
  #streams = new Set();
  #recent = null; // the stream read most recently: it steers the download
  #focused = null; // the piece last handed to focus()
  #timer = null;
  #keepalive;
  #now;

  /**
   * store: {has(piece), read(piece)}; focus(piece): the download fetches from there first;
   * typeOf(number): the file's MIME type (sniffed) or null; keepalive(): wakes the service worker;
   * now(): ms (tests).
   */
  constructor({ shareId, manifest, store, focus, typeOf, keepalive = () => {}, now = () => performance.now() }) {
    this.#shareId = shareId;
    this.#manifest = manifest;
    this.#store = store;
    this.#focus = focus;
    this.#typeOf = typeOf;
    this.#keepalive = keepalive;
    this.#now = now;
  }

  get openStreams() {
    return this.#streams.size;
  }

  // A request forwarded by the service worker: {shareId, file, range, method, run (the worker's
  // run: streams of an earlier run, one the browser stopped, are ended)}, and its port.
  open({ shareId, file, range, method, run }, port) {
    const number = /^\d{1,9}$/.test(file) ? Number(file) : -1;
    if (shareId !== this.#shareId || number < 0 || number >= this.#manifest.files.length) {
      port.postMessage({ type: 'refused' });
      port.close();
      return;
    }
    const bytes = new FileBytes(this.#manifest, number, this.#store);
    const answer = parseRange(range, bytes.size);
    port.postMessage({ type: 'head', status: answer.status, headers: rangeHeaders(answer, bytes.size, this.#typeOf(number)) });
    if (answer.status === 416 || method === 'HEAD' || answer.end === answer.start) {
      port.close(); // the head says there is no body (sw.js)
      return;
    }
    for (const stream of this.#streams) if (stream.run !== run) this.#end(stream, 'the service worker was restarted');
    if (this.#streams.size >= MAX_OPEN_STREAMS) this.#end(this.#leastRecent(), 'too many open streams');
    const stream = { port, run, bytes, position: answer.start, end: answer.end, waiting: null, reading: false, pulls: 0, readAt: this.#now() };
    this.#streams.add(stream);
    port.onmessage = ({ data }) => {
      if (data?.type === 'pull') {
        stream.pulls += 1;
        stream.readAt = this.#now();
        this.#recent = stream;
        this.#serve(stream);
      } else if (data?.type === 'cancel') {
        this.#end(stream);
      }
    };
    this.#timer ??= setInterval(() => this.#tick(), Math.min(STREAM_KEEPALIVE_MS, STREAM_IDLE_MS / 4));
  }

  // A piece reached the store: streams waiting for it go on.
  pieceStored(piece) {
    for (const stream of this.#streams) if (stream.waiting?.includes(piece)) this.#serve(stream);
  }

  close() {
    for (const stream of this.#streams) this.#end(stream, 'the page stopped serving this share');
    clearInterval(this.#timer);
    this.#timer = null;
  }

  // Sends the next chunk if the stream has a pull to answer and its bytes are here.
  async #serve(stream) {
    if (stream.reading || stream.pulls === 0 || !this.#streams.has(stream)) return;
    if (stream.position >= stream.end) {
      this.#end(stream);
      return;
    }
    stream.reading = true;
    try {
      const chunk = await stream.bytes.readChunk(stream.position, Math.min(stream.end - stream.position, PIECE_SIZE));
      stream.waiting = null;
      if (!this.#streams.has(stream)) return;
      stream.pulls -= 1;
      stream.position += chunk.length;
      stream.port.postMessage({ type: 'chunk', bytes: chunk.buffer }, [chunk.buffer]);
      if (stream.position >= stream.end) this.#end(stream);
    } catch (error) {
      if (!(error instanceof PiecesMissing)) {
        this.#end(stream, `could not read the file: ${error.message}`);
        return;
      }
      stream.waiting = error.pieces;
    } finally {
      stream.reading = false;
      this.#steer();
    }
    if (stream.pulls > 0 && !stream.waiting) this.#serve(stream);
  }

  // The download's focus goes where the stream read most recently reads (or waits).
  #steer() {
    const stream = this.#recent;
    if (!stream || !this.#streams.has(stream) || stream.position >= stream.end) return;
    const piece = stream.waiting?.[0] ?? stream.bytes.pieceAt(stream.position);
    if (piece === this.#focused) return;
    this.#focused = piece;
    this.#focus(piece);
  }

  // Ends a stream: cleanly at its end, with an error otherwise.
  #end(stream, error = null) {
    if (!stream || !this.#streams.delete(stream)) return;
    if (this.#recent === stream) {
      // The stream read last before it steers now (its pull may be waiting already).
      this.#recent = this.#mostRecent();
      this.#steer();
    }
    try {
      stream.port.postMessage(error ? { type: 'error', message: error } : { type: 'end' });
      stream.port.close();
    } catch {
      // the service worker side is gone already
    }
    if (this.#streams.size === 0) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  #leastRecent() {
    let oldest = null;
    for (const stream of this.#streams) if (!oldest || stream.readAt < oldest.readAt) oldest = stream;
    return oldest;
  }

  #mostRecent() {
    let newest = null;
    for (const stream of this.#streams) if (!newest || stream.readAt > newest.readAt) newest = stream;
    return newest;
  }

  #tick() {
    const now = this.#now();
    for (const stream of this.#streams) if (now - stream.readAt > STREAM_IDLE_MS) this.#end(stream, 'not read for too long');
    if (this.#streams.size > 0) this.#keepalive();
  }
}
