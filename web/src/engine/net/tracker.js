// The browser's side of the share's tracker (docs/protocol.md part 1, "The tracker"): our public
// address as the server's STUN server reflects it (sent with `join`, and in reports), and a
// `report` every interval the plugin asks for, of what we hold and what we measure on our live
// links. The plugin ranks members for each other from these; nothing here decides who we link to
// (that is the Swarm's, from the ranked lists).
import {
  ADDRESS_LEARN_TIMEOUT_MS, REPORT_FALLBACK_INTERVAL_MS, REPORT_LIMIT_MAX, REPORT_MAX_EXTRA_LINKS,
} from '../config.js';
import { ERR_TOO_SOON, PluginError } from './signalling.js';

// The have summary's buckets (a fixed 32 bytes whatever the share's size).
export const HAVE_BUCKETS = 256;

/**
 * The 256-bucket summary of a Bitfield: bit b (byte b >> 3, bit 7 - (b & 7), most significant
 * first) is set when every piece i with floor(i * 256 / count) == b is held (a bucket with no
 * piece, in a share of fewer than 256, is held vacuously). Returns 32 bytes.
 */
export function haveSummary(held) {
  const summary = new Uint8Array(HAVE_BUCKETS / 8).fill(0xff);
  for (let piece = 0; piece < held.length; piece++) {
    if (held.has(piece)) continue;
    const bucket = Math.floor((piece * HAVE_BUCKETS) / held.length);
    summary[bucket >> 3] &= ~(0x80 >> (bucket & 7));
  }
  return summary;
}

// A server-reflexive candidate's address ("candidate:<foundation> <component> <protocol>
// <priority> <address> <port> typ srflx ..."), or null for any other candidate.
export function reflexiveAddress(candidate = '') {
  const fields = candidate.replace(/^a=/, '').split(' ');
  return fields[6] === 'typ' && fields[7] === 'srflx' && fields[4] ? fields[4] : null;
}

/**
 * Our public address as a STUN (or TURN) server of `iceServers` reflects it: a throwaway
 * RTCPeerConnection gathers candidates until its first server-reflexive one, for at most
 * `timeoutMs`. Null without such a server, or when none answered in time.
 */
export async function learnAddress(iceServers, { timeoutMs = ADDRESS_LEARN_TIMEOUT_MS } = {}) {
  const urls = iceServers.flatMap(({ urls: u }) => (Array.isArray(u) ? u : [u]));
  if (!urls.some((url) => /^(stun|turn)s?:/.test(url))) return null;
  let pc;
  try {
    pc = new RTCPeerConnection({ iceServers });
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      pc.addEventListener('icecandidate', ({ candidate }) => {
        const address = candidate ? reflexiveAddress(candidate.candidate) : null;
        if (address || !candidate) {
          clearTimeout(timer);
          resolve(address);
        }
      });
      pc.createDataChannel('probe');
      pc.setLocalDescription().catch(() => resolve(null));
    });
  } catch {
    return null; // no WebRTC, or servers it refuses: no address, ranking falls back to measurements
  } finally {
    pc?.close();
  }
}

/**
 * Piece bytes each peer sent and took since the previous sample: sample(peers, now) -> Map of
 * peer id -> {down, up} in bytes per second, for the peers (their Peer objects) that were in the
 * previous sample too, so that every rate spans a whole interval.
 */
export class LinkRates {
  #previous = new Map(); // Peer -> {down, up, at}

  sample(peers, now = performance.now()) {
    const rates = new Map();
    const next = new Map();
    for (const peer of peers) {
      const counters = { down: peer.downloadedBytes, up: peer.uploadedBytes, at: now };
      next.set(peer, counters);
      const before = this.#previous.get(peer);
      const seconds = before && (now - before.at) / 1000;
      if (seconds > 0) rates.set(peer.id, { down: (counters.down - before.down) / seconds, up: (counters.up - before.up) / seconds });
    }
    this.#previous = next;
    return rates;
  }
}

/**
 * Reports to the tracker while the share is joined: start() once joined, stop() when leaving.
 * holding() -> {complete, held: Bitfield or null (the manifest is not known yet)}; links() -> the
 * open Peers; maxLinks() -> the swarm's cap (the plugin takes at most that many + 2 links).
 * One request at a time, one every interval_ms of the plugin's answer (REPORT_FALLBACK_INTERVAL_MS
 * until it said); a report refused as too soon (467) waits a whole interval again.
 */
export class Tracker {
  address; // ours, as a STUN server reflected it, or null
  #signalling;
  #shareId = null;
  #holding;
  #links;
  #maxLinks;
  #intervalMs = REPORT_FALLBACK_INTERVAL_MS;
  #timer = null;
  #stopped = true;
  #rates = new LinkRates();
  #warned = false;

  constructor({ signalling, address = null, holding, links, maxLinks }) {
    this.#signalling = signalling;
    this.address = address;
    this.#holding = holding;
    this.#links = links;
    this.#maxLinks = maxLinks;
  }

  start(shareId) {
    this.#shareId = shareId;
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#rates.sample(this.#links()); // rates from now on
    this.#schedule();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule() {
    if (!this.#stopped) this.#timer = setTimeout(() => this.#report(), this.#intervalMs);
  }

  async #report() {
    try {
      const answer = await this.#signalling.report(this.#shareId, await this.#body());
      if (Number.isInteger(answer.interval_ms) && answer.interval_ms > 0) this.#intervalMs = answer.interval_ms;
    } catch (error) {
      // Too soon: the next one comes a whole interval later. Anything else (the connection is
      // being made again, a plugin without the tracker) is tried again in its turn.
      if (!(error instanceof PluginError && error.errorCode === ERR_TOO_SOON) && !this.#warned) {
        this.#warned = true;
        console.warn('swarmdrop: the tracker did not take our report:', error.message);
      }
    }
    this.#schedule();
  }

  async #body() {
    const { complete, held } = this.#holding();
    const peers = [...this.#links()];
    const rates = this.#rates.sample(peers);
    const measured = await Promise.all(peers.map((peer) => peer.link.measure()));
    this.address ??= measured.find((m) => m.reflexive)?.reflexive ?? null;
    // A round trip not measured (yet, or through the relay) is reported as the longest: the
    // plugin ranks by throughput first, and an unknown delay must not pass for a short one.
    const links = peers.map((peer, i) => {
      const rate = rates.get(peer.id) ?? { down: 0, up: 0 };
      return {
        peer: peer.id, rtt_ms: Math.min(measured[i].rttMs ?? REPORT_LIMIT_MAX, REPORT_LIMIT_MAX), down_kbps: kbps(rate.down), up_kbps: kbps(rate.up),
      };
    });
    // The plugin takes a bounded list: the busiest links are the measurements worth keeping.
    links.sort((a, b) => b.down_kbps + b.up_kbps - a.down_kbps - a.up_kbps);
    const body = { complete, links: links.slice(0, this.#maxLinks() + REPORT_MAX_EXTRA_LINKS) };
    if (held) body.have = base64(haveSummary(held));
    if (this.address) body.address = this.address;
    return body;
  }
}

function kbps(bytesPerSecond) {
  return Math.min(Math.max(0, Math.round((bytesPerSecond * 8) / 1000)), REPORT_LIMIT_MAX);
}

function base64(bytes) {
  return btoa(String.fromCharCode(...bytes));
}
