#!/usr/bin/env node
// Watching a video while it downloads: swarmdrop's stream (sender browser -> receiver browser over
// WebRTC, played through the service worker) against the same file served by nginx as a plain
// HTTP progressive download, to the same receiver browser over the same shaped link, in one run.
// The video: 300 s (--video-seconds) of 1280x720 H.264 (~2 Mbit/s, a keyframe every 2 s) + AAC in an
// ordinary MP4 with its index first (bench/lib/video.mjs).
//
// Two network namespaces joined by a veth pair on 198.18.42.0/24: "source" (198.18.42.1: Janus +
// nginx of scripts/serve.sh, the sender's Chromium, and a plain nginx serving the video) and
// "viewer" (198.18.42.2: the receiver's Chromium). tbf shapes the source side's egress to 1.5 times
// the file's average bitrate: both paths cross that one link, one after the other.
//
// For each side, in the receiver's page: first frame and 'playing' (muted autoplay) counted from
// opening the share link (swarmdrop) or nginx's page that plays the video (bench/lib/video.mjs),
// a fresh page each; stalls ('waiting' while not seeking) until the video reached 60 s; then a seek to 80 %
// and the time until a frame of the target shows and until it plays on; then stalls for 20 s
// (a shorter video: played to 40 % of it, and stalls until its end, at most 20 s).
// Goal (the project's issue): first frame within 1.2 times nginx's, no stall after the start.
//
// Below the table, where swarmdrop's time went: its steps to the first frame, and the pieces that
// came over the link (the receiver's requests, cancels and piece frames, traced in its page) before
// the player started and between the seek and the piece the player asked for.
//
//   node bench/stream.mjs [--moov-at-end] [--swarmdrop-first] [--video-seconds 300] [--json PATH]
//                                                                  (as root: namespaces, tc)
// --moov-at-end: the MP4's index at its end (no faststart); --swarmdrop-first: measure swarmdrop
// before nginx; --video-seconds N: the video's length (N <= 30, or a multiple of 30; 30 for a quick
// run). STREAM_BENCH_DUMP=<file>: everything recorded, as JSON.
//
// --json PATH writes these results (bench/lib/result.mjs), for each of swarmdrop and http (nginx):
//   timeToFirstFrameSeconds   first frame, from opening the link / nginx's page
//   playingSeconds            'playing', the same way
//   stalls, stalledSeconds    stalls after the start and after the seek, together
//   seekFrameSeconds          from the seek to a frame of the target (null if none came)
// and mbit (the link's shaped rate), videoSeconds, videoMB.
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launchBrowser, repoRoot, shareFile, startServer, tempDir } from '../tests/e2e/harness.mjs';
import { jsonTarget, writeResult } from './lib/result.mjs';
import { makeVideo, startPlainNginx } from './lib/video.mjs';

const { path: jsonPath, args } = jsonTarget();
const moovAtEnd = args.includes('--moov-at-end');
const swarmdropFirst = args.includes('--swarmdrop-first');
const DURATION = args.includes('--video-seconds') ? Number(args[args.indexOf('--video-seconds') + 1]) : 300; // seconds of video
if (!(Number.isInteger(DURATION) && DURATION >= 4 && (DURATION <= 30 || DURATION % 30 === 0))) {
  throw new Error('--video-seconds takes a length in seconds: 4 to 30, or a multiple of 30');
}
const LINK_FACTOR = 1.5; // the link's rate, in times the file's average bitrate
const SEEK_AT = 0.8; // of the duration
const PLAY_SECONDS = Math.min(60, Math.round((DURATION * SEEK_AT) / 2)); // played from the start before the seek
const AFTER_SEEK_SECONDS = Math.min(20, Math.round(DURATION * (1 - SEEK_AT)));
const SOURCE_IP = '198.18.42.1';
const VIEWER_IP = '198.18.42.2';
const PLAIN_PORT = 8090;

const run = promisify(execFile);
const tag = `sdst${process.pid % 100000}`;
const SOURCE = `${tag}-source`;
const VIEWER = `${tag}-viewer`;
const IFACE = 'veth0';
const dir = tempDir('swarmdrop-bench-stream-');
const sh = (command, ...args) => execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (ns, ...command) => sh('ip', 'netns', 'exec', ns, ...command);

// Everything started here, undone in reverse order on exit, error or signal.
const undo = [];
let cleaning = null;
function cleanUp() {
  cleaning ??= (async () => {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`clean-up: ${error.message}`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => { cleanUp().finally(() => process.exit(130)); });

function buildNetwork() {
  undo.push(() => { sh('ip', 'netns', 'del', VIEWER); });
  undo.push(() => { sh('ip', 'netns', 'del', SOURCE); });
  for (const ns of [SOURCE, VIEWER]) {
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  sh('ip', 'link', 'add', `${tag}s`, 'netns', SOURCE, 'type', 'veth', 'peer', 'name', `${tag}v`, 'netns', VIEWER);
  for (const [ns, name, ip] of [[SOURCE, `${tag}s`, SOURCE_IP], [VIEWER, `${tag}v`, VIEWER_IP]]) {
    sh('ip', '-n', ns, 'link', 'set', name, 'name', IFACE);
    sh('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', IFACE);
    sh('ip', '-n', ns, 'link', 'set', IFACE, 'up');
    // Chromium gathers no ICE candidates without a default route.
    sh('ip', '-n', ns, 'route', 'add', 'default', 'dev', IFACE);
  }
}

// Bytes the source sent over the link, sampled every 100 ms: [epoch ms, bytes].
function watchLink() {
  const samples = [];
  let stopped = false;
  const read = async () => {
    const { stdout } = await run('ip', ['-n', SOURCE, '-s', '-j', 'link', 'show', 'dev', IFACE]);
    return JSON.parse(stdout)[0].stats64.tx.bytes;
  };
  const loop = (async () => {
    while (!stopped) {
      samples.push([Date.now(), await read()]);
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  undo.push(async () => { stopped = true; await loop; });
  return {
    samples,
    // The counter at epoch ms `at`, interpolated between samples.
    at(at) {
      const i = samples.findIndex(([t]) => t >= at);
      if (i < 0) return samples.at(-1)[1];
      if (i === 0) return samples[0][1];
      const [[t0, b0], [t1, b1]] = [samples[i - 1], samples[i]];
      return b0 + ((b1 - b0) * (at - t0)) / Math.max(1, t1 - t0);
    },
    // Waits until less than 20 kB went over the link in a second (what a closed page left in flight).
    async quiet() {
      for (let i = 0; i < 30; i++) {
        const before = await read();
        await new Promise((res) => setTimeout(res, 1000));
        if ((await read()) - before < 20_000) return;
      }
    },
  };
}

// Runs in every page of the receiver's browser before its scripts: records the <video>'s events
// (capture phase, so the app's element is caught as well as ours), frames (requestVideoFrameCallback)
// and, in swarmdrop's page, the engine's state (window.swarmdrop) at each, and starts the video
// muted as soon as it loads (autoplay).
function recorder() {
  const now = () => performance.now();
  const B = { events: [], frames: { first: null }, seek: null, milestones: {}, streams: [], samples: [], origin: performance.timeOrigin };
  window.bench = B;
  const engine = () => {
    const s = window.swarmdrop;
    return s ? { bytes: s.bytes, total: s.total, downloaded: s.downloadedBytes, streams: s.streams } : null;
  };
  let video = null;
  const onFrame = (_, meta) => {
    const t = now();
    B.frames.first ??= { t, mediaTime: meta.mediaTime, engine: engine() };
    const seek = B.seek;
    if (seek?.seekedAt != null) {
      if (!seek.frame && meta.mediaTime >= seek.target - 0.5) seek.frame = { t, mediaTime: meta.mediaTime };
      if (seek.frame && !seek.playing && meta.mediaTime >= seek.frame.mediaTime + 0.2) seek.playing = { t, mediaTime: meta.mediaTime, engine: engine() };
    }
    video.requestVideoFrameCallback(onFrame);
  };
  const types = ['loadstart', 'loadedmetadata', 'loadeddata', 'canplay', 'canplaythrough', 'playing', 'waiting', 'seeking',
    'seeked', 'stalled', 'pause', 'error', 'ended', 'emptied'];
  for (const type of types) {
    document.addEventListener(type, (event) => {
      const element = event.target;
      if (!(element instanceof HTMLVideoElement)) return;
      if (type === 'loadstart' && video !== element) {
        video = element;
        element.muted = true;
        element.autoplay = true;
        element.requestVideoFrameCallback(onFrame);
      }
      if (type === 'seeked' && B.seek && B.seek.seekedAt == null) B.seek.seekedAt = now();
      B.events.push({
        type, t: now(), currentTime: element.currentTime, readyState: element.readyState, seeking: element.seeking,
        error: element.error?.message ?? null, engine: engine(),
      });
    }, true);
  }
  // swarmdrop's page: when the engine reached each step, and what the service worker asked for.
  const poll = setInterval(() => {
    const s = window.swarmdrop;
    if (!s) return;
    const t = now();
    const mark = (name, reached) => { if (reached && B.milestones[name] == null) B.milestones[name] = t; };
    mark('manifest', s.files?.length > 0);
    mark('peerOpen', s.peers?.some((p) => p.phase === 'open'));
    mark('firstBytes', s.downloadedBytes > 0);
    mark('firstPiece', s.bytes > 0);
    mark('sniffed', s.media?.[0]?.status === 'known');
    mark('player', s.player !== null);
    if (B.samples.length === 0 || t - B.samples.at(-1).t >= 100) {
      B.samples.push({ t, bytes: s.bytes, downloaded: s.downloadedBytes, currentTime: document.querySelector('#player')?.currentTime ?? null });
    }
    if (s.phase === 'error') B.error = s.error;
    B.path ??= s.peers?.find((p) => p.phase === 'open')?.path;
    // What the page fetched over HTTP (the link carries it too), once it is all in.
    if (!B.resources && t > 5000) {
      const nav = performance.getEntriesByType('navigation')[0];
      B.resources = [nav, ...performance.getEntriesByType('resource')].filter(Boolean)
        .map((e) => ({ name: e.name, start: e.startTime, end: e.responseEnd, bytes: e.transferSize }));
    }
  }, 50);
  // The receiver's link as its browser counts it, every 200 ms for the first 15 s: bytes the DTLS
  // transport received (SCTP's own traffic included) against the data channel's payload.
  B.linkStats = [];
  const pcs = [];
  const statsTimer = setInterval(async () => {
    const t = now();
    if (t > 15_000) clearInterval(statsTimer);
    for (const pc of pcs) {
      const sample = { t, transport: 0, channel: 0 };
      for (const stat of (await pc.getStats()).values()) {
        if (stat.type === 'transport') sample.transport += stat.bytesReceived ?? 0;
        if (stat.type === 'data-channel') sample.channel += stat.bytesReceived ?? 0;
      }
      B.linkStats.push(sample);
    }
  }, 200);
  window.addEventListener('pagehide', () => clearInterval(poll));
  // The receiver's wire (the data channel it opens to the sender): requests and cancels it sends,
  // and where each piece's frames start and end coming in.
  B.wire = [];
  B.connect = [];
  const createDataChannel = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function wired(...args) {
    const channel = createDataChannel.apply(this, args);
    pcs.push(this);
    // How the link came up: ICE and DTLS states, the channel's opening, its first text messages.
    const step = (what) => B.connect.push([Math.round(now()), what]);
    step('channel created');
    this.addEventListener('iceconnectionstatechange', () => step(`ice ${this.iceConnectionState}`));
    this.addEventListener('connectionstatechange', () => step(`pc ${this.connectionState}`));
    channel.addEventListener('open', () => step('channel open'));
    channel.addEventListener('message', ({ data }) => {
      if (typeof data === 'string' && B.connect.length < 12) step(`got ${/"t":"(\w+)"/.exec(data)?.[1]}`);
    });
    const send = channel.send;
    channel.send = function sent(data) {
      if (typeof data === 'string' && /"t":"(request|cancel)"/.test(data)) {
        const { t, piece } = JSON.parse(data);
        B.wire.push([Math.round(now()), t, piece]);
      }
      return send.call(this, data);
    };
    channel.addEventListener('message', ({ data }) => {
      if (!(data instanceof ArrayBuffer) || data.byteLength <= 8) return;
      const view = new DataView(data);
      const piece = view.getUint32(0);
      const offset = view.getUint32(4);
      if (offset === 0) B.wire.push([Math.round(now()), 'first frame', piece]);
      else if (data.byteLength - 8 < 65_000) B.wire.push([Math.round(now()), 'last frame', piece]);
    });
    return channel;
  };
  navigator.serviceWorker?.addEventListener('message', (event) => {
    if (event.data?.type === 'stream-open') B.streams.push({ t: now(), range: event.data.range });
  });
}

// One side, once its page has been told to play: start, 60 s of play, the seek, 20 s more.
// t0: page time (ms) the side's clock starts at. Returns the figures, in seconds.
async function measure(page, t0, link, size) {
  const wait = (fn, arg, timeout) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
  await wait(() => window.bench.events.some((e) => e.type === 'playing') || window.bench.error
    || window.bench.events.some((e) => e.type === 'error'), null, 90_000);
  let B = await page.evaluate(() => window.bench);
  if (B.error || !B.events.some((e) => e.type === 'playing')) throw new Error(`no playing: ${B.error ?? JSON.stringify(B.events.at(-1))}`);
  const playing = B.events.find((e) => e.type === 'playing');
  // Played up to PLAY_SECONDS (in media time: stalls make it longer), at most twice that long.
  await wait((at) => document.querySelector('video').currentTime >= at, PLAY_SECONDS, PLAY_SECONDS * 2000).catch(() => {});
  const seekAt = await page.evaluate((fraction) => {
    const video = document.querySelector('video');
    const target = video.duration * fraction;
    window.bench.seek = { at: performance.now(), from: video.currentTime, target, seekedAt: null, frame: null, playing: null };
    video.currentTime = target;
    return window.bench.seek.at;
  }, SEEK_AT);
  await wait(() => window.bench.seek.playing, null, 90_000).catch(() => {});
  B = await page.evaluate(() => window.bench);
  const resumed = B.seek.playing?.t ?? null;
  if (resumed !== null) await page.waitForTimeout(AFTER_SEEK_SECONDS * 1000);
  B = await page.evaluate(() => window.bench);
  const end = await page.evaluate(() => performance.now());

  // Stalls: 'waiting' while not seeking, until 'playing' (or a seek, or the end).
  const stalls = [];
  let open = null;
  for (const event of B.events) {
    if (event.t <= playing.t) continue;
    if (event.type === 'waiting' && !event.seeking && open === null) open = event.t;
    else if ((event.type === 'playing' || event.type === 'seeking') && open !== null) {
      stalls.push([open, event.t]);
      open = null;
    }
  }
  if (open !== null) stalls.push([open, end]);
  const within = (from, to) => {
    const inside = stalls.filter(([a]) => a >= from && a < to);
    return { count: inside.length, seconds: inside.reduce((sum, [a, b]) => sum + (b - a), 0) / 1000 };
  };
  const epoch = (t) => B.origin + t;
  const sent = (t) => link.at(epoch(t)) - link.at(epoch(t0));
  const first = B.frames.first;
  return {
    firstFrame: (first.t - t0) / 1000,
    playing: (playing.t - t0) / 1000,
    linkShareAtPlaying: sent(playing.t) / size,
    heldShareAtPlaying: playing.engine ? playing.engine.bytes / playing.engine.total : null,
    stallsAfterStart: within(playing.t, seekAt),
    seekedAt: B.seek.seekedAt === null ? null : (B.seek.seekedAt - seekAt) / 1000,
    seekFrame: B.seek.frame ? (B.seek.frame.t - seekAt) / 1000 : null,
    seekPlay: resumed === null ? null : (resumed - seekAt) / 1000,
    seekFrom: B.seek.from,
    seekTarget: B.seek.target,
    stallsAfterSeek: resumed === null ? null : within(resumed, end),
    linkBytes: sent(end),
    bench: B,
    t0,
    seekAt,
  };
}

async function nginxSide(viewer, plain, link, size) {
  const page = await viewer.context.newPage();
  try {
    await page.goto(plain.watchUrl); // the page's clock starts at this navigation: t0 = 0
    return await measure(page, 0, link, size);
  } finally {
    await page.close();
  }
}

async function swarmdropSide(viewer, shareLink, link, size) {
  const page = await viewer.context.newPage();
  page.on('pageerror', (error) => console.error(`[receiver page error] ${error.message}`));
  try {
    await page.goto(shareLink); // the page's clock starts at this navigation: t0 = 0
    const result = await measure(page, 0, link, size);
    result.state = await page.evaluate(() => window.swarmdrop);
    return result;
  } finally {
    await page.close();
  }
}

const f = (value, digits = 2) => (value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));
const MB = 1e6;

// The pieces whose frames started coming in [from, to) (page ms), in order, from the wire trace:
// "(again)" for one that came before, "(cancelled)" for one the receiver had cancelled.
function arrivals(wire, from, to) {
  const asked = new Map(); // piece -> its latest 'request' or 'cancel'
  const came = new Set();
  const out = [];
  for (const [t, what, piece] of wire) {
    if (t >= to) break;
    if (what === 'request' || what === 'cancel') asked.set(piece, what);
    if (what !== 'first frame') continue;
    if (t >= from) out.push(`${piece}${came.has(piece) ? ' (again)' : ''}${asked.get(piece) === 'cancel' ? ' (cancelled)' : ''}`);
    came.add(piece);
  }
  return out.join(', ');
}

// Where swarmdrop's time went (from its page: the engine's state sampled every 100 ms, the wire
// trace, the service worker's requests; and the link's counter): the start and the seek.
function swarmdropNotes(sd, link) {
  const B = sd.bench;
  const m = B.milestones;
  const at = (t) => B.samples.findLast((sample) => sample.t <= t) ?? B.samples[0];
  const linkAt = (t) => link.at(B.origin + t);
  const rate = (from, to) => f((linkAt(to) - linkAt(from)) / (to - from), 0); // kB/s
  const notes = [];
  notes.push(`swarmdrop start (s from opening the link): manifest ${f(m.manifest / 1000)}, first piece bytes ${f(m.firstBytes / 1000)}, `
    + `first piece (${sd.state.pieceSize / 1024} KiB) verified and stored ${f(m.firstPiece / 1000)}, player ${f(m.player / 1000)}, first frame ${f(sd.firstFrame)}; `
    + `link ${rate(m.firstBytes, m.firstPiece)} kB/s meanwhile, ${rate(m.firstPiece, sd.seekAt)} kB/s after; `
    + `pieces that came before the player started: ${arrivals(B.wire, 0, m.player)}`);
  const stats = (t) => B.linkStats.findLast((sample) => sample.t <= t);
  const [from, to] = [stats(m.firstBytes), stats(m.firstPiece)];
  if (from && to) {
    notes.push(`swarmdrop link until the first piece: the DTLS transport received ${f((to.transport - from.transport) / 1000, 0)} kB, `
      + `the data channel ${f((to.channel - from.channel) / 1000, 0)} kB; the link carried ${f((linkAt(m.firstPiece) - linkAt(m.firstBytes)) / 1000, 0)} kB; `
      + `link steps (s): ${B.connect.map(([t, what]) => `${what} ${f(t / 1000)}`).join(', ')}; `
      + `page fetches (s, kB): ${(B.resources ?? []).map((r) => `${r.name.split('#')[0].split('/').pop() || '/'} ${f(r.start / 1000)}-${f(r.end / 1000)} ${f(r.bytes / 1000, 0)}`).join(', ')}`);
  }
  const seekRange = B.streams.at(-1)?.range;
  const target = seekRange ? Math.floor(Number(/bytes=(\d+)-/.exec(seekRange)?.[1]) / sd.state.pieceSize) : null;
  const end = B.seek.frame?.t;
  if (end !== undefined) {
    const [before, after] = [at(sd.seekAt), at(end)];
    const received = after.downloaded - before.downloaded;
    const stored = after.bytes - before.bytes;
    const targetCame = B.wire.find(([t, what, piece]) => t >= sd.seekAt && what === 'first frame' && piece === target)?.[0];
    notes.push(`swarmdrop seek: the player asked for ${seekRange} (piece ${target}), whose frames started coming `
      + `${f((targetCame - sd.seekAt) / 1000)} s after the seek, behind pieces ${arrivals(B.wire, sd.seekAt, targetCame) || 'none'}; `
      + `until the target's frame showed the page received ${f(received / MB)} MB of piece data and stored ${f(stored / MB)} MB`);
  }
  return notes;
}

// The web app's bundle under test (web/dist, served by scripts/serve.sh).
function webBundle() {
  return readdirSync(join(repoRoot, 'web/dist/assets')).find((name) => /^main-.*\.js$/.test(name)) ?? '?';
}

function report(video, rate, sd, ng, link) {
  // [name, swarmdrop, nginx, digits, ratio?]
  const rows = [
    ['first frame (s)', sd.firstFrame, ng.firstFrame, 2, true],
    ["'playing' (s)", sd.playing, ng.playing, 2, true],
    ['file sent over the link at playing (%)', sd.linkShareAtPlaying * 100, ng.linkShareAtPlaying * 100, 1, true],
    ['stalls after the start (count)', sd.stallsAfterStart.count, ng.stallsAfterStart.count, 0, false],
    ['stalls after the start (s)', sd.stallsAfterStart.seconds, ng.stallsAfterStart.seconds, 2, false],
    [`seek to ${SEEK_AT * 100} %: 'seeked' (s)`, sd.seekedAt, ng.seekedAt, 2, true],
    ['seek to a frame of the target (s)', sd.seekFrame, ng.seekFrame, 2, true],
    ['seek to playing on, +0.2 s (s)', sd.seekPlay, ng.seekPlay, 2, true],
    [`stalls ${AFTER_SEEK_SECONDS} s after the seek (count)`, sd.stallsAfterSeek?.count, ng.stallsAfterSeek?.count, 0, false],
    [`stalls ${AFTER_SEEK_SECONDS} s after the seek (s)`, sd.stallsAfterSeek?.seconds, ng.stallsAfterSeek?.seconds, 2, false],
    ['bytes over the link, whole side (MB)', sd.linkBytes / MB, ng.linkBytes / MB, 1, true],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`swarmdrop streaming vs nginx progressive download: ${(video.size / MB).toFixed(1)} MB, ${video.duration.toFixed(0)} s `
    + `720p H.264+AAC, index ${moovAtEnd ? 'at the end' : 'first (faststart)'}, average ${(video.size * 8 / video.duration / MB).toFixed(2)} Mbit/s;`);
  console.log(`link shaped (tbf) to ${(rate / MB).toFixed(2)} Mbit/s = ${LINK_FACTOR} x; sides one after the other, `
    + `${swarmdropFirst ? 'swarmdrop' : 'nginx'} first; swarmdrop's link path: ${sd.bench.path ?? '?'}; web app ${webBundle()}`);
  console.log(`${''.padEnd(width)}  ${'swarmdrop'.padStart(10)}  ${'nginx'.padStart(10)}  ${'ratio'.padStart(6)}`);
  for (const [name, a, b, digits, showRatio] of rows) {
    const r = showRatio && a !== null && a !== undefined && b ? (a / b).toFixed(2) : '';
    console.log(`${name.padEnd(width)}  ${f(a, digits).padStart(10)}  ${f(b, digits).padStart(10)}  ${r.padStart(6)}`);
  }
  console.log(`swarmdrop held ${f(sd.heldShareAtPlaying * 100, 1)} % of the file (verified pieces) at playing; both played to `
    + `${f(sd.seekFrom, 1)} s / ${f(ng.seekFrom, 1)} s, then seeked to ${f(sd.seekTarget, 1)} s`);
  for (const note of swarmdropNotes(sd, link)) console.log(note);
  const goalFirst = sd.firstFrame <= 1.2 * ng.firstFrame;
  const goalStalls = sd.stallsAfterStart.count === 0 && sd.stallsAfterSeek?.count === 0;
  console.log(`goal: first frame within 1.2 x nginx's: ${goalFirst ? 'met' : 'NOT met'}; no stall after the start: ${goalStalls ? 'met' : 'NOT met'}`);
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, tc)');
  const started = Date.now();
  const video = makeVideo(dir, DURATION, { moovAtEnd });
  const rate = Math.round((video.size * 8 / video.duration) * LINK_FACTOR);
  console.error(`video made in ${((Date.now() - started) / 1000).toFixed(0)} s: ${video.size} bytes, ${video.duration} s`);

  buildNetwork();
  inNs(SOURCE, 'tc', 'qdisc', 'add', 'dev', IFACE, 'root', 'tbf', 'rate', `${rate}bit`, 'burst', '32kb', 'latency', '50ms');
  const link = watchLink();
  const server = await startServer({ netns: SOURCE, host: SOURCE_IP });
  undo.push(() => server.stop());
  const plain = await startPlainNginx({ dir, videoPath: video.path, host: SOURCE_IP, port: PLAIN_PORT, netns: SOURCE });
  undo.push(() => plain.stop());
  const sender = await launchBrowser({ netns: SOURCE, serverUrl: server.url });
  undo.push(() => sender.close());
  const viewer = await launchBrowser({ netns: VIEWER, serverUrl: server.url });
  undo.push(() => viewer.close());
  await viewer.context.addInitScript(recorder);

  const shareLink = await shareFile(sender.page, server.url, video.path);
  await link.quiet();
  const sides = {};
  for (const side of swarmdropFirst ? ['swarmdrop', 'nginx'] : ['nginx', 'swarmdrop']) {
    console.error(`${side}: measuring (${((Date.now() - started) / 1000).toFixed(0)} s into the run)`);
    sides[side] = side === 'nginx' ? await nginxSide(viewer, plain, link, video.size) : await swarmdropSide(viewer, shareLink, link, video.size);
    await link.quiet();
  }
  if (process.env.STREAM_BENCH_DUMP) {
    writeFileSync(process.env.STREAM_BENCH_DUMP, JSON.stringify({ ...sides, link: link.samples, nginxLog: readFileSync(plain.accessLog, 'utf8') }));
  }
  report(video, rate, sides.swarmdrop, sides.nginx, link);
  const figures = (side) => ({
    timeToFirstFrameSeconds: side.firstFrame,
    playingSeconds: side.playing,
    stalls: side.stallsAfterStart.count + (side.stallsAfterSeek?.count ?? 0),
    stalledSeconds: side.stallsAfterStart.seconds + (side.stallsAfterSeek?.seconds ?? 0),
    seekFrameSeconds: side.seekFrame,
  });
  writeResult(jsonPath, 'stream', {
    swarmdrop: figures(sides.swarmdrop), http: figures(sides.nginx), mbit: rate / 1e6, videoSeconds: video.duration, videoMB: video.size / MB,
  });
  console.error(`whole run: ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

try {
  await main();
} finally {
  await cleanUp();
}
