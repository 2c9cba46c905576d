// A reload does not start over: a receiver keeps the pieces it stored and fetches only the rest,
// and a sender that picks the same file again serves the same link. Real Janus + nginx, one
// Chromium process per person.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PIECE_SIZE, STORE_FLUSH_BYTES } from '../../web/src/engine/config.js';
import {
  closeAll, janusSession, launchBrowser, randomFile, receiveFile, serverFixture, sha256File, shareFile, startServer,
  subDir, waitForState, withStates,
} from './harness.mjs';

const MiB = 1 << 20;

const fixture = serverFixture();

test('a receiver that reloads half way keeps what it has and fetches only the rest', { timeout: 600_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'resumed.bin', 64 * MiB);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      await receiver.page.goto(link);
      const before = await waitForState(receiver.page, (state, half) => state.bytes >= half, file.size / 2);
      assert.ok(before.bytes < file.size, 'reloaded before the end');

      const download = receiver.page.waitForEvent('download', { timeout: 300_000 });
      await receiver.page.reload();
      // The new page finds on disk what the old one stored.
      const resumed = await waitForState(receiver.page, (state) => state.fileName !== null && state.bytes > 0);
      assert.equal(resumed.fileName, 'resumed.bin');
      // The store makes pieces durable in batches (STORE_FLUSH_BYTES, or a second's worth): a reload
      // may lose the last batch.
      assert.ok(resumed.bytes >= before.bytes - STORE_FLUSH_BYTES - PIECE_SIZE, `kept ${resumed.bytes} of the ${before.bytes} bytes held before the reload`);

      const saved = join(subDir(fixture.dir, 'reloaded'), 'resumed.bin');
      await (await download).saveAs(saved);
      assert.equal(await sha256File(saved), file.sha256);
      const after = await waitForState(receiver.page, (state) => state.phase === 'done');
      assert.equal(after.bytes, file.size);
      // Only what was missing came over the network again (give or take the pieces in flight and
      // the batch not yet durable).
      assert.ok(after.downloadedBytes <= file.size - before.bytes + 8 * MiB + STORE_FLUSH_BYTES,
        `downloaded ${after.downloadedBytes} bytes after the reload, ${before.bytes} were held before it`);
      assert.ok(after.downloadedBytes < 0.6 * file.size + STORE_FLUSH_BYTES, `downloaded ${after.downloadedBytes} of ${file.size}`);
    });
  } finally {
    await closeAll([sender, receiver]);
  }
});

test('a sender that reloads and picks the same file serves the same link, and its receiver finishes', { timeout: 600_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'kept link.bin', 48 * MiB);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      const saved = receiveFile(receiver.page, link, subDir(fixture.dir, 'kept'));
      await waitForState(receiver.page, (state, quarter) => state.bytes >= quarter, file.size / 4);

      // Within the fixture.server's grace period for an owner that went away.
      assert.equal(await shareFile(sender.page, fixture.server.url, file.path), link);
      const { path } = await saved;
      assert.equal(await sha256File(path), file.sha256);
    });
  } finally {
    await closeAll([sender, receiver]);
  }
});

// What makes a reloaded receiver useful without the sender: it keeps the signed hashes with the
// pieces, so it serves at once; and once the share is gone it still shows its files as done.
test('a reloaded receiver serves a newcomer after the sender left, and shows its files after the share closed', { timeout: 600_000 }, async (t) => {
  const jcfg = join(fixture.dir, 'orphan-20.jcfg');
  writeFileSync(jcfg, 'general: {\n  share_orphan_max_seconds = 20\n}\n');
  const server = await startServer({ pluginJcfg: jcfg });
  const file = await randomFile(fixture.dir, 'kept hashes.bin', 16 * MiB);
  const sender = await launchBrowser();
  const first = await launchBrowser();
  const newcomer = await launchBrowser();
  let observer = null;
  try {
    await withStates(t, { sender, first, newcomer }, async () => {
      const link = await shareFile(sender.page, server.url, file.path);
      const shareId = new URL(link).pathname.split('/').pop();
      await receiveFile(first.page, link, subDir(fixture.dir, 'first'));
      await first.page.reload();
      const reloaded = await waitForState(first.page, (state) => state.phase === 'done' && state.peerId !== null);
      assert.equal(reloaded.downloadedBytes, 0);

      await sender.close(); // no goodbye: the share goes on without its owner, for 20 s here
      observer = await janusSession(server.wsUrl);
      assert.equal((await observer.request({ request: 'join', share: shareId })).swarmdrop, 'joined');
      const { path } = await receiveFile(newcomer.page, link, subDir(fixture.dir, 'newcomer'));
      assert.equal(await sha256File(path), file.sha256);
      const got = await newcomer.page.evaluate(() => window.swarmdrop);
      assert.deepEqual(got.peers.filter((peer) => peer.downloadedBytes > 0).map((peer) => peer.role), ['receiver']);

      await observer.pluginEvent('share_closed', { ms: 40_000 });
      await first.page.reload();
      const closed = await waitForState(first.page, (state) => state.phase === 'done');
      assert.equal(closed.error, null);
      assert.equal(closed.bytes, file.size);
      await first.page.locator('#save-again', { hasText: 'Save' }).waitFor();
    });
  } finally {
    observer?.close();
    await closeAll([sender, first, newcomer]);
    await server.stop();
  }
});
