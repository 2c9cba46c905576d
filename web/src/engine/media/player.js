// One player for a file of a share, whichever path feeds it:
// - 'stream': the browser's own player (or picture) reads the file at its streaming URL, answered
//   by the service worker from the page's piece store (sw.js, stream-server.js): every type the
//   browser plays, from its first bytes, with seeks anywhere.
// - 'mse': a page without a service worker feeds a fragmented MP4 through Media Source
//   Extensions (mse-feeder.js).
// The player reports what goes wrong as codes; the page words them (ui/). It never stops the
// download: a file it cannot play can still be saved.
// HTMLMediaElement's MediaError codes.
const MEDIA_ERROR_CODES = { 1: 'aborted', 2: 'network', 3: 'decode', 4: 'unsupported' };

/**
 * metrics() adds what people feel of playing (docs/metrics.md "playback"): the time from
 * play() to the first frame, the stalls after it and their time, the buffer ahead of the playhead.
 * state: {file (its number in the manifest), path, kind ('video'|'audio'|'image'), type, via
 * ('stream'|'mse'), currentTime, duration, buffered: [[start, end], ...] (seconds), error: null or
 * {code: 'aborted'|'network'|'decode'|'unsupported'|'read'|'codec'|'container', detail, kind,
 * codec, container}}, updated in place.
 */
export class Player {
  state;
  #url;
  #feeder;
  #element = null;
  #listeners = [];
  #closed = false;
  #askedAt; // performance.now() when play() was called
  #firstFrameMs = null;
  #stalls = 0;
  #stalledMs = 0; // stalls that ended
  #stalledSince = null; // the stall going on

  // url: the streaming URL, or feeder: an MseFeeder; askedAt: when play() was called.
  constructor({ file, path, kind, type, url = null, feeder = null, askedAt = performance.now() }) {
    this.#url = url;
    this.#feeder = feeder;
    this.#askedAt = askedAt;
    this.state = {
      file, path, kind, type, via: feeder ? 'mse' : 'stream', currentTime: 0, duration: null, buffered: [], error: null,
    };
  }

  // Plays (or shows) into `element`: a <video> or <audio>, an <img> for a picture; once.
  attach(element) {
    if (this.#element || this.#closed) return;
    this.#element = element;
    const publish = () => this.#publish();
    for (const type of ['timeupdate', 'progress', 'durationchange', 'seeked']) this.#on(element, type, publish);
    // The first frame shows at 'loadeddata' (a paused video shows it too) or, at the latest, the
    // first 'playing'; a 'waiting' after it is a stall until 'playing' again.
    const firstFrame = () => { this.#firstFrameMs ??= performance.now() - this.#askedAt; };
    this.#on(element, 'loadeddata', firstFrame);
    this.#on(element, 'playing', () => {
      firstFrame();
      this.#endStall();
    });
    this.#on(element, 'waiting', () => {
      if (this.#firstFrameMs === null || this.#stalledSince !== null) return;
      this.#stalls += 1;
      this.#stalledSince = performance.now();
    });
    this.#on(element, 'error', () => this.fail({
      code: MEDIA_ERROR_CODES[element.error?.code] ?? (this.state.kind === 'image' ? 'decode' : 'unsupported'),
      detail: element.error?.message || null,
    }));
    if (this.#feeder) this.#feeder.attach(element, (error) => this.fail(error));
    else element.src = this.#url;
  }

  // A piece reached the store.
  pieceStored(piece) {
    this.#feeder?.pieceStored(piece);
  }

  // Stops playing with an error (the first one wins): {code, detail, ...}.
  fail(error) {
    if (this.state.error) return;
    this.state.error = { detail: null, ...error };
    this.close();
  }

  // {timeToFirstFrameMs (null until then), stalls, stalledMs (the one going on included),
  // bufferAheadSeconds}; a picture has none.
  metrics(now = performance.now()) {
    const ongoing = this.#stalledSince === null ? 0 : now - this.#stalledSince;
    return {
      timeToFirstFrameMs: this.#firstFrameMs, stalls: this.#stalls, stalledMs: this.#stalledMs + ongoing,
      bufferAheadSeconds: bufferAhead(this.state.buffered, this.state.currentTime),
    };
  }

  #endStall() {
    if (this.#stalledSince === null) return;
    this.#stalledMs += performance.now() - this.#stalledSince;
    this.#stalledSince = null;
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#endStall();
    for (const [target, type, listener] of this.#listeners) target.removeEventListener(type, listener);
    this.#listeners = [];
    this.#feeder?.close();
    if (this.#element) {
      this.#element.removeAttribute('src');
      this.#element.load?.(); // lets go of the response it had open
    }
  }

  #on(target, type, listener) {
    target.addEventListener(type, listener);
    this.#listeners.push([target, type, listener]);
  }

  #publish() {
    const element = this.#element;
    if (this.state.kind === 'image' || !element) return;
    this.state.currentTime = element.currentTime;
    this.state.duration = Number.isFinite(element.duration) ? element.duration : null;
    const ranges = [];
    for (let i = 0; i < element.buffered.length; i++) ranges.push([element.buffered.start(i), element.buffered.end(i)]);
    this.state.buffered = ranges;
  }
}

// Seconds buffered past `time`: the end of the buffered range ([[start, end], ...]) holding it,
// minus it; 0 outside every range.
export function bufferAhead(buffered, time) {
  const range = buffered.find(([start, end]) => start <= time && time <= end);
  return range ? range[1] - time : 0;
}
