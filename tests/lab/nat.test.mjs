// The relay where it is needed: browsers behind symmetric NATs (tests/lab/nat-lab.sh), Janus and
// nginx on the "internet" side. Needs root; builds the lab and removes it afterwards.
import assert from 'node:assert/strict';
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

// A file from a browser on lab host `from` to one on `to`: SHA-256 checked; resolves to the
// receiver's final state and how many RTCPeerConnections its page made.
async function transfer(t, { name, from, to, relayOnly = false }) {
  const file = await randomFile(dir, name, 8 * MiB);
  const sender = await browserOn(from, { relayOnly });
  const receiver = await browserOn(to, { relayOnly });
  try {
    let result;
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, server.url, file.path);
      const { path } = await receiveFile(receiver.page, link, subDir(dir, `saved-${name}`));
      assert.equal(await sha256File(path), file.sha256);
      result = {
        state: await waitForState(receiver.page, (s) => s.phase === 'done'),
        peerConnections: await receiver.page.evaluate(() => globalThis.peerConnectionsMade),
      };
    }, { server });
    return result;
  } finally {
    await closeAll([sender, receiver]);
  }
}

test('two browsers behind symmetric NATs: the direct attempt fails and the file comes through the relay', { timeout: 300_000 }, async (t) => {
  const { state, peerConnections } = await transfer(t, { name: 'natted.bin', from: 'hA', to: 'hB' });
  assert.deepEqual(state.peers.map(({ role, path: via }) => ({ role, via })), [{ role: 'owner', via: 'relay' }]);
  // A direct RTCPeerConnection was tried, then the one to the server's relay.
  assert.equal(peerConnections, 2);
});

test('a browser on the public side and one behind a NAT connect directly', { timeout: 300_000 }, async (t) => {
  const { state, peerConnections } = await transfer(t, { name: 'direct.bin', from: 'pub', to: 'hA' });
  // Across the NAT, not on one network, not relayed.
  assert.deepEqual(state.peers.map(({ path: via }) => via), ['direct']);
  assert.equal(peerConnections, 1);
});

test('relay-only between the public side and a NAT: the file goes through the plugin, no direct pair is tried', { timeout: 300_000 }, async (t) => {
  const { state, peerConnections } = await transfer(t, { name: 'relay-only.bin', from: 'pub', to: 'hA', relayOnly: true });
  // These two could connect directly (the test above): relay-only keeps their addresses apart.
  assert.deepEqual(state.peers.map(({ path: via }) => via), ['relay']);
  assert.deepEqual(Object.keys(state.paths), ['relay']);
  assert.equal(peerConnections, 1); // the one to the server's relay
});

test('a receiver stalled mid-transfer leaves Janus memory bounded while another receiver finishes', { timeout: 420_000 }, async (t) => {
  const file = await randomFile(dir, 'stalled.bin', 48 * MiB);
  const sender = await browserOn('pub', { relayOnly: true });
  const stalled = await browserOn('hA', { relayOnly: true });
  const healthy = await browserOn('hB', { relayOnly: true });
  try {
    await withStates(t, { sender, stalled, healthy }, async () => {
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
      // Windows of 4 MiB per sender and target (about twice that in the worst case), not the file.
      assert.ok(growth < 24 * MiB, `Janus grew by ${Math.round(growth / MiB)} MiB`);
      const stuck = await stalled.page.evaluate(() => window.swarmdrop);
      assert.ok(stuck.bytes < file.size, 'the stalled receiver did not finish');
    }, { server });
  } finally {
    await closeAll([sender, stalled, healthy]);
  }
});
