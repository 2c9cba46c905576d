// The relay through the plugin (docs/protocol.md part 4), with the real Janus: browsers that do
// not (or cannot) reach each other get the file through the server, intact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINK_OPEN_TIMEOUT_MS } from '../../web/src/engine/config.js';
import {
  closeAll, launchBrowser, randomFile, receiveFile, serverFixture, sha256File, shareFile, subDir, waitForState,
  watchPeerConnections, withStates,
} from './harness.mjs';

const fixture = serverFixture();

const countingBrowser = async (options) => watchPeerConnections(await launchBrowser(), options);

// A file from a sender to a receiver, each a fresh browser watched by watchPeerConnections with
// its options, checked to go through the relay; resolves to the seconds from sharing to the
// receiver being done and how many RTCPeerConnections each page made.
async function relayedTransfer(t, { name, size, senderOptions, receiverOptions }) {
  const sender = await countingBrowser(senderOptions);
  const receiver = await countingBrowser(receiverOptions);
  try {
    const file = await randomFile(fixture.dir, name, size);
    let result;
    await withStates(t, { sender, receiver }, async () => {
      const started = Date.now();
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      const saved = await receiveFile(receiver.page, link, subDir(fixture.dir, `saved-${name}`));
      const seconds = (Date.now() - started) / 1000;
      assert.equal(await sha256File(saved.path), file.sha256);
      const got = await waitForState(receiver.page, (s) => s.phase === 'done');
      assert.equal(got.bytes, size);
      assert.deepEqual(got.peers.map(({ role, path }) => ({ role, path })), [{ role: 'owner', path: 'relay' }]);
      const sent = await waitForState(sender.page, (s) => s.receivers.length === 1 && s.receivers[0].phase === 'done');
      assert.equal(sent.receivers[0].path, 'relay');
      // Counted by path on both sides: every piece byte went through the relay.
      assert.equal(got.paths.relay.links, 1);
      assert.ok(got.paths.relay.received >= size, JSON.stringify(got.paths));
      assert.deepEqual(Object.keys(got.paths), ['relay']);
      assert.ok(sent.paths.relay.sent >= size, JSON.stringify(sent.paths));
      await receiver.page.locator('#path', { hasText: 'relay' }).waitFor();
      const made = (browser) => browser.page.evaluate(() => globalThis.peerConnectionsMade);
      result = { seconds, peerConnections: { sender: await made(sender), receiver: await made(receiver) } };
    }, { server: fixture.server });
    return result;
  } finally {
    await closeAll([sender, receiver]);
  }
}

test('relay-only: a 16 MiB file goes through the plugin, SHA-256 equal, and no direct connection is made', { timeout: 300_000 }, async (t) => {
  const { peerConnections } = await relayedTransfer(t, {
    name: 'relayed.bin', size: 16 << 20, senderOptions: { relayOnly: true }, receiverOptions: { relayOnly: true },
  });
  // Each page's only RTCPeerConnection is its one to the server.
  assert.deepEqual(peerConnections, { sender: 1, receiver: 1 });
});

test('browsers that cannot reach each other fall back to the relay once the direct link fails', { timeout: 300_000 }, async (t) => {
  const { peerConnections } = await relayedTransfer(t, {
    name: 'fallback.bin', size: 4 << 20, senderOptions: { unreachable: true }, receiverOptions: { unreachable: true },
  });
  // The direct attempt and the relay on each side.
  assert.deepEqual(peerConnections, { sender: 2, receiver: 2 });
});

test('a relay-only sender tells a receiver that offers a direct link to use the relay, which it does at once', { timeout: 300_000 }, async (t) => {
  const { seconds, peerConnections } = await relayedTransfer(t, {
    name: 'mixed.bin', size: 4 << 20, senderOptions: { relayOnly: true }, receiverOptions: {},
  });
  t.diagnostic(`shared and received in ${seconds.toFixed(1)} s`);
  // Without "use_relay" the receiver would wait for its direct attempt to time out first.
  assert.ok(seconds * 1000 < LINK_OPEN_TIMEOUT_MS, `${seconds} s: the receiver waited for the direct attempt to time out`);
  // The receiver's offer and its relay; the sender's relay only.
  assert.deepEqual(peerConnections, { sender: 1, receiver: 2 });
});

test('the relay-only option is kept in the browser and applies to the engine', { timeout: 60_000 }, async () => {
  const browser = await launchBrowser();
  try {
    await browser.page.goto(fixture.server.url);
    const option = browser.page.locator('#relay-only');
    assert.equal(await option.isChecked(), false);
    assert.equal(await browser.page.evaluate(() => globalThis.swarmdropRelayOnly), false);
    await option.check();
    await browser.page.reload();
    assert.equal(await browser.page.locator('#relay-only').isChecked(), true);
    assert.equal(await browser.page.evaluate(() => globalThis.swarmdropRelayOnly), true);
  } finally {
    await browser.close();
  }
});
