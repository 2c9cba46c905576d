// The relay where it is needed: browsers behind symmetric NATs (tests/lab/nat-lab.sh), Janus and
// nginx on the "internet" side. Needs root; builds the lab and removes it afterwards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  closeAll, randomFile, receiveFile, sha256File, shareFile, subDir, tempDir, waitForState, withStates,
} from '../e2e/harness.mjs';
import { startLab } from './lab.mjs';

const MiB = 1 << 20;
let lab;
let server;
let dir;

before(async () => {
  lab = await startLab();
  server = lab.server;
  dir = tempDir('swarmdrop-nat-');
});

after(async () => {
  await lab?.stop();
});

const browserOn = (node, options) => lab.browserOn(node, options);

async function withJanusLog(t, browsers, body) {
  try {
    await withStates(t, browsers, body);
  } catch (error) {
    t.diagnostic(`janus log:\n${readFileSync(server.janusLog, 'utf8').split('\n').slice(-30).join('\n')}`);
    throw error;
  }
}

test('two browsers behind symmetric NATs: the direct attempt fails and the file comes through the relay', { timeout: 300_000 }, async (t) => {
  const file = await randomFile(dir, 'natted.bin', 8 * MiB);
  const sender = await browserOn('hA');
  const receiver = await browserOn('hB');
  try {
    await withJanusLog(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, server.url, file.path);
      const { path } = await receiveFile(receiver.page, link, subDir(dir, 'natted'));
      assert.equal(await sha256File(path), file.sha256);
      const got = await waitForState(receiver.page, (s) => s.phase === 'done');
      assert.deepEqual(got.peers.map(({ role, path: via }) => ({ role, via })), [{ role: 'owner', via: 'relay' }]);
      // A direct RTCPeerConnection was tried, then the one to the server's relay.
      assert.equal(await receiver.page.evaluate(() => globalThis.peerConnectionsMade), 2);
    });
  } finally {
    await closeAll([sender, receiver]);
  }
});

test('a browser on the public side and one behind a NAT connect directly', { timeout: 300_000 }, async (t) => {
  const file = await randomFile(dir, 'direct.bin', 8 * MiB);
  const sender = await browserOn('pub');
  const receiver = await browserOn('hA');
  try {
    await withJanusLog(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, server.url, file.path);
      const { path } = await receiveFile(receiver.page, link, subDir(dir, 'direct'));
      assert.equal(await sha256File(path), file.sha256);
      const got = await waitForState(receiver.page, (s) => s.phase === 'done');
      // Across the NAT, not on one network, not relayed.
      assert.deepEqual(got.peers.map(({ path: via }) => via), ['direct']);
      assert.equal(await receiver.page.evaluate(() => globalThis.peerConnectionsMade), 1);
    });
  } finally {
    await closeAll([sender, receiver]);
  }
});

test('a receiver stalled mid-transfer leaves Janus memory bounded while another receiver finishes', { timeout: 420_000 }, async (t) => {
  const file = await randomFile(dir, 'stalled.bin', 48 * MiB);
  const sender = await browserOn('pub', { relayOnly: true });
  const stalled = await browserOn('hA', { relayOnly: true });
  const healthy = await browserOn('hB', { relayOnly: true });
  try {
    await withJanusLog(t, { sender, stalled, healthy }, async () => {
      const before = server.janusMemory();
      const link = await shareFile(sender.page, server.url, file.path);
      await stalled.page.goto(link);
      await waitForState(stalled.page, (s) => s.bytes >= 4 * 1024 * 1024);
      // Its network stops dead: router A forwards nothing more in either direction.
      lab.exec('rA', 'iptables', '-I', 'FORWARD', '-j', 'DROP');
      let peak = 0;
      const sampler = setInterval(() => { peak = Math.max(peak, server.janusMemory()); }, 500);
      try {
        const { path } = await receiveFile(healthy.page, link, subDir(dir, 'healthy'));
        assert.equal(await sha256File(path), file.sha256);
      } finally {
        clearInterval(sampler);
      }
      const growth = peak - before;
      t.diagnostic(`janus memory: ${Math.round(before / MiB)} MiB before, peak ${Math.round(peak / MiB)} MiB`);
      // Windows of 1 MiB per sender and target (about twice that in the worst case), not the file.
      assert.ok(growth < 24 * MiB, `Janus grew by ${Math.round(growth / MiB)} MiB`);
      const stuck = await stalled.page.evaluate(() => window.swarmdrop);
      assert.ok(stuck.bytes < file.size, 'the stalled receiver did not finish');
    });
  } finally {
    await closeAll([sender, stalled, healthy]);
  }
});
