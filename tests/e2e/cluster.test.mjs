// One share across three Janus nodes behind nginx and nats-server (startServer({nodes: 3})),
// with real Chromium: each browser pinned to a node by its cookie (nginx sends it elsewhere while
// that node is down). A sender on one node and receivers on the others transfer and stream; a
// node killed mid-transfer sends its browser to another node, where it joins again and finishes;
// an engine restarted mid-transfer stops nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  closeAll, janusSession, launchBrowser, pinBrowser, playingPast, playsWhileDownloading, randomFile, receiveFile, sha256File,
  shareFile, startPlayer, startServer, subDir, tempDir, waitForState, watchPeerConnections, withStates,
} from './harness.mjs';

const SIZE = 24 << 20;
const SEED_RATE = 1_500_000; // bytes/s: a transfer lasts long enough for a node to die in it

let server;
let dir;
const browsers = [];

before(async () => {
  dir = tempDir('swarmdrop-cluster-');
  const media = subDir(dir, 'media');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi',
    '-i', 'sine=frequency=440', '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-b:v', '1M',
    '-c:a', 'aac', join(media, 'movie.mkv')]);
  server = await startServer({ nodes: 3, media });
});

after(async () => {
  await closeAll(browsers);
  await server?.stop();
});

async function browserOn(id, testHooks = {}, { relayOnly = false } = {}) {
  const browser = await watchPeerConnections(await launchBrowser({ testHooks }), { relayOnly });
  await pinBrowser(browser, id, server.url);
  browsers.push(browser);
  return browser;
}

// The stats of node `id`, asked on its own port.
async function nodeStats(id) {
  const client = await janusSession(server.nodes.find((n) => n.id === id).wsUrl);
  try {
    return await client.request({ request: 'stats', admin_key: server.adminKey });
  } finally {
    client.close();
  }
}

test('a sender on node a, receivers on b and c: both save the file intact, and serve each other across nodes', { timeout: 300_000 }, async (t) => {
  const sender = await browserOn('a');
  const b = await browserOn('b');
  const c = await browserOn('c');
  await withStates(t, { sender, b, c }, async () => {
    const file = await randomFile(dir, 'cluster.bin', SIZE);
    const link = await shareFile(sender.page, server.url, file.path);
    const [atB, atC] = await Promise.all([
      receiveFile(b.page, link, subDir(dir, 'b')),
      receiveFile(c.page, link, subDir(dir, 'c')),
    ]);
    assert.equal(await sha256File(atB.path), file.sha256);
    assert.equal(await sha256File(atC.path), file.sha256);
    for (const page of [b.page, c.page]) {
      const done = await waitForState(page, (s) => s.phase === 'done');
      t.diagnostic(`links: ${JSON.stringify(done.peers.map(({ role, path, downloadedBytes }) => [role, path, downloadedBytes]))}`);
      assert.deepEqual(done.peers.map((p) => p.role).sort(), ['owner', 'receiver']);
    }
    for (const id of ['a', 'b', 'c']) {
      const { connections, cluster } = await nodeStats(id);
      t.diagnostic(`node ${id}: ${connections} connections, ${JSON.stringify(cluster)}`);
      // This request's connection, and the browser's.
      assert.ok(connections >= 2, `node ${id} served no browser: the cookie did not pin it`);
      assert.ok(cluster.signals_in > 0, `node ${id} had no signal from another node`);
    }
  }, { server });
});

test('two relay-only browsers on nodes a and b: the file goes through both nodes\' relays and the engine, intact', { timeout: 300_000 }, async (t) => {
  const sender = await browserOn('a', {}, { relayOnly: true });
  const receiver = await browserOn('b', {}, { relayOnly: true });
  await withStates(t, { sender, receiver }, async () => {
    const file = await randomFile(dir, 'relayed.bin', 16 << 20);
    const link = await shareFile(sender.page, server.url, file.path);
    const { path } = await receiveFile(receiver.page, link, subDir(dir, 'relayed'));
    assert.equal(await sha256File(path), file.sha256);
    const done = await waitForState(receiver.page, (s) => s.phase === 'done');
    assert.deepEqual(done.peers.map(({ role, path: via }) => [role, via]), [['owner', 'relay']]);
    const [a, b] = [await nodeStats('a'), await nodeStats('b')];
    t.diagnostic(`relayed bytes: node a ${a.relay.bytes}, node b ${b.relay.bytes}`);
    // Each node counts what it handed to a target: b the pieces, a the requests.
    assert.ok(b.relay.bytes >= file.size, `node b relayed ${b.relay.bytes} bytes`);
    assert.ok(a.relay.bytes > 0);
  }, { server });
});

test('a video shared on node a plays on node b while it downloads, and after a seek', { timeout: 300_000 }, async (t) => {
  const clip = join(dir, 'clip.mp4');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi',
    '-i', 'sine=frequency=440', '-t', '60', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-b:v', '2M',
    '-c:a', 'aac', clip]);
  const sender = await browserOn('a', { seedBytesPerSecond: Math.ceil(statSync(clip).size / 24) });
  const viewer = await browserOn('b');
  await withStates(t, { sender, viewer }, async () => {
    const link = await shareFile(sender.page, server.url, clip);
    await viewer.page.goto(link);
    await startPlayer(viewer.page);
    await playsWhileDownloading(t, viewer.page);
  }, { server });
});

test('a file node a publishes plays on node b, from a\'s own member through both relays', { timeout: 300_000 }, async (t) => {
  const operator = await janusSession(server.nodes[0].wsUrl);
  let link;
  try {
    const answer = await operator.request({ request: 'publish', admin_key: server.adminKey, path: 'movie.mkv' });
    assert.equal(answer.swarmdrop, 'published', JSON.stringify(answer));
    link = `${server.url}/s/${answer.share}#${answer.link}`;
    if (!answer.ready) await operator.pluginEvent('published', { ms: 120_000 });
  } finally {
    operator.close();
  }
  const viewer = await browserOn('b');
  await withStates(t, { viewer }, async () => {
    await viewer.page.goto(link);
    await startPlayer(viewer.page);
    await playingPast(viewer.page, 3, 60_000);
    const { peers } = await viewer.page.evaluate(() => window.swarmdrop);
    assert.deepEqual(peers.map((peer) => [peer.role, peer.path]), [['owner', 'relay']]);
  }, { server });
});

// A receiver on `id`, a capped sender on a; `disrupt` runs once the receiver has 4 MiB.
async function disruptedTransfer(t, id, disrupt, { relayOnly = false } = {}) {
  const sender = await browserOn('a', { seedBytesPerSecond: SEED_RATE }, { relayOnly });
  const receiver = await browserOn(id, {}, { relayOnly });
  const file = await randomFile(dir, `disrupted-${id}-${browsers.length}.bin`, SIZE);
  let link;
  await withStates(t, { sender, receiver }, async () => {
    link = await shareFile(sender.page, server.url, file.path);
    // Well inside the test's timeout, so that a stall fails with the pages' states.
    const saved = receiveFile(receiver.page, link, subDir(dir, `disrupted-${id}`), { timeout: 150_000 });
    await waitForState(receiver.page, (s) => s.bytes > 4 << 20, null, { timeout: 60_000 });
    const before = (await receiver.page.evaluate(() => window.swarmdrop)).bytes;
    await disrupt({ sender, receiver });
    const { path } = await saved;
    assert.equal(await sha256File(path), file.sha256);
    t.diagnostic(`disrupted with ${before} of ${file.size} bytes`);
    assert.ok(before < file.size * 0.75, 'the transfer was nearly over before the disruption');
  }, { server });
  return { link, sha256: file.sha256 };
}

test('node b killed mid-transfer: its receiver moves to another node, joins again and finishes; b comes back and serves a newcomer', { timeout: 300_000 }, async (t) => {
  const { link, sha256 } = await disruptedTransfer(t, 'b', async ({ receiver }) => {
    await server.nodes.find((n) => n.id === 'b').kill();
    await waitForState(receiver.page, (s) => s.reconnections >= 1 && !s.reconnecting, null, { timeout: 60_000 });
  });
  await server.nodes.find((n) => n.id === 'b').start();
  const newcomer = await browserOn('b');
  const again = await receiveFile(newcomer.page, link, subDir(dir, 'newcomer-b'), { timeout: 90_000 });
  assert.equal(await sha256File(again.path), sha256);
  const { connections } = await nodeStats('b');
  assert.ok(connections >= 2, 'the newcomer did not reach the restarted node b'); // its, and this request's
});

test('a relayed pair, the receiver\'s node c killed mid-transfer: it moves, asks for the relay on its new node, and finishes', { timeout: 300_000 }, async (t) => {
  await disruptedTransfer(t, 'c', async ({ receiver }) => {
    await server.nodes.find((n) => n.id === 'c').kill();
    await waitForState(receiver.page, (s) => s.reconnections >= 1 && !s.reconnecting, null, { timeout: 60_000 });
  }, { relayOnly: true });
  await server.nodes.find((n) => n.id === 'c').start();
});

test('the engine restarted mid-transfer: the transfer goes on, and a newcomer on c joins afterwards', { timeout: 300_000 }, async (t) => {
  const { link, sha256 } = await disruptedTransfer(t, 'b', async () => {
    await server.engine.kill();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await server.engine.start();
  });
  const newcomer = await browserOn('c');
  const again = await receiveFile(newcomer.page, link, subDir(dir, 'newcomer-c'), { timeout: 90_000 });
  assert.equal(await sha256File(again.path), sha256);
});
