// The page's metrics (docs/metrics.md, schema docs/metrics.schema.json): one recorder per engine
// (Sender, Receiver), started with it and stopped when it leaves, samples the piece bytes the page
// received and sent, each open link's rates and round trip, every METRICS_SAMPLE_MS, and keeps the
// latest METRICS_SERIES_MAX samples. snapshot() is the one object the metrics panel draws, "Export
// metrics" saves and the benchmarks read (window.swarmdropMetrics()). It runs on the page's main
// thread; a getStats that fails, or has not answered within METRICS_MEASURE_TIMEOUT_MS, leaves that
// link's round trip unmeasured (null), nothing else.
import { METRICS_MEASURE_TIMEOUT_MS, METRICS_SAMPLE_MS, METRICS_SERIES_MAX } from './config.js';
import { LinkRates } from './net/tracker.js';

export const METRICS_SCHEMA = 'swarmdrop-metrics/1';

/**
 * The share of the bytes that did not come from (receiver) or leave (sender) the origin; null
 * while there is nothing to divide by. receiver: fromPeers / received; sender: 1 - sent / the
 * bytes its receivers reported holding (below 0 when it sent more than those hold now, e.g. to
 * receivers that left unfinished).
 */
export function offload(page, { received, fromPeers, sent, reportedHeld }) {
  if (page === 'receiver') return received > 0 ? fromPeers / received : null;
  return reportedHeld > 0 ? 1 - sent / reportedHeld : null;
}

/**
 * page: 'sender' | 'receiver'; swarm() -> the engine's Swarm or null (before it has one);
 * describe() -> what only the engine knows: {shareId, peerId, phase, share: {files, total,
 * pieceSize}, held, reportedHeld (sender: the piece bytes its receivers hold), copies (complete copies,
 * itself included), badPieces, playback (null, or the player's figures but the download rate),
 * requests, reconnections}. clock: {now() (ms, monotonic), date() (ms since the epoch)},
 * userAgent() and measureTimeoutMs, for tests.
 */
export class MetricsRecorder {
  #page;
  #swarm;
  #describe;
  #sampleMs;
  #seriesMax;
  #clock;
  #userAgent;
  #timer = null;
  #startedAt = null; // {now, date}
  #series = []; // {t, down, up}, oldest first
  #last = null; // {now, received, sent}: the previous sample's counters
  #rates = { down: 0, up: 0 }; // the page's, over the last sample window
  #linkRates = new LinkRates(); // this recorder's own: LinkRates returns deltas since its last call
  #peerRates = new Map(); // peer id -> {down, up}, the last sample's
  #rtts = new Map(); // peer id -> rttMs, from the last round of getStats (open links only)
  #measuring = false;
  #measureTimeoutMs;
  #stopped = false;

  constructor({
    page, swarm, describe, sampleMs = METRICS_SAMPLE_MS, seriesMax = METRICS_SERIES_MAX,
    clock = { now: () => performance.now(), date: () => Date.now() }, userAgent = () => globalThis.navigator?.userAgent ?? '',
    measureTimeoutMs = METRICS_MEASURE_TIMEOUT_MS,
  }) {
    this.#page = page;
    this.#swarm = swarm;
    this.#describe = describe;
    this.#sampleMs = sampleMs;
    this.#seriesMax = seriesMax;
    this.#clock = clock;
    this.#userAgent = userAgent;
    this.#measureTimeoutMs = measureTimeoutMs;
  }

  // Samples from now on, every sampleMs; once (a second start() does nothing).
  start() {
    if (this.#startedAt) return;
    this.#startedAt = { now: this.#clock.now(), date: this.#clock.date() };
    this.#last = { now: this.#startedAt.now, ...this.#counters() };
    this.#timer = setInterval(() => this.sample(), this.#sampleMs);
  }

  // No more samples; snapshot() still answers with what was recorded (the series), and with no
  // speed or round trip: nothing moves any more.
  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
    this.#stopped = true;
    this.#rates = { down: 0, up: 0 };
    this.#peerRates.clear();
    this.#rtts.clear();
  }

  // One sample (the timer's; tests call it with their own clock).
  sample() {
    const now = this.#clock.now();
    const counters = this.#counters();
    const seconds = (now - this.#last.now) / 1000;
    if (seconds > 0) {
      this.#rates = {
        down: Math.max(0, counters.received - this.#last.received) / seconds,
        up: Math.max(0, counters.sent - this.#last.sent) / seconds,
      };
      this.#series.push({ t: Math.round(now - this.#startedAt.now), down: Math.round(this.#rates.down), up: Math.round(this.#rates.up) });
      if (this.#series.length > this.#seriesMax) this.#series.splice(0, this.#series.length - this.#seriesMax);
    }
    this.#last = { now, ...counters };
    const open = [...(this.#swarm()?.peers.values() ?? [])].filter((peer) => peer.open);
    this.#peerRates = this.#linkRates.sample(open, now);
    this.#measure(open);
  }

  // The round trips of the open links, one getStats each, never two rounds at once; a link that
  // has not answered within measureTimeoutMs is unmeasured this round (the round ends then).
  async #measure(open) {
    if (this.#measuring) return;
    this.#measuring = true;
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), this.#measureTimeoutMs); });
    try {
      const measured = await Promise.all(open.map(async (peer) => [
        peer.id, await Promise.race([peer.link.measure().then(({ rttMs }) => rttMs), late]),
      ]));
      if (!this.#stopped) this.#rtts = new Map(measured);
    } finally {
      clearTimeout(timer);
      this.#measuring = false;
    }
  }

  // Piece bytes received and sent over the page's life, and of those received, from the origin
  // (role 'owner') and from other receivers (role 'receiver').
  #counters() {
    const byRole = this.#swarm()?.roleMetrics() ?? {};
    const sum = (key) => Object.values(byRole).reduce((total, totals) => total + totals[key], 0);
    return {
      received: sum('received'), sent: sum('sent'), fromOrigin: byRole.owner?.received ?? 0, fromPeers: byRole.receiver?.received ?? 0,
    };
  }

  // A fresh snapshot: plain data only (structuredClone-able, JSON-able).
  snapshot() {
    const swarm = this.#swarm();
    const described = this.#describe();
    const { received, sent, fromOrigin, fromPeers } = this.#counters();
    const { down, up } = this.#rates;
    return {
      schema: METRICS_SCHEMA,
      at: new Date(this.#clock.date()).toISOString(),
      startedAt: this.#startedAt ? new Date(this.#startedAt.date).toISOString() : null,
      page: this.#page,
      browser: this.#userAgent(),
      shareId: described.shareId,
      peerId: described.peerId,
      phase: described.phase,
      share: { ...described.share },
      totals: {
        held: described.held,
        received,
        sent,
        fromOrigin,
        fromPeers,
        offload: offload(this.#page, { received, fromPeers, sent, reportedHeld: described.reportedHeld }),
        copies: described.copies,
        badPieces: described.badPieces,
        downBytesPerSecond: down,
        upBytesPerSecond: up,
      },
      paths: swarm?.pathMetrics() ?? {},
      peers: (swarm?.peerMetrics() ?? []).map((row) => this.#peerRow(row)),
      series: this.#series.map((point) => ({ ...point })),
      playback: described.playback && { ...described.playback, downloadBitsPerSecond: down * 8 },
      requests: { ...described.requests },
      reconnections: described.reconnections,
    };
  }

  // A Swarm.peerMetrics row as the snapshot has it.
  #peerRow({ peer, role, path, phase, ban, downloadedBytes, uploadedBytes }) {
    const rate = phase === 'open' ? this.#peerRates.get(peer) : null;
    return {
      peer,
      role,
      path: path ?? null,
      phase,
      banned: phase === 'banned',
      ban,
      rttMs: phase === 'open' ? this.#rtts.get(peer) ?? null : null,
      sent: uploadedBytes,
      received: downloadedBytes,
      downBytesPerSecond: rate?.down ?? 0,
      upBytesPerSecond: rate?.up ?? 0,
    };
  }
}
