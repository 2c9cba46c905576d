// Streaming any file the receiver's browser plays, from its first bytes, through the service
// worker (sw.js answering Range requests from the piece store): real Janus, nginx and two (or
// three) Chromium processes; fixtures made here by Debian's ffmpeg; the sender's upload capped
// (test hook) so that each download takes about DOWNLOAD_SECONDS, several times what playing
// needs to start. Each file plays past 3 s before half of it is here, and after a seek to 80 %
// plays again before the pieces in between are here; a storm of seeks leaves no stream behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  closeAll, launchBrowser, playingPast, serverFixture, shareFile, startPlayer, waitForState, withStates,
} from './harness.mjs';

const fixture = serverFixture();
const CLIP_SECONDS = 60;
const MP3_SECONDS = 300;
const DOWNLOAD_SECONDS = 24;

function ffmpeg(...args) {
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args]);
}

// The clips, made once: H.264/AAC at about 2 Mbit/s and VP9/Opus at 3, a keyframe every 2 s.
// Chromium keeps reading the response it has when a seek lands a few MB ahead of it, as it would
// over plain HTTP; these sizes put 80 % beyond that.
let made = null;
function clips() {
  if (made) return made;
  const at = (name) => join(fixture.dir, name);
  const source = ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(CLIP_SECONDS)];
  ffmpeg(...source, '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-b:v', '2M', '-maxrate', '2M', '-bufsize', '1M',
    '-c:a', 'aac', at('index-last.mp4'));
  ffmpeg('-i', at('index-last.mp4'), '-c', 'copy', '-movflags', '+faststart', at('index-first.mp4'));
  ffmpeg('-i', at('index-last.mp4'), '-c', 'copy', at('clip.mkv'));
  ffmpeg(...source, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-g', '50',
    '-b:v', '3M', '-c:a', 'libopus', at('clip.webm'));
  // Longer, so that it spans many pieces: a seek in it must skip some.
  ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(MP3_SECONDS), '-c:a', 'libmp3lame', '-b:a', '320k', at('clip.mp3'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '3', '-c:v', 'libx265', '-preset', 'ultrafast',
    '-x265-params', 'log-level=error', '-tag:v', 'hvc1', '-movflags', '+faststart', at('hevc.mp4'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', at('picture.png'));
  made = at;
  return made;
}

// A sender whose upload makes a download of `path` take about `seconds`.
function shapedSender(path, seconds = DOWNLOAD_SECONDS) {
  return launchBrowser({ testHooks: { seedBytesPerSecond: Math.ceil(statSync(path).size / seconds) } });
}

// Plays past 3 s before half the file is here, then after a seek to 80 % of the clip plays again
// before the bytes up to there are all here (so the pieces at the seek target came first).
async function playsAndSeeks(t, page, { seconds = CLIP_SECONDS } = {}) {
  await startPlayer(page);
  const early = await playingPast(page, 3, 60_000);
  t.diagnostic(`played past 3 s with ${early.bytes} of ${early.total} bytes`);
  assert.ok(early.bytes < early.total / 2, `played past 3 s only with ${early.bytes} of ${early.total} bytes`);
  const target = seconds * 0.8;
  const seekStart = Date.now();
  await page.evaluate((to) => { document.querySelector('#player').currentTime = to; }, target);
  const late = await playingPast(page, target + 0.5, 30_000);
  t.diagnostic(`after a seek to ${target} s, played past it in ${Date.now() - seekStart} ms with ${late.bytes} bytes`);
  assert.ok(late.bytes < late.total * 0.8, `played at ${target} s only with ${late.bytes} of ${late.total} bytes`);
  return { early, late };
}

const FORMATS = [
  ['an MP4 with its index first', 'index-first.mp4', /^video\/mp4; codecs="avc1\.[0-9a-f]{6}, mp4a\.40\.2"$/],
  ['an MP4 with its index at the end', 'index-last.mp4', /^video\/mp4; codecs="avc1\.[0-9a-f]{6}, mp4a\.40\.2"$/],
  ['Matroska H.264/AAC', 'clip.mkv', /^video\/x-matroska; codecs="avc1, mp4a\.40\.2"$/],
  ['WebM VP9/Opus', 'clip.webm', /^video\/webm; codecs="vp9, opus"$/],
  ['an MP3', 'clip.mp3', /^audio\/mpeg; codecs="mp3"$/, MP3_SECONDS],
];

for (const [title, name, type, seconds = CLIP_SECONDS] of FORMATS) {
  test(`${title} plays while it downloads and after a seek to 80 %`, { timeout: 240_000 }, async (t) => {
    const path = clips()(name);
    const sender = await shapedSender(path);
    const receiver = await launchBrowser();
    try {
      await withStates(t, { sender, receiver }, async () => {
        const link = await shareFile(sender.page, fixture.server.url, path);
        await receiver.page.goto(link);
        const known = await waitForState(receiver.page, (s) => s.player !== null, null, { timeout: 60_000 });
        assert.equal(known.media[0].status, 'known');
        assert.equal(known.media[0].playable, true);
        assert.match(known.media[0].type, type);
        assert.equal(known.player.via, 'stream');
        assert.equal(known.player.error, null);
        await playsAndSeeks(t, receiver.page, { seconds });
        if (name === 'index-first.mp4') {
          // A storm of seeks: every range the player dropped is cancelled; what is left open is
          // the one it reads.
          for (const to of [10, 40, 20, 50, 5, 30]) {
            await receiver.page.evaluate((at) => { document.querySelector('#player').currentTime = at; }, to);
            await new Promise((res) => setTimeout(res, 150));
          }
          await playingPast(receiver.page, 30.5, 30_000);
          const settled = await waitForState(receiver.page, (s) => s.streams <= 1, null, { timeout: 15_000 });
          t.diagnostic(`streams open after the storm: ${settled.streams}`);
          // A keyboard or a TV remote: the right arrow seeks 10 s on, F goes full screen.
          const before = await receiver.page.evaluate(() => document.querySelector('#player').currentTime);
          await receiver.page.locator('body').press('ArrowRight');
          const after = await receiver.page.evaluate(() => document.querySelector('#player').currentTime);
          assert.ok(after >= before + 9.5 && after < before + 12, `ArrowRight: ${before} -> ${after}`);
          await receiver.page.locator('body').press('f');
          await receiver.page.waitForFunction(() => document.fullscreenElement?.id === 'stage');
        }
        if (name === 'clip.mkv') {
          // The browser stops the service worker (as it does when idle): the next request starts
          // it again, and it holds nothing that was lost.
          const cdp = await receiver.context.newCDPSession(receiver.page);
          await cdp.send('ServiceWorker.enable');
          await cdp.send('ServiceWorker.stopAllWorkers');
          await receiver.page.evaluate(() => { document.querySelector('#player').currentTime = 20; });
          await playingPast(receiver.page, 20.5, 30_000);
        }
        const done = await waitForState(receiver.page, (s) => s.phase === 'done', null, { timeout: 120_000 });
        assert.equal(done.bytes, statSync(path).size);
        assert.equal(done.player.error, null);
      }, { server: fixture.server });
    } finally {
      await closeAll([sender, receiver]);
    }
  });
}

test('a file this browser cannot play says so next to its save button, and nothing plays', { timeout: 120_000 }, async (t) => {
  const path = clips()('hevc.mp4');
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, path);
      // The sender's page offers the link as a large QR code for the TV across the room.
      await sender.page.locator('#other-screen').click();
      await sender.page.locator('#screen-qr-code svg').waitFor({ state: 'visible' });
      assert.equal(await sender.page.locator('#screen-qr-link').innerText(), link);
      await receiver.page.goto(link);
      const known = await waitForState(receiver.page, (s) => s.media[0]?.status === 'known');
      assert.equal(known.media[0].kind, 'video');
      assert.equal(known.media[0].playable, false);
      assert.equal(known.media[0].reason, 'codec');
      assert.match(known.media[0].codec, /^hvc1\./);
      await receiver.page.locator('#media').waitFor({ state: 'visible' });
      assert.match(await receiver.page.locator('#media').innerText(), /HEVC video: this browser cannot play it; save it instead\./);
      const done = await waitForState(receiver.page, (s) => s.phase === 'done');
      assert.equal(done.player, null);
      assert.ok(await receiver.page.locator('#stage').isHidden());
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, receiver]);
  }
});

test('a share of several files lists its media: the first plays, a picture shows on request, other files are not media', { timeout: 120_000 }, async (t) => {
  const at = clips();
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, [at('clip.mp3'), at('picture.png'), join(fixture.server.stateDir, 'janus.pid')]);
      await receiver.page.goto(link);
      const known = await waitForState(receiver.page, (s) => s.media.length === 3 && s.media.every((m) => m.status === 'known') && s.player);
      assert.deepEqual(known.media.map((m) => [m.kind, m.playable]), [['audio', true], ['image', true], [null, false]]);
      assert.equal(known.player.file, 0);
      assert.equal(await receiver.page.locator('#media li').count(), 2);
      await receiver.page.locator('#media button[data-action="play"][data-file="1"]').click();
      await receiver.page.waitForFunction(() => document.querySelector('#picture').naturalWidth === 320);
      const shown = await receiver.page.evaluate(() => window.swarmdrop.player);
      assert.deepEqual([shown.file, shown.kind, shown.error], [1, 'image', null]);
      assert.ok(await receiver.page.locator('#player').isHidden());
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, receiver]);
  }
});

test('a second viewer plays from the first once the sender is gone; a complete receiver plays from disk after a reload', { timeout: 240_000 }, async (t) => {
  const path = clips()('index-last.mp4');
  const sender = await launchBrowser();
  // The first viewer serves slowly, so the second streams from it over a link that takes a while.
  const first = await shapedSender(path);
  const second = await launchBrowser();
  try {
    await withStates(t, { sender, first, second }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, path);
      await first.page.goto(link);
      await waitForState(first.page, (s) => s.phase === 'done');
      // The share goes on without its sender: the second viewer comes after it left.
      await sender.close();
      await second.page.goto(link);
      await playsAndSeeks(t, second.page);
      const got = await second.page.evaluate(() => window.swarmdrop);
      assert.ok(got.peers.every((peer) => peer.role === 'receiver'), JSON.stringify(got.peers));

      await first.page.reload();
      const reloaded = await waitForState(first.page, (s) => s.phase === 'done' && s.player !== null);
      assert.equal(reloaded.player.via, 'stream');
      await startPlayer(first.page);
      await playingPast(first.page, 2, 30_000);
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, first, second]);
  }
});

test('a second tab of the same share plays its files through the first', { timeout: 180_000 }, async (t) => {
  const path = clips()('index-last.mp4');
  const sender = await shapedSender(path);
  const receiver = await launchBrowser();
  try {
    const tab = { page: await receiver.context.newPage() };
    await withStates(t, { sender, receiver, tab }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, path);
      await receiver.page.goto(link);
      await waitForState(receiver.page, (s) => s.player !== null);
      // This tab cannot open the share's store, which the first one holds: it plays through it.
      await tab.page.goto(link);
      const second = await waitForState(tab.page, (s) => s.phase === 'elsewhere' && s.player !== null);
      assert.equal(second.player.via, 'stream');
      assert.match(second.media[0].type, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}, mp4a\.40\.2"$/);
      assert.match(await tab.page.locator('#status').innerText(), /open in another tab/);
      await startPlayer(tab.page);
      await playingPast(tab.page, 3, 60_000);
      const first = await receiver.page.evaluate(() => window.swarmdrop);
      t.diagnostic(`the second tab played past 3 s with ${first.bytes} of ${first.total} bytes in the first`);
      assert.ok(first.bytes < first.total / 2, `played only once the first tab had ${first.bytes} bytes`);
      assert.equal(first.phase, 'transferring');
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, receiver]);
  }
});
