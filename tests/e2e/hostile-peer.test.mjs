// A hostile receiver in a real swarm (issue 12, finding 3): it opens the share link in the real
// app, but each of its channels, on its first request, also sends 50 000 requests far beyond the
// request window. The sender bans it (Swarm BAN_REQUESTS: more requests unanswered than it may
// have), never goes to "error" and keeps the share; an honest receiver, linked to both, gets the
// file intact. Real Janus + nginx, one Chromium process per person.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  closeAll, launchBrowser, randomFile, receiveFile, serverFixture, sha256File, shareFile, subDir, waitForState, withStates,
} from './harness.mjs';

const MiB = 1 << 20;
const FLOOD = 50_000;

const fixture = serverFixture();

// In the hostile page, before its scripts: the first request on each channel brings a flood of
// requests for every piece of the share (`pieces`), sent straight to the channel.
function flooder({ flood, pieces }) {
  const send = RTCDataChannel.prototype.send;
  const flooded = new WeakSet();
  globalThis.requestsFlooded = 0;
  RTCDataChannel.prototype.send = function sendAndFlood(data) {
    send.call(this, data);
    if (typeof data !== 'string' || !data.includes('"t":"request"') || flooded.has(this)) return;
    flooded.add(this);
    for (let i = 0; i < flood; i++) {
      try {
        send.call(this, JSON.stringify({ t: 'request', piece: i % pieces }));
        globalThis.requestsFlooded += 1;
      } catch {
        return; // our own channel is full or closed: the other side stopped taking them
      }
    }
  };
}

// In the sender's page: every phase its state went through.
function phaseRecorder() {
  globalThis.phasesSeen = [];
  setInterval(() => {
    const phase = globalThis.swarmdrop?.phase;
    if (phase && !globalThis.phasesSeen.includes(phase)) globalThis.phasesSeen.push(phase);
  }, 20);
}

test('a receiver flooding requests is banned by the sender (and by the honest receiver when linked to it); the sender keeps sharing; the honest one gets the file', { timeout: 300_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'flooded.bin', 32 * MiB);
  const sender = await launchBrowser();
  const hostile = await launchBrowser();
  const honest = await launchBrowser();
  await sender.context.addInitScript(phaseRecorder);
  await hostile.context.addInitScript(flooder, { flood: FLOOD, pieces: 32 });
  try {
    await withStates(t, { sender, hostile, honest }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      await hostile.page.goto(link);
      const { peerId: hostileId } = await waitForState(hostile.page, (s) => Boolean(s.peerId));
      // The sender bans it as soon as its flood comes in.
      const banned = await waitForState(sender.page, (s, id) => s.peers.some((p) => p.peer === id && p.phase === 'banned'), hostileId, { timeout: 60_000 });
      assert.equal(banned.peers.find((p) => p.peer === hostileId).ban, 'requests');
      t.diagnostic(`the hostile page sent ${await hostile.page.evaluate(() => globalThis.requestsFlooded)} flooding requests`);

      const { path } = await receiveFile(honest.page, link, subDir(fixture.dir, 'honest'));
      assert.equal(await sha256File(path), file.sha256);
      const received = await waitForState(honest.page, (s) => s.phase === 'done');
      // Linked to the hostile one too, the honest receiver banned it when it flooded it (or was
      // turned away by it); either way it never got stuck on it.
      const seen = received.peers.find((p) => p.peer === hostileId);
      t.diagnostic(`the honest receiver's view of the hostile one: ${JSON.stringify(seen ?? null)}`);
      if (seen?.phase === 'banned') assert.equal(seen.ban, 'requests');

      const state = await waitForState(sender.page, (s) => s.phase === 'done');
      const phases = await sender.page.evaluate(() => globalThis.phasesSeen);
      assert.ok(!phases.includes('error'), `the sender's phases: ${phases.join(', ')}`);
      assert.equal(state.error, null);
      assert.ok(state.link, 'the sender still shows its link');
      assert.equal(await sender.page.locator('#error').isVisible(), false);
      assert.equal(state.peers.find((p) => p.peer === hostileId).phase, 'banned');
      assert.ok(state.receivers.some((r) => r.phase === 'done'), `a receiver is done: ${JSON.stringify(state.receivers)}`);
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, hostile, honest]);
  }
});
