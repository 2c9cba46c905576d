// A share's lifetime: it outlives its origin while receivers hold its content (closing the tab
// is not stopping), and "Stop sharing" closes it for everyone. Real Janus, nginx and Chromium.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  closeAll, launchBrowser, randomFile, receiveFile, serverFixture, sha256File, shareFile, subDir, waitForState, withStates,
} from './harness.mjs';

const fixture = serverFixture();
const MiB = 1 << 20;
// Longer than the 30 s an owner-less share used to last.
const ORIGIN_GONE_SECONDS = 35;

test('the share outlives its origin: a newcomer gets the whole file from the receivers long after the sender closed its tab', { timeout: 300_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'outlives.bin', 8 * MiB);
  const [sender, first, second, newcomer] = await Promise.all([1, 2, 3, 4].map(() => launchBrowser()));
  try {
    await withStates(t, { sender, first, second, newcomer }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      for (const [name, browser] of [['first', first], ['second', second]]) {
        const { path } = await receiveFile(browser.page, link, subDir(fixture.dir, name));
        assert.equal(await sha256File(path), file.sha256);
      }
      // The sender's page says when it is safe to leave.
      await waitForState(sender.page, (s) => s.copies === 2);
      assert.match(await sender.page.locator('#copies').innerText(), /2 complete copies are online: you may close this page/);
      await sender.close();
      // The time is the point: nothing happens while the origin is gone, and the share stays.
      await new Promise((resolve) => setTimeout(resolve, ORIGIN_GONE_SECONDS * 1000));
      for (const browser of [first, second]) {
        const state = await browser.page.evaluate(() => window.swarmdrop);
        assert.deepEqual([state.phase, state.error], ['done', null]);
      }
      const { path } = await receiveFile(newcomer.page, link, subDir(fixture.dir, 'newcomer'));
      assert.equal(await sha256File(path), file.sha256);
      const got = await newcomer.page.evaluate(() => window.swarmdrop);
      assert.ok(got.peers.every((peer) => peer.role === 'receiver'), JSON.stringify(got.peers));
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, first, second, newcomer]);
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
