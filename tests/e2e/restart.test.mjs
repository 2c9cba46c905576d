// Janus restarts in the middle of a transfer (docs/protocol.md part 1, "join"): the browsers
// connect again, the sender brings its share back under the same link, and the transfer goes on
// to the end, over a direct link (which never needed the server) and over the relay (which is
// set up again through the new Janus). A newcomer opens the same link after the restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  closeAll, launchBrowser, randomFile, receiveFile, sha256File, shareFile, startServer, subDir, tempDir, waitForState,
  watchPeerConnections, withStates,
} from './harness.mjs';

// The sender's upload is capped so that the restart lands in the middle of the transfer.
const SEED_RATE = 1_500_000;

async function restartMidTransfer(t, { relayOnly }) {
  const dir = tempDir('swarmdrop-restart-');
  const server = await startServer();
  const launch = async (hooks) => watchPeerConnections(await launchBrowser({ testHooks: hooks }), { relayOnly });
  const sender = await launch({ seedBytesPerSecond: SEED_RATE });
  const receiver = await launch();
  const browsers = [sender, receiver];
  try {
    await withStates(t, { sender, receiver }, async () => {
      const file = await randomFile(dir, 'restart.bin', 24 << 20);
      const link = await shareFile(sender.page, server.url, file.path);
      const saved = receiveFile(receiver.page, link, subDir(dir, 'receiver'));
      await waitForState(receiver.page, (s) => s.bytes > 4 << 20, null, { timeout: 60_000 });

      await server.restart();
      // Both notice, connect again and take their places in the share again.
      for (const browser of browsers) {
        await waitForState(browser.page, (s) => s.reconnections === 1 && !s.reconnecting, null, { timeout: 60_000 });
      }
      const resumedAt = (await receiver.page.evaluate(() => window.swarmdrop)).bytes;
      t.diagnostic(`reconnected with ${resumedAt} of ${file.size} bytes`);
      assert.ok(resumedAt < file.size, 'the transfer was over before the restart mattered');

      const { path } = await saved;
      assert.equal(await sha256File(path), file.sha256);
      const done = await waitForState(receiver.page, (s) => s.phase === 'done');
      assert.deepEqual(done.peers.map(({ role, path: via }) => [role, via]), [['owner', relayOnly ? 'relay' : 'lan']]);

      // The link still leads to the share on the restarted server.
      const newcomer = await launch();
      browsers.push(newcomer);
      const again = await receiveFile(newcomer.page, link, subDir(dir, 'newcomer'));
      assert.equal(await sha256File(again.path), file.sha256);
    }, { server });
  } finally {
    await closeAll(browsers);
    await server.stop();
  }
}

test('a direct transfer goes on through a Janus restart, and the link works after it', { timeout: 300_000 }, async (t) => {
  await restartMidTransfer(t, { relayOnly: false });
});

test('a relayed transfer resumes through the restarted Janus', { timeout: 300_000 }, async (t) => {
  await restartMidTransfer(t, { relayOnly: true });
});
