// A browser that lacks what swarmdrop needs (engine/support.js, Receiver state.lacks): pages whose
// init script deletes an API before the app runs. Without an essential (WebRTC, WebCrypto, a
// secure context) the page says so and nothing starts; without a disk store, a service worker or
// Media Source Extensions the receiver still downloads, and says what it does without.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  launchBrowser, randomFile, randomLinkSecret, serverFixture, shareFile, shortClip, startServer, subDir, waitForState, withStates,
} from './harness.mjs';

const fixture = serverFixture();

// Every page of the browser: `?lack=a,b` in its address deletes those APIs before the app runs.
function lackApis() {
  const lack = new URLSearchParams(location.search).get('lack')?.split(',') ?? [];
  if (lack.includes('webrtc')) delete window.RTCPeerConnection;
  if (lack.includes('webcrypto')) delete Crypto.prototype.subtle;
  if (lack.includes('storage')) delete StorageManager.prototype.getDirectory;
  if (lack.includes('sw')) Object.defineProperty(navigator, 'serviceWorker', { value: undefined });
  if (lack.includes('mse')) delete window.MediaSource;
}

// A share link opened with `?lack=...` (before the fragment, which holds the secret).
const lacking = (link, lack) => link.replace('#', `?lack=${lack}#`);

// The text of the page's #unsupported message once shown, and what the page published.
async function unsupported(page, url) {
  await page.goto(url);
  const message = page.locator('#unsupported');
  await message.waitFor({ state: 'visible', timeout: 10_000 });
  return {
    text: await message.textContent(),
    state: await page.evaluate(() => window.swarmdrop),
    picker: await page.locator('#file-input').count(),
  };
}

test('without WebRTC or WebCrypto both pages say so and name what to use, and nothing starts', { timeout: 60_000 }, async () => {
  const browser = await launchBrowser();
  await browser.context.addInitScript(lackApis);
  try {
    const receiverUrl = `${fixture.server.url}/s/0123456789abcdef#${randomLinkSecret()}`;
    for (const [lack, code, words] of [['webrtc', 'no-webrtc', /lacks WebRTC/], ['webcrypto', 'no-webcrypto', /lacks the Web Cryptography API/]]) {
      for (const url of [`${fixture.server.url}/`, receiverUrl]) {
        const { text, state, picker } = await unsupported(browser.page, lacking(url.includes('#') ? url : `${url}#`, lack));
        assert.match(text, words, url);
        assert.match(text, /Use a current Chromium, Firefox or Safari/);
        assert.deepEqual(state, { role: null, phase: 'unsupported', missing: [code] });
        assert.equal(picker, 0, 'no file picker on a page that cannot send');
      }
    }
  } finally {
    await browser.close();
  }
});

test('over plain http from a LAN address the page says to open it over https or as localhost', { timeout: 90_000 }, async () => {
  // The network namespace's own address (scripts/in-netns.sh): not a secure context for Chromium.
  const server = await startServer({ host: '198.18.0.1' });
  const browser = await launchBrowser();
  try {
    const { text, state } = await unsupported(browser.page, `${server.url}/`);
    assert.equal(state.missing[0], 'insecure-context');
    assert.match(text, /plain http .* Open it over https, or as localhost/);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('without a disk store a receiver keeps the download in memory, says so, and saves it', { timeout: 120_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'memory.bin', 3 << 20);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  await receiver.context.addInitScript(lackApis);
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      const download = receiver.page.waitForEvent('download', { timeout: 60_000 });
      await receiver.page.goto(lacking(link, 'storage'));
      const saved = join(subDir(fixture.dir, 'memory'), 'memory.bin');
      await (await download).saveAs(saved);
      const done = await waitForState(receiver.page, (s) => s.phase === 'done');
      assert.deepEqual(done.lacks, ['disk-store']);
      assert.match(await receiver.page.locator('#lacks').textContent(), /no disk storage .* kept in memory, and starts over if the page is reloaded/);
      assert.equal(execFileSync('sha256sum', [saved], { encoding: 'utf8' }).split(' ')[0], file.sha256);
    });
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('without a service worker and MSE a video still downloads and the page says it plays once saved; without MSE alone it says how it plays', { timeout: 120_000 }, async (t) => {
  const video = shortClip(fixture.dir, 'clip.mp4');
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  await receiver.context.addInitScript(lackApis);
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, video);
      const download = receiver.page.waitForEvent('download', { timeout: 60_000 });
      await receiver.page.goto(lacking(link, 'sw,mse'));
      await (await download).saveAs(join(subDir(fixture.dir, 'no-sw'), 'clip.mp4'));
      const done = await waitForState(receiver.page, (s) => s.phase === 'done' && s.media[0]?.kind === 'video');
      assert.deepEqual([...done.lacks].sort(), ['media-source', 'service-worker']);
      assert.match(await receiver.page.locator('#lacks').textContent(), /neither stream .* nor feed .* show once saved/);
      assert.match(await receiver.page.locator('#player-error').textContent(), /cannot play files while they download here/);

      t.diagnostic('saved without a service worker and MSE');

      // MSE alone missing: the service worker streams it, and the page says what changes. The
      // first page goes first: it holds the share's store (a second tab would play through it).
      const other = await receiver.context.newPage();
      await receiver.page.close();
      await other.goto(lacking(link, 'mse'));
      const streaming = await waitForState(other, (s) => s.media[0]?.kind === 'video', null, { timeout: 30_000 });
      assert.deepEqual(streaming.lacks, ['media-source']);
      assert.match(await other.locator('#lacks').textContent(), /lacks Media Source Extensions: files play through its service worker/);
    });
  } finally {
    await sender.close();
    await receiver.close();
  }
});
