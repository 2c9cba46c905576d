#!/usr/bin/env node
// Chromium and Firefox side by side (issue 15, comparison 7), in one run, on one namespace's
// loopback (scripts/in-netns.sh), with the real Janus + plugin + nginx:
//   transfer: a file from a sender to a receiver, every pairing of Debian's Chromium
//             (playwright-core) and Firefox ESR (puppeteer-core): the seconds from the receiver
//             opening the link to the file saved by its browser, SHA-256 checked; unshaped, so
//             the figure is what each browser manages on this machine's two cores.
//   stream:   a video from a Chromium sender, watched in a fresh Chromium and then a fresh
//             Firefox while it downloads, against the same file from a plain nginx as a
//             progressive download, with the loopback shaped (tbf, MTU 1500) to 1.5 times the
//             video's bitrate: time to the first frame (requestVideoFrameCallback, from opening
//             the link or nginx's page that plays the video), 'playing', and the stalls until it played
//             --play-seconds of media.
//
//   scripts/in-netns.sh node bench/browsers.mjs [--mib 64] [--video-seconds 60] [--play-seconds 30] [--json PATH]
// As root (tc), after scripts/test.sh (it installs Firefox ESR and puppeteer-core).
//
// --json PATH writes (bench/lib/result.mjs) results =
//   {mib, transfer: [{sender, receiver, seconds, MBps}], stream: {mbit, videoSeconds,
//    viewers: {chromium|firefox: {swarmdrop|http: {timeToFirstFrameSeconds, playingSeconds, stalls, stalledSeconds}}}}}
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  launchBrowser, launchFirefox, randomFile, receiveFile, sha256File, shareFile, startServer, subDir, tempDir,
} from '../tests/e2e/harness.mjs';
import { jsonTarget, writeResult } from './lib/result.mjs';
import { makeVideo, startPlainNginx } from './lib/video.mjs';

const { path: jsonPath, args } = jsonTarget();
const { values: options } = parseArgs({
  args,
  options: {
    mib: { type: 'string', default: '64' },
    'video-seconds': { type: 'string', default: '60' },
    'play-seconds': { type: 'string', default: '30' },
  },
});
const [mib, videoSeconds, playSeconds] = [Number(options.mib), Number(options['video-seconds']), Number(options['play-seconds'])];
if (!(mib > 0) || !(playSeconds > 0 && playSeconds < videoSeconds)) {
  console.error('usage: scripts/in-netns.sh node bench/browsers.mjs [--mib 64] [--video-seconds 60] [--play-seconds 30 (< video)] [--json PATH]');
  process.exit(2);
}
if (process.getuid?.() !== 0) throw new Error('needs root (tc), in scripts/in-netns.sh\'s namespace');

const launch = { chromium: launchBrowser, firefox: launchFirefox };
const LINK_FACTOR = 1.5; // the streaming link, in times the video's average bitrate
const PLAIN_PORT = 8091;
const dir = tempDir('swarmdrop-bench-browsers-');
const sh = (command, ...words) => execFileSync(command, words, { stdio: ['ignore', 'pipe', 'pipe'] });
const elapsed = (since) => (performance.now() - since) / 1000;

// Saved by the receiver's browser once its page got the whole file: Chromium's download event,
// Firefox's downloads folder. Resolves to the file's path.
async function received(receiver, link, file, saveDir) {
  if (!receiver.downloaded) return (await receiveFile(receiver.page, link, saveDir)).path;
  await receiver.page.goto(link);
  return receiver.downloaded(file.path.split('/').pop(), file.size, { timeout: 300_000 });
}

async function transfer(server, senderName, receiverName, file) {
  const sender = await launch[senderName]();
  const receiver = await launch[receiverName]();
  try {
    const link = await shareFile(sender.page, server.url, file.path);
    const started = performance.now();
    const path = await received(receiver, link, file, subDir(dir, `${senderName}-${receiverName}`));
    const seconds = elapsed(started);
    if ((await sha256File(path)) !== file.sha256) throw new Error(`${senderName} to ${receiverName}: the saved file differs`);
    rmSync(path);
    return { sender: senderName, receiver: receiverName, seconds, MBps: file.size / 1e6 / seconds };
  } finally {
    await Promise.allSettled([sender.close(), receiver.close()]);
  }
}

// Runs in the viewer's pages before their scripts: the first <video> to load starts muted on its
// own (autoplay), its first frame and events are recorded in window.bench.
function recorder() {
  const B = { events: [], firstFrame: null };
  window.bench = B;
  for (const type of ['loadstart', 'playing', 'waiting', 'seeking', 'error']) {
    document.addEventListener(type, (event) => {
      const video = event.target;
      if (!(video instanceof HTMLVideoElement)) return;
      if (type === 'loadstart' && !B.video) {
        B.video = true;
        Object.assign(video, { muted: true, autoplay: true });
        video.requestVideoFrameCallback(() => { B.firstFrame ??= performance.now(); });
      }
      B.events.push({ type, t: performance.now(), seeking: video.seeking, error: video.error?.message ?? null });
    }, true);
  }
}

// The figures of one side once its page was told to play; t0: the page time its clock starts at.
async function measure(page, t0) {
  await page.waitForFunction(() => window.bench.events.some((e) => e.type === 'playing' || e.type === 'error'), null, { timeout: 90_000, polling: 100 });
  await page.waitForFunction((at) => document.querySelector('video').currentTime >= at, playSeconds, { timeout: playSeconds * 3000, polling: 100 });
  const [B, end] = await page.evaluate(() => [window.bench, performance.now()]);
  const playing = B.events.find((e) => e.type === 'playing');
  if (!playing || B.firstFrame === null) throw new Error(`no picture: ${JSON.stringify(B.events.at(-1))}`);
  const stalls = [];
  for (const event of B.events.filter((e) => e.t > playing.t)) {
    if (event.type === 'waiting' && !event.seeking && stalls.at(-1)?.length !== 1) stalls.push([event.t]);
    else if (event.type === 'playing' && stalls.at(-1)?.length === 1) stalls.at(-1).push(event.t);
  }
  return {
    timeToFirstFrameSeconds: (B.firstFrame - t0) / 1000,
    playingSeconds: (playing.t - t0) / 1000,
    stalls: stalls.length,
    stalledSeconds: stalls.reduce((sum, [from, to = end]) => sum + (to - from), 0) / 1000,
  };
}

// One viewer's browser, fresh: nginx's progressive download, then the share link.
async function watch(viewerName, shareLink, plain) {
  const viewer = await launch[viewerName]();
  try {
    await viewer.context.addInitScript(recorder);
    await viewer.page.goto(plain.watchUrl); // the page's clock starts at each navigation
    const http = await measure(viewer.page, 0);
    await viewer.page.goto(shareLink);
    const swarmdrop = await measure(viewer.page, 0);
    return { swarmdrop, http };
  } finally {
    await viewer.close();
  }
}

// tbf on the namespace's loopback, at MTU 1500 so that a small bucket holds a packet; null: unshaped.
function shapeLoopback(bitsPerSecond) {
  if (bitsPerSecond === null) {
    sh('tc', 'qdisc', 'del', 'dev', 'lo', 'root');
    sh('ip', 'link', 'set', 'lo', 'mtu', '65536');
    return;
  }
  sh('ip', 'link', 'set', 'lo', 'mtu', '1500');
  sh('tc', 'qdisc', 'replace', 'dev', 'lo', 'root', 'tbf', 'rate', `${bitsPerSecond}bit`, 'burst', '32kb', 'latency', '50ms');
}

const f = (value, digits = 2) => value.toFixed(digits);
const pairs = [['chromium', 'chromium'], ['chromium', 'firefox'], ['firefox', 'chromium'], ['firefox', 'firefox']];
let shaped = false;
const server = await startServer();
try {
  const file = await randomFile(dir, 'browsers.bin', Math.round(mib * (1 << 20)));
  console.log(`Chromium and Firefox: ${mib} MiB sender to receiver on an unshaped loopback, from opening the link to the saved file`);
  const transfers = [];
  for (const [sender, receiver] of pairs) {
    const row = await transfer(server, sender, receiver, file);
    transfers.push(row);
    console.log(`${`${sender} to ${receiver}`.padEnd(20)} ${f(row.seconds, 1).padStart(6)} s ${f(row.MBps, 1).padStart(6)} MB/s`);
  }
  rmSync(file.path);

  const video = makeVideo(dir, videoSeconds);
  const rate = Math.round((video.size * 8 / video.duration) * LINK_FACTOR);
  shapeLoopback(rate);
  shaped = true;
  const plain = await startPlainNginx({ dir, videoPath: video.path, host: '127.0.0.1', port: PLAIN_PORT });
  const viewers = {};
  try {
    const sender = await launchBrowser();
    try {
      const shareLink = await shareFile(sender.page, server.url, video.path);
      console.log(`streaming: ${(video.size / 1e6).toFixed(1)} MB, ${video.duration.toFixed(0)} s of 720p from a Chromium sender, loopback shaped to `
        + `${(rate / 1e6).toFixed(2)} Mbit/s; seconds from opening the link / nginx's page; stalls until ${playSeconds} s played`);
      console.log(`${'viewer'.padEnd(9)} ${'first frame: swarmdrop'.padStart(22)} ${'nginx'.padStart(6)} ${'ratio'.padStart(6)}  stalls swarmdrop / nginx`);
      for (const viewer of ['chromium', 'firefox']) {
        const sides = await watch(viewer, shareLink, plain);
        viewers[viewer] = sides;
        const [s, h] = [sides.swarmdrop, sides.http];
        console.log(`${viewer.padEnd(9)} ${f(s.timeToFirstFrameSeconds).padStart(22)} ${f(h.timeToFirstFrameSeconds).padStart(6)} `
          + `${f(s.timeToFirstFrameSeconds / h.timeToFirstFrameSeconds).padStart(6)}  ${s.stalls} (${f(s.stalledSeconds, 1)} s) / ${h.stalls} (${f(h.stalledSeconds, 1)} s)`);
      }
    } finally {
      await sender.close();
    }
  } finally {
    await plain.stop();
  }
  writeResult(jsonPath, 'browsers', {
    mib, transfer: transfers, stream: { mbit: rate / 1e6, videoSeconds: video.duration, viewers },
  });
} finally {
  if (shaped) shapeLoopback(null);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
