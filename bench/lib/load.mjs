// Offered load and the latencies it meets: requests on a fixed schedule, and percentiles of what
// was timed.
import { performance } from 'node:perf_hooks';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts start(i) for i < count on a fixed schedule of `rate` a second (open loop: a slow answer
// does not hold the next request back), yielding to the event loop between sends; resolves when
// all have ended, with the worst lag behind the schedule (ms).
export async function paced(count, rate, start) {
  const t0 = performance.now();
  const running = [];
  let lag = 0;
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
    else await new Promise((resolve) => setImmediate(resolve));
    lag = Math.max(lag, performance.now() - due);
    running.push(start(i));
  }
  await Promise.all(running);
  return lag;
}

// The p-th percentile (nearest rank) of numbers sorted in ascending order.
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
