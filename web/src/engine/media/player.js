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

  // url: the streaming URL, or feeder: an MseFeeder.
  constructor({ file, path, kind, type, url = null, feeder = null }) {
    this.#url = url;
    this.#feeder = feeder;
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

  close() {
    if (this.#closed) return;
    this.#closed = true;
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
