// A share's lifetime: it outlives its origin while receivers hold its content (closing the tab
// is not stopping), and "Stop sharing" closes it for everyone. Real Janus, nginx and Chromium.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  closeAll, launchBrowser, playingPast, randomFile, receiveFile, repoRoot, serverFixture, sha256File, shareFile, startPlayer,
  subDir, waitForState, withStates,
} from './harness.mjs';

const fixture = serverFixture();
const MiB = 1 << 20;
const RECEIVERS = 5;
// Longer than the 30 s an owner-less share used to last.
const ORIGIN_GONE_SECONDS = 40;

// A video of a few MiB: the fragmented MP4 fixture (6 s, 160x120, H.264/AAC) followed by a
// top-level `free` box of random bytes, which players and the sender's index skip.
function paddedVideo(dir, padding) {
  const video = readFileSync(join(repoRoot, 'tests/media/fixtures/fmp4_h264_aac.mp4'));
  const free = Buffer.alloc(8);
  free.writeUInt32BE(8 + padding);
  free.write('free', 4, 'latin1');
  const path = join(dir, 'film.mp4');
  writeFileSync(path, Buffer.concat([video, free, randomBytes(padding)]));
  return path;
}

test('an origin and five receivers joining together all finish; the origin leaves once the swarm holds every piece; a newcomer 40 s later gets the whole video and plays it', { timeout: 300_000 }, async (t) => {
  const path = paddedVideo(fixture.dir, 4 * MiB);
  const sha256 = await sha256File(path);
  const sender = await launchBrowser();
  const receivers = await Promise.all(Array.from({ length: RECEIVERS }, () => launchBrowser()));
  let newcomer = null;
  // By name, for withStates; the newcomer joins it later.
  const browsers = { sender, ...Object.fromEntries(receivers.map((browser, i) => [`receiver${i}`, browser])) };
  try {
    await withStates(t, browsers, async () => {
      const link = await shareFile(sender.page, fixture.server.url, path);
      const started = Date.now();
      const saved = await Promise.all(receivers.map((browser, i) => receiveFile(browser.page, link, subDir(fixture.dir, `joined${i}`))));
      t.diagnostic(`${RECEIVERS} receivers done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const { path: got } of saved) assert.equal(await sha256File(got), sha256);
      // The swarm holds every piece: the sender's page says so, and how much it uploaded.
      const origin = await waitForState(sender.page, (s, n) => s.copies === n, RECEIVERS);
      t.diagnostic(`the origin uploaded ${origin.uploadedCopies.toFixed(2)} copies (${JSON.stringify(origin.paths)})`);
      assert.ok(origin.uploadedCopies > 0);
      assert.match(await sender.page.locator('#uploaded').innerText(), /^You uploaded [0-9.]+ cop(y|ies) of the files/);
      // Receivers served each other, and each says with whom and by which path.
      let fromReceivers = 0;
      for (const browser of receivers) {
        const state = await browser.page.evaluate(() => window.swarmdrop);
        for (const peer of state.peers) {
          const byPath = Object.values(peer.byPath).reduce((sum, path) => sum + path.received, 0);
          assert.equal(byPath, peer.downloadedBytes, JSON.stringify(peer));
          if (peer.role === 'receiver') fromReceivers += peer.downloadedBytes;
        }
      }
      t.diagnostic(`receivers got ${(fromReceivers / MiB).toFixed(1)} MiB from each other`);
      assert.ok(fromReceivers > 0, 'receivers served each other');
      // Six pages setting up links at once kept to the plugin's request budget by themselves: no
      // request was refused (468), no connection ended for it (docs/protocol.md part 1).
      const budgets = await Promise.all(Object.values(browsers).map((browser) => browser.page.evaluate(() => window.swarmdrop.requests)));
      t.diagnostic(`plugin requests sent (waited for the budget), sender first: ${budgets.map((b) => `${b.sent} (${b.waited})`).join(', ')}`);
      assert.ok(budgets.every((b) => b.refused === 0), JSON.stringify(budgets));
      assert.doesNotMatch(readFileSync(fixture.server.janusLog, 'utf8'), /request budget/);
      await sender.close();
      // The time is the point: nothing happens while the origin is gone, and the share stays.
      await new Promise((resolve) => setTimeout(resolve, ORIGIN_GONE_SECONDS * 1000));
      for (const browser of receivers) {
        const state = await browser.page.evaluate(() => window.swarmdrop);
        assert.deepEqual([state.phase, state.error], ['done', null]);
      }
      newcomer = await launchBrowser();
      browsers.newcomer = newcomer;
      const receiving = receiveFile(newcomer.page, link, subDir(fixture.dir, 'newcomer'));
      await startPlayer(newcomer.page);
      const played = await playingPast(newcomer.page, 2, 60_000);
      t.diagnostic(`the newcomer played past 2 s with ${played.bytes} of ${played.total} bytes`);
      assert.equal(await sha256File((await receiving).path), sha256);
      const got = await newcomer.page.evaluate(() => window.swarmdrop);
      assert.ok(got.peers.length > 0 && got.peers.every((peer) => peer.role === 'receiver'), JSON.stringify(got.peers));
      assert.equal(got.player.error, null);
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, ...receivers, ...(newcomer ? [newcomer] : [])]);
  }
});

test('"Stop sharing" closes the share for everyone: a complete receiver keeps its file, a partial one and a newcomer are told', { timeout: 300_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'stopped.bin', 8 * MiB);
  // Slow uploads, so that the second receiver is still receiving when the sender stops.
  const slow = { testHooks: { seedBytesPerSecond: 500_000 } };
  const [sender, first, second, newcomer] = await Promise.all([slow, slow, {}, {}].map((options) => launchBrowser(options)));
  try {
    await withStates(t, { sender, first, second, newcomer }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      await receiveFile(first.page, link, subDir(fixture.dir, 'stopped-first'));
      await second.page.goto(link);
      await waitForState(second.page, (s) => s.bytes > 0);
      await sender.page.locator('#stop-sharing').click();
      await waitForState(sender.page, (s) => s.phase === 'stopped');
      assert.match(await sender.page.locator('#status').innerText(), /You stopped sharing/);
      const partial = await waitForState(second.page, (s) => s.phase === 'error');
      assert.match(partial.error, /stopped sharing/);
      assert.ok(partial.bytes < partial.total);
      const complete = await first.page.evaluate(() => window.swarmdrop);
      assert.deepEqual([complete.phase, complete.error], ['done', null]);
      await newcomer.page.goto(link);
      const refused = await waitForState(newcomer.page, (s) => s.phase === 'error');
      assert.match(refused.error, /does not lead to a share/);
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, first, second, newcomer]);
  }
});
