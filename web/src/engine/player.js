// Playing a fragmented MP4 of a share while it downloads (Media Source Extensions). The manifest's
// fragment index (docs/protocol.md part 3, "fragments") says which bytes of the file are the init
// segment and each fragment, and when each fragment starts; the player appends the init segment,
// then fragments in order as the pieces holding them reach the piece store, no more than
// PLAYER_AHEAD_SECONDS ahead of the playhead, and removes what is more than PLAYER_BEHIND_SECONDS
// behind it. It tells the downloader where it needs bytes next (`focus(piece)`), so that the
// pieces at the playhead come first, also after a seek. It never stops the download: a file it
// cannot play shows an error and the transfer goes on.
import { PLAYER_AHEAD_SECONDS, PLAYER_BEHIND_SECONDS } from './config.js';
import { fragmentAt, fragmentRange } from './mp4.js';

/**
 * The share's first file with a fragment index: {index, file, fileStart, error}, error null when
 * this browser's MSE takes the file's type, else a message for the person; null if no file has
 * an index.
 */
export function playableFile(manifest, MediaSourceClass = globalThis.MediaSource) {
  let fileStart = 0;
  for (const [index, file] of manifest.files.entries()) {
    if (file.fragments) {
      let error = null;
      if (typeof MediaSourceClass?.isTypeSupported !== 'function') {
        error = 'This browser cannot play a video while it downloads (no Media Source Extensions); save it when it is here.';
      } else if (!MediaSourceClass.isTypeSupported(file.type)) {
        error = `This browser cannot play “${file.path}” (${file.type || 'unknown type'}) while it downloads; save it when it is here.`;
      }
      return { index, file, fileStart, error };
    }
    fileStart += file.size;
  }
  return null;
}

const MEDIA_ERRORS = {
  1: 'playback was aborted',
  2: 'a network error',
  3: 'the video could not be decoded',
  4: 'this browser cannot play this video',
};

/**
 * state: {path, type, currentTime, buffered: [[start, end], ...] (seconds), fragment (the next one
 * to append), error (a message, or null)}, updated in place.
 * source: {has(piece), read(piece) -> Promise<Uint8Array> the piece's plaintext};
 * focus(piece, keepAhead): the download should fetch from this piece on first (Downloader.focus).
 */
export class Player {
  state;
  #file;
  #fileStart;
  #pieceSize;
  #source;
  #focus;
  #fragments;
  #video = null;
  #mediaSource = null;
  #buffer = null; // SourceBuffer
  #url = null;
  #initDone = false;
  #durationSet = false;
  #next = 0; // the fragment to append next
  #pending = null; // bytes refused for want of room (QuotaExceededError), appended again first
  #busy = false; // a read for an append is under way
  #generation = 0; // raised by each seek: a read begun before it is not appended
  #stopped = false;
  #listeners = [];

  constructor({ file, fileStart, pieceSize, source, focus }) {
    this.#file = file;
    this.#fileStart = fileStart;
    this.#pieceSize = pieceSize;
    this.#source = source;
    this.#focus = focus;
    this.#fragments = file.fragments;
    this.state = { path: file.path, type: file.type, currentTime: 0, buffered: [], fragment: 0, error: null };
  }

  // Plays into `video` (an HTMLVideoElement); once.
  attach(video) {
    if (this.#video || this.#stopped) return;
    this.#video = video;
    const mediaSource = new MediaSource();
    this.#mediaSource = mediaSource;
    this.#url = URL.createObjectURL(mediaSource);
    this.#on(mediaSource, 'sourceopen', () => this.#open());
    this.#on(video, 'seeking', () => this.#seeking());
    this.#on(video, 'timeupdate', () => this.#pump());
    this.#on(video, 'error', () => {
      const code = video.error?.code;
      this.#fail(`The video cannot be played: ${MEDIA_ERRORS[code] ?? 'an unknown error'}${video.error?.message ? ` (${video.error.message})` : ''}. The download goes on.`);
    });
    video.src = this.#url;
    this.#focusOn(-1);
  }

  // A piece reached the store: what waited for it may go now.
  pieceStored() {
    this.#pump();
  }

  close() {
    this.#stopped = true;
    for (const [target, type, listener] of this.#listeners) target.removeEventListener(type, listener);
    this.#listeners = [];
    if (this.#url) URL.revokeObjectURL(this.#url);
  }

  #on(target, type, listener) {
    target.addEventListener(type, listener);
    this.#listeners.push([target, type, listener]);
  }

  #open() {
    if (this.#buffer || this.#stopped) return;
    try {
      this.#buffer = this.#mediaSource.addSourceBuffer(this.#file.type);
      this.#buffer.mode = 'segments';
    } catch (error) {
      this.#fail(`This browser cannot play “${this.#file.path}” (${this.#file.type}): ${error.message}. The download goes on.`);
      return;
    }
    this.#on(this.#buffer, 'updateend', () => this.#updated());
    this.#on(this.#buffer, 'error', () => this.#fail('The video’s data could not be read (a damaged fragment?). The download goes on.'));
    this.#pump();
  }

  #updated() {
    // Without a duration in the init segment (an empty moov) MSE's is infinite: estimate it from
    // the index so that the person can seek.
    if (this.#initDone && !this.#durationSet && !this.#buffer.updating) {
      this.#durationSet = true;
      const last = this.#fragments.at(-1)[0];
      const step = this.#fragments.length > 1 ? last - this.#fragments.at(-2)[0] : 2000;
      const estimate = (last + step) / 1000;
      if (!Number.isFinite(this.#mediaSource.duration) || this.#mediaSource.duration < estimate) {
        try {
          this.#mediaSource.duration = estimate;
        } catch {
          // a duration is nice to have
        }
      }
    }
    this.#pump();
  }

  // The fragment that holds the playhead, or the first one after what is buffered there.
  #seeking() {
    if (this.#stopped) return;
    const time = this.#video.currentTime;
    const buffered = this.#video.buffered;
    let target = fragmentAt(this.#fragments, time * 1000);
    for (let i = 0; i < buffered.length; i++) {
      if (buffered.start(i) <= time + 0.1 && time < buffered.end(i)) {
        target = Math.max(target, fragmentAt(this.#fragments, buffered.end(i) * 1000));
      }
    }
    this.#next = target;
    this.#pending = null;
    this.#generation += 1;
    this.#pump();
  }

  // One step at a time; 'updateend', 'timeupdate', a seek or a stored piece call it again.
  async #pump() {
    this.#publish();
    if (this.#stopped || !this.#buffer || this.#busy || this.#buffer.updating || this.#mediaSource.readyState === 'closed') return;
    const time = this.#video.currentTime;
    if (this.#evict(time)) return;
    if (this.#pending) {
      this.#append(this.#pending, this.#generation);
      return;
    }
    const k = this.#initDone ? this.#next : -1;
    if (k >= this.#fragments.length) {
      this.#focusOn(k);
      if (this.#mediaSource.readyState === 'open' && this.#allAppended()) {
        try {
          this.#mediaSource.endOfStream();
        } catch {
          // it ended already or is busy: the next pump tries again
        }
      }
      return;
    }
    if (k >= 0 && this.#fragments[k][0] / 1000 > time + PLAYER_AHEAD_SECONDS) {
      this.#focusOn(k);
      return; // far enough ahead: timeupdate comes back
    }
    this.#focusOn(k);
    const generation = this.#generation;
    this.#busy = true;
    let bytes;
    try {
      bytes = await this.#read(k);
    } catch (error) {
      this.#fail(`The video’s data could not be read from disk: ${error.message}`);
      return;
    } finally {
      this.#busy = false;
    }
    if (this.#stopped) return;
    if (!bytes || generation !== this.#generation) {
      if (bytes) this.#pump(); // a seek came meanwhile: read where it points
      return;
    }
    if (k === -1) this.#initDone = true;
    else this.#next = k + 1;
    this.#append(bytes, generation);
  }

  #allAppended() {
    const buffered = this.#buffer.buffered;
    return buffered.length > 0 && this.#next >= this.#fragments.length;
  }

  #append(bytes, generation) {
    try {
      this.#buffer.appendBuffer(bytes);
      this.#pending = null;
    } catch (error) {
      if (error.name !== 'QuotaExceededError') {
        this.#fail(`The video cannot be played: ${error.message}. The download goes on.`);
        return;
      }
      // No room: keep the bytes, make room behind the playhead, and try again after that (or
      // after the playhead moves on).
      this.#pending = generation === this.#generation ? bytes : null;
      this.#evict(this.#video.currentTime, 1);
    }
  }

  // Removes media more than `behind` seconds behind the playhead or far ahead of what it will
  // want (after a seek back); returns whether a removal started.
  #evict(time, behind = PLAYER_BEHIND_SECONDS) {
    const buffered = this.#buffer.buffered;
    if (buffered.length === 0) return false;
    const start = buffered.start(0);
    const end = buffered.end(buffered.length - 1);
    try {
      if (start < time - behind - 1) {
        this.#buffer.remove(0, time - behind);
        return true;
      }
      const far = time + PLAYER_AHEAD_SECONDS * 2;
      if (end > far + 1) {
        this.#buffer.remove(far, Infinity);
        return true;
      }
    } catch {
      // the buffer is busy or gone: nothing removed
    }
    return false;
  }

  // The bytes of fragment k (-1: the init segment) if every piece holding them is in the store,
  // else null.
  async #read(k) {
    const { start, end } = fragmentRange(this.#fragments, this.#file.size, k);
    const from = this.#fileStart + start;
    const to = this.#fileStart + end;
    const first = Math.floor(from / this.#pieceSize);
    const last = Math.floor((to - 1) / this.#pieceSize);
    for (let piece = first; piece <= last; piece++) if (!this.#source.has(piece)) return null;
    const out = new Uint8Array(to - from);
    for (let piece = first; piece <= last; piece++) {
      const plain = await this.#source.read(piece);
      const pieceStart = piece * this.#pieceSize;
      const a = Math.max(from, pieceStart);
      const b = Math.min(to, pieceStart + plain.length);
      out.set(plain.subarray(a - pieceStart, b - pieceStart), a - from);
    }
    return out;
  }

  // The download's focus: the piece where fragment k starts (past the file's end when all is in).
  #focusOn(k) {
    const offset = k >= this.#fragments.length ? this.#file.size : fragmentRange(this.#fragments, this.#file.size, k).start;
    const piece = Math.floor((this.#fileStart + offset) / this.#pieceSize);
    if (piece !== this.#focusedPiece) {
      this.#focusedPiece = piece;
      this.#focus(piece);
    }
  }

  #focusedPiece = null;

  #fail(message) {
    if (this.state.error) return;
    this.state.error = message;
    this.#stopped = true;
    this.#focus(0, Infinity); // the download goes back to its plain order, keeping what it asked for
  }

  #publish() {
    const video = this.#video;
    if (!video) return;
    this.state.currentTime = video.currentTime;
    const ranges = [];
    for (let i = 0; i < video.buffered.length; i++) ranges.push([video.buffered.start(i), video.buffered.end(i)]);
    this.state.buffered = ranges;
    this.state.fragment = this.#next;
  }
}
