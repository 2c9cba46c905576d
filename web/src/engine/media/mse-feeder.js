// Feeding a fragmented MP4 of a share to a media element through Media Source Extensions, for
// pages without a service worker to stream from (player.js picks). The manifest's fragment index
// (docs/protocol.md part 3, "fragments") says which bytes are the init segment and each fragment,
// and when each starts; the feeder appends the init segment, then fragments in order as the pieces
// holding them reach the piece store, no more than PLAYER_AHEAD_SECONDS ahead of the playhead, and
// removes what is more than PLAYER_BEHIND_SECONDS behind it. It tells the downloader where it
// needs bytes next (`focus(piece)`), so that the pieces at the playhead come first, also after a
// seek. What only the streaming path does for itself (a range request per read) this does by hand.
import { PLAYER_AHEAD_SECONDS, PLAYER_BEHIND_SECONDS } from '../config.js';
import { PiecesMissing } from './file-bytes.js';
import { fragmentAt, fragmentRange } from './mp4.js';

export class MseFeeder {
  #bytes; // FileBytes
  #type;
  #focus;
  #fragments;
  #fail = null;
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
  #focusedPiece = null;

  // bytes: the file's FileBytes; type: its MSE type; focus(piece, keepAhead): Downloader.focus.
  constructor({ bytes, type, focus }) {
    this.#bytes = bytes;
    this.#type = type;
    this.#focus = focus;
    this.#fragments = bytes.file.fragments;
  }

  // Plays into `video`; fail({code, detail}) when it cannot go on.
  attach(video, fail) {
    this.#video = video;
    this.#fail = fail;
    const mediaSource = new MediaSource();
    this.#mediaSource = mediaSource;
    this.#url = URL.createObjectURL(mediaSource);
    this.#on(mediaSource, 'sourceopen', () => this.#open());
    this.#on(video, 'seeking', () => this.#seeking());
    this.#on(video, 'timeupdate', () => this.#pump());
    video.src = this.#url;
    this.#focusOn(-1);
  }

  pieceStored() {
    this.#pump();
  }

  close() {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const [target, type, listener] of this.#listeners) target.removeEventListener(type, listener);
    this.#listeners = [];
    if (this.#url) URL.revokeObjectURL(this.#url);
    this.#focus(null); // no player: the download goes back to rarest first, keeping what it asked for
  }

  #on(target, type, listener) {
    target.addEventListener(type, listener);
    this.#listeners.push([target, type, listener]);
  }

  #stop(code, detail) {
    this.close();
    this.#fail?.({ code, detail });
  }

  #open() {
    if (this.#buffer || this.#stopped) return;
    try {
      this.#buffer = this.#mediaSource.addSourceBuffer(this.#type);
      this.#buffer.mode = 'segments';
    } catch (error) {
      this.#stop('unsupported', error.message);
      return;
    }
    this.#on(this.#buffer, 'updateend', () => this.#updated());
    this.#on(this.#buffer, 'error', () => this.#stop('decode', 'a damaged fragment?'));
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
      if (this.#mediaSource.readyState === 'open' && this.#buffer.buffered.length > 0) {
        try {
          this.#mediaSource.endOfStream();
        } catch {
          // it ended already or is busy: the next pump tries again
        }
      }
      return;
    }
    this.#focusOn(k);
    if (k >= 0 && this.#fragments[k][0] / 1000 > time + PLAYER_AHEAD_SECONDS) return; // far enough ahead: timeupdate comes back
    const generation = this.#generation;
    const { start, end } = fragmentRange(this.#fragments, this.#bytes.size, k);
    this.#busy = true;
    let bytes;
    try {
      bytes = await this.#bytes.read(start, end);
    } catch (error) {
      if (!(error instanceof PiecesMissing)) this.#stop('read', error.message);
      return; // a stored piece calls again
    } finally {
      this.#busy = false;
    }
    if (this.#stopped) return;
    if (generation !== this.#generation) {
      this.#pump(); // a seek came meanwhile: read where it points
      return;
    }
    if (k === -1) this.#initDone = true;
    else this.#next = k + 1;
    this.#append(bytes, generation);
  }

  #append(bytes, generation) {
    try {
      this.#buffer.appendBuffer(bytes);
      this.#pending = null;
    } catch (error) {
      if (error.name !== 'QuotaExceededError') {
        this.#stop('decode', error.message);
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

  // The download's focus: the piece where fragment k starts (past the file's end when all is in).
  #focusOn(k) {
    const offset = k >= this.#fragments.length ? this.#bytes.size : fragmentRange(this.#fragments, this.#bytes.size, k).start;
    const piece = k >= this.#fragments.length ? this.#bytes.pieceAt(offset) + 1 : this.#bytes.pieceAt(offset);
    if (piece !== this.#focusedPiece) {
      this.#focusedPiece = piece;
      this.#focus(piece);
    }
  }
}
