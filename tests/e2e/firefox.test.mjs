// Streaming in Debian's Firefox ESR (puppeteer-core over WebDriver BiDi) against Debian's Chromium
// (playwright-core), the real Janus + plugin + nginx: an MP4 with its index (moov) at the end, as
// ffmpeg writes it by default, goes browser to browser from a sender whose uplink is capped (test
// hook) and the receiver's own player reads it through the service worker while it downloads:
// past 3 s before the whole file is there, then after a seek to 30 s, again before it is there.
// Firefox receives from Chromium and Chromium from Firefox; then, in Firefox, a storm of seeks (the
// responses its player drops are cancelled, one stays open) and the page's keepalive (Firefox stops
// a service worker that streams a response but has had no event for a while).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  launchBrowser, launchFirefox, playsWhileDownloading, serverFixture, shareFile, startPlayer, waitForState, withStates,
} from './harness.mjs';

const fixture = serverFixture();
// What Firefox's pages and service workers print, when SWARMDROP_FIREFOX_LOG is set.
const log = process.env.SWARMDROP_FIREFOX_LOG ? (line) => console.error(line) : null;
// 700 kB/s: the 20 MB take about 30 s, so playing at 3 s and at 30 s must come well before.
const SEED_BYTES_PER_SECOND = 700_000;
let video = null; // {path, size}, made by the first test that needs it

// About 20 MB: 40 s at a constant 4 Mbit/s, H.264/AAC, a keyframe every 2 s, moov at the end.
function film() {
  if (video) return video;
  const path = join(fixture.dir, 'film.mp4');
  execFileSync('ffmpeg', [
    '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '40',
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-b:v', '4M', '-minrate', '4M', '-maxrate', '4M', '-bufsize', '2M',
    '-x264-params', 'nal-hrd=cbr', '-c:a', 'aac', path,
  ]);
  video = { path, size: statSync(path).size };
  assert.ok(video.size > 16 << 20, `${video.size} bytes`);
  return video;
}

// The receiver opens the link: its player shows the film, streamed by the service worker.
async function openAndPlay(page, link) {
  await page.goto(link);
  await startPlayer(page);
  const known = await waitForState(page, (s) => s.player && s.media[0]?.status === 'known', null, { timeout: 30_000 });
  assert.equal(known.player.path, 'film.mp4');
  assert.equal(known.player.via, 'stream');
  assert.match(known.player.type, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}, mp4a\.40\.2"$/);
  assert.equal(known.player.error, null);
  assert.ok(known.bytes < known.total, 'the video shows before the file is here');
  return known;
}

const CROSSINGS = [
  ['Chromium sends, Firefox plays the moov-at-end MP4 through its service worker', launchBrowser, launchFirefox],
  ['Firefox sends, Chromium plays the same MP4', launchFirefox, launchBrowser],
];

for (const [title, launchSender, launchReceiver] of CROSSINGS) {
  test(`${title} while it downloads, and after a seek to 30 s`, { timeout: 120_000 }, async (t) => {
    const sender = await launchSender({ testHooks: { seedBytesPerSecond: SEED_BYTES_PER_SECOND }, log });
    const receiver = await launchReceiver({ log });
    try {
      await withStates(t, { sender, receiver }, async () => {
        const link = await shareFile(sender.page, fixture.server.url, film().path);
        await openAndPlay(receiver.page, link);
        const { early } = await playsWhileDownloading(t, receiver.page);
        assert.equal(early.total, video.size);
      }, { server: fixture.server });
    } finally {
      await sender.close();
      await receiver.close();
    }
  });
}

// A Chromium sender and a Firefox receiver (with Firefox `prefs`) that counts the stream requests
// its service worker forwards (window.streamRequests) and plays the film past 1 s; then
// body(page, started), with the state at that moment.
async function playingInFirefox(t, prefs, body) {
  const sender = await launchBrowser({ testHooks: { seedBytesPerSecond: SEED_BYTES_PER_SECOND } });
  const receiver = await launchFirefox({ log, prefs });
  try {
    await withStates(t, { sender, receiver }, async () => {
      await receiver.context.addInitScript(() => {
        globalThis.streamRequests = 0;
        navigator.serviceWorker.addEventListener('message', (event) => {
          if (event.data?.type === 'stream-open') globalThis.streamRequests += 1;
        });
      });
      const link = await shareFile(sender.page, fixture.server.url, film().path);
      await openAndPlay(receiver.page, link);
      const started = await waitForState(receiver.page, (s) => s.player.currentTime > 1, null, { timeout: 30_000 });
      await body(receiver.page, started);
    }, { server: fixture.server });
  } finally {
    await sender.close();
    await receiver.close();
  }
}

// Firefox cancels the response its player drops when it seeks (the service worker's stream is
// cancelled and says so to the page), but it seeks one target after the other: each superseded
// seek still reads its own keyframe before the next one starts.
test('in Firefox, a storm of seeks leaves one response open, and the last target plays', { timeout: 120_000 }, async (t) => {
  await playingInFirefox(t, {}, async (page) => {
    await page.evaluate(() => {
      window.mostStreams = 0;
      setInterval(() => { window.mostStreams = Math.max(window.mostStreams, window.swarmdrop.streams); }, 50);
    });
    for (const at of [8, 16, 24, 32, 12]) {
      await page.evaluate((seconds) => { document.querySelector('#player').currentTime = seconds; }, at);
      await new Promise((res) => setTimeout(res, 100));
    }
    const stormEnded = Date.now();
    const settled = await waitForState(page, (s) => s.streams <= 1, null, { timeout: 10_000 });
    t.diagnostic(`${settled.streams} open after ${Date.now() - stormEnded} ms`);
    const late = await waitForState(page, (s) => s.player.currentTime > 12.5, null, { timeout: 60_000 });
    const { mostStreams, streamRequests } = await page.evaluate(() => ({ mostStreams: window.mostStreams, streamRequests: window.streamRequests }));
    t.diagnostic(`played past 12.5 s ${Date.now() - stormEnded} ms after the storm, with ${late.bytes} of ${late.total} bytes; `
      + `${streamRequests} stream requests in all, at most ${mostStreams} open at once`);
    assert.ok(mostStreams <= 2, `${mostStreams} streams open at once`);
    assert.equal(late.player.error, null);
  });
});

// Firefox stops a service worker some time after its last event, even while a response it made
// streams (the player then asks for the rest again, and the page never hears that the old
// response died); the page's keepalive (every STREAM_KEEPALIVE_MS, 10 s) must come first. Here
// the worker would stop 16 s after the requests of the start, well within the 25 s played.
test('in Firefox, the keepalive keeps the service worker streaming one response through 25 s of playing', { timeout: 120_000 }, async (t) => {
  const idleSoon = { 'dom.serviceWorkers.idle_timeout': 15_000, 'dom.serviceWorkers.idle_extended_timeout': 1_000 };
  await playingInFirefox(t, idleSoon, async (page, started) => {
    const before = await page.evaluate(() => window.streamRequests);
    const late = await waitForState(page, (s) => s.player.currentTime > 25, null, { timeout: 60_000 });
    const after = await page.evaluate(() => window.streamRequests);
    t.diagnostic(`${before} stream requests by 1 s, ${after} by 25 s; ${late.streams} open; ${late.bytes} of ${late.total} bytes`);
    assert.ok(started.bytes < started.total);
    assert.equal(after, before, 'the response was asked for again: the service worker stopped while it streamed');
    assert.equal(late.streams, 1);
    assert.equal(late.player.error, null);
  });
});
