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
