// Transfer speed over a sliding window, and the time left at that speed. Used by both sides: the
// receiver feeds it the bytes it holds, the sender the bytes each receiver reports.
import { SPEED_WINDOW_MS } from '../config.js';

export class TransferRate {
  #windowMs;
  #samples = []; // {time, bytes}, oldest first

  constructor(windowMs = SPEED_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  // Records that `bytes` (a running total) were reached at `time` (ms).
  update(bytes, time = performance.now()) {
    this.#samples.push({ time, bytes });
    // Keep one sample at or before the window's start so that the rate spans the whole window.
    const windowStart = time - this.#windowMs;
    while (this.#samples.length > 2 && this.#samples[1].time <= windowStart) this.#samples.shift();
  }

  // Bytes per second over the window; 0 until two samples are apart in time.
  get bytesPerSecond() {
    if (this.#samples.length < 2) return 0;
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    const seconds = (last.time - first.time) / 1000;
    return seconds > 0 ? Math.max(0, last.bytes - first.bytes) / seconds : 0;
  }

  // Seconds until `total` bytes at the current speed; null while the speed is unknown or zero.
  secondsLeft(total) {
    const speed = this.bytesPerSecond;
    const bytes = this.#samples.at(-1)?.bytes ?? 0;
    if (bytes >= total) return 0;
    return speed > 0 ? (total - bytes) / speed : null;
  }
}

// The rate a peer delivers the pieces we ask it for: piece bytes over the last `windowMs` of the
// time it had requests of ours outstanding. Time it had nothing to do does not count against it
// (an idle fast peer stays fast), time it was asked and sent nothing does (a stalled link is
// slow). Unmeasured (null) until a whole piece came from it or it was busy for a whole window.
export class DeliveryRate {
  #windowMs;
  #samples = []; // {clock, bytes}, oldest first, on the busy clock
  #busyMs = 0; // busy time before #since
  #since = null; // when the current busy spell began
  #bytes = 0;
  #measured = false;

  constructor(windowMs = SPEED_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  busy(now) {
    if (this.#since !== null) return;
    this.#since = now;
    this.#sample(now);
  }

  idle(now) {
    if (this.#since === null) return;
    this.#busyMs += now - this.#since;
    this.#since = null;
  }

  add(bytes, now) {
    this.#bytes += bytes;
    this.#sample(now);
  }

  pieceDone() {
    this.#measured = true;
  }

  bytesPerSecond(now) {
    const clock = this.#clock(now);
    if (!this.#measured && clock < this.#windowMs) return null;
    const [first] = this.#samples;
    const seconds = first ? (clock - first.clock) / 1000 : 0;
    return seconds > 0 ? (this.#bytes - first.bytes) / seconds : null;
  }

  #clock(now) {
    return this.#busyMs + (this.#since === null ? 0 : now - this.#since);
  }

  #sample(now) {
    const clock = this.#clock(now);
    this.#samples.push({ clock, bytes: this.#bytes });
    // Keep one sample at or before the window's start so that the rate spans the whole window.
    while (this.#samples.length > 2 && this.#samples[1].clock <= clock - this.#windowMs) this.#samples.shift();
  }
}
