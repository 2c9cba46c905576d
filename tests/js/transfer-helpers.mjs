// Fakes shared by the transfer modules' tests: peers that record what they are sent, a clock,
// a seeded random source, and a way to give a peer a measured delivery rate.
import { Bitfield } from '../../web/src/engine/transfer/bitfield.js';

// A linked peer that announced `pieces` of a share of `count` pieces.
export function fakePeer(id, pieces, count, role = 'receiver') {
  const remote = new Bitfield(count);
  for (const piece of pieces) remote.set(piece);
  const peer = { id, role, remote, open: true, bad: 0, sent: [], uploadedBytes: 0 };
  peer.send = (message) => peer.sent.push(message);
  peer.addHave = () => {}; // `remote` is set here
  return peer;
}

export const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

// A clock the test moves: now() for Requests, advance(ms).
export function fakeClock() {
  let time = 0;
  return { now: () => time, advance: (ms) => { time += ms; } };
}

// mulberry32: a seeded random() in [0, 1).
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Gives `peer` a measured delivery rate in `requests`: one piece of `bytes` in bytes/rate seconds,
// its first byte at once (latency 0, when it is the first request: the window stays the floor).
export function measure(requests, clock, peer, bytesPerSecond, bytes = 100_000) {
  const request = requests.ask(-1, peer, bytes);
  requests.received(request, 1);
  clock.advance((bytes / bytesPerSecond) * 1000);
  requests.received(request, bytes - 1);
  requests.finish(-1, peer);
  requests.stored(request);
}
