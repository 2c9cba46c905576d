// A timer that fires late says this page did not run for a while: its process was stopped, the
// laptop slept, the browser froze a background tab. Silence measured across that time is ours,
// not a peer's, so the liveness clocks are moved on by it before they judge anyone.

// Lateness under a period is a busy main thread, not a freeze.
export function frozenMs(dueAt, periodMs, now = performance.now()) {
  const late = now - dueAt;
  return late > periodMs ? late : 0;
}

// setInterval whose callback gets the milliseconds the page was frozen since the last tick (0 mostly).
export function everyTick(periodMs, callback) {
  let dueAt = performance.now() + periodMs;
  return setInterval(() => {
    const now = performance.now();
    const frozen = frozenMs(dueAt, periodMs, now);
    dueAt = now + periodMs;
    callback(frozen);
  }, periodMs);
}
