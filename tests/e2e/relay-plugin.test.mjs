// The plugin's relay at the frame level (docs/protocol.md part 4), below the browser client:
// real Janus, real Chromium pages speaking the relay protocol by hand over their data channels.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeAll, relayMember, startServer, tempDir } from './harness.mjs';

let server;
let quotaServer; // relay_client_quota_mib = 1
const browsers = [];
before(async () => {
  server = await startServer();
  const dir = tempDir('swarmdrop-quota-');
  writeFileSync(join(dir, 'quota.jcfg'), 'general: {\n  relay_client_quota_mib = 1\n}\n');
  quotaServer = await startServer({ pluginJcfg: join(dir, 'quota.jcfg') });
});
after(async () => {
  await closeAll(browsers);
  await server?.stop();
  await quotaServer?.stop();
});

// In the page: sends `count` frames of `size` bytes to `targets`, never more than the window in
// flight to any (counting the plugin's credits); resolves when all are credited or `ms` passed.
function sendFrames(member, targets, count, size, ms = 30_000) {
  return member.page.evaluate(async ({ from, to, count, size, ms }) => {
    const id = (hex) => Uint8Array.from(hex.match(/../g), (byte) => parseInt(byte, 16));
    const { dc, texts } = window.relay;
    const creditedTo = (target) => texts.filter((t) => t.t === 'credit' && t.to === target).reduce((sum, t) => sum + t.bytes, 0);
    const credited = () => to.reduce((sum, target) => sum + creditedTo(target), 0);
    const out = 7 + size;
    // A frame refused in this call (for that target, or whole) will never be credited: it is settled too.
    const since = texts.length;
    const refusals = () => texts.slice(since).filter((t) => t.t === 'refused');
    const refusedFor = (target) => refusals().filter((t) => t.to === target || t.to === null).length;
    const settled = (target) => creditedTo(target) + out * refusedFor(target);
    for (let n = 0; n < count; n++) {
      // Each target has its own window.
      while (to.some((target) => n * out - settled(target) + out > window.relay.window)) {
        await new Promise((res) => setTimeout(res, 5));
      }
      const frame = new Uint8Array(8 + 6 * to.length + size);
      frame[0] = 1;
      frame.set(id(from), 1);
      frame[7] = to.length;
      to.forEach((target, i) => frame.set(id(target), 8 + 6 * i));
      frame.fill(n & 0xff, 8 + 6 * to.length);
      dc.send(frame);
    }
    for (const start = Date.now(); to.some((target) => settled(target) < count * out) && Date.now() - start < ms;) {
      await new Promise((res) => setTimeout(res, 20));
    }
    return { credited: credited(), refused: refusals() };
  }, { from: member.peer, to: targets.map((t) => t.peer), count, size, ms });
}

// In the page: waits until `count` frames arrived, then describes them.
function received(member, count) {
  return member.page.evaluate(async (want) => {
    for (const start = Date.now(); window.relay.frames.length < want && Date.now() - start < 30_000;) {
      await new Promise((res) => setTimeout(res, 20));
    }
    const { frames } = window.relay;
    return {
      count: frames.length,
      bytes: frames.reduce((sum, f) => sum + f.length, 0),
      source: Array.from(frames[0]?.subarray(1, 7) ?? [], (b) => b.toString(16).padStart(2, '0')).join(''),
      inOrder: frames.every((f, n) => f[0] === 1 && f[7] === (n & 0xff) && f[f.length - 1] === (n & 0xff)),
    };
  }, count);
}

test('relayed frames reach every target once, in order, under the credit window', { timeout: 180_000 }, async () => {
  const owner = await relayMember(server, browsers, null);
  assert.deepEqual(owner.ready.peers, [owner.peer]);
  const one = await relayMember(server, browsers, owner.share);
  const two = await relayMember(server, browsers, owner.share);
  // 200 frames to one target, then 100 to both at once (one upload, two copies).
  const alone = await sendFrames(owner, [one], 200, 60_000);
  assert.deepEqual(alone.refused, []);
  assert.equal(alone.credited, 200 * 60_007);
  const first = await received(one, 200);
  assert.deepEqual(first, { count: 200, bytes: 200 * 60_007, source: owner.peer, inOrder: true });
  const fanned = await sendFrames(two, [owner, one], 100, 30_000);
  assert.deepEqual(fanned.refused, []);
  assert.equal(fanned.credited, 2 * 100 * 30_007); // each target took in its copy
  // One's copies follow its first 200 frames: from two, in order.
  await received(one, 300);
  const copies = await one.page.evaluate(() => window.relay.frames.slice(200).map((f) => ({
    length: f.length, source: Array.from(f.subarray(1, 7), (b) => b.toString(16).padStart(2, '0')).join(''), fill: f[7],
  })));
  assert.equal(copies.length, 100);
  copies.forEach((copy, n) => assert.deepEqual(copy, { length: 30_007, source: two.peer, fill: n }));
  const toOwner = await received(owner, 100);
  assert.equal(toOwner.count, 100);
  assert.equal(toOwner.source, two.peer);
  assert.ok(toOwner.inOrder);
});

test('bad frames are refused with their codes and the relay keeps working', { timeout: 120_000 }, async () => {
  const owner = await relayMember(server, browsers, null);
  const other = await relayMember(server, browsers, owner.share);
  const refusals = await owner.page.evaluate(async ({ from, to }) => {
    const id = (hex) => Uint8Array.from(hex.match(/../g), (byte) => parseInt(byte, 16));
    const { dc, texts } = window.relay;
    const refused = () => texts.filter((t) => t.t === 'refused');
    dc.send('not binary');
    dc.send(new Uint8Array([1, 2, 3]));
    const stranger = new Uint8Array(8 + 6 + 4);
    stranger[0] = 0;
    stranger.set(id('0123456789ab'), 1); // not our member
    stranger[7] = 1;
    stranger.set(id(to), 8);
    dc.send(stranger);
    const unknownTarget = new Uint8Array(8 + 12 + 4);
    unknownTarget[0] = 0;
    unknownTarget.set(id(from), 1);
    unknownTarget[7] = 2;
    unknownTarget.set(id('ba9876543210'), 8);
    unknownTarget.set(id(to), 14);
    dc.send(unknownTarget);
    for (const start = Date.now(); refused().length < 4 && Date.now() - start < 10_000;) {
      await new Promise((res) => setTimeout(res, 20));
    }
    return refused().map(({ to: target, error_code: code }) => ({ to: target, code }));
  }, { from: owner.peer, to: other.peer });
  assert.deepEqual(refusals, [
    { to: null, code: 455 }, { to: null, code: 455 }, { to: null, code: 456 }, { to: 'ba9876543210', code: 457 },
  ]);
  // The frame with one unknown target still reached the known one.
  assert.equal((await received(other, 1)).count, 1);
  // Credits count the 11-byte frame above too.
  assert.equal((await sendFrames(owner, [other], 20, 1000)).credited, 20 * 1007 + 11);
});

test('a stranger who knows the share id cannot send as another member through the relay', { timeout: 120_000 }, async () => {
  const owner = await relayMember(server, browsers, null);
  const victim = await relayMember(server, browsers, owner.share);
  const stranger = await relayMember(server, browsers, owner.share); // joined with the share id alone
  const refused = await stranger.page.evaluate(async ({ as, to }) => {
    const id = (hex) => Uint8Array.from(hex.match(/../g), (byte) => parseInt(byte, 16));
    const { dc, texts } = window.relay;
    const forged = new Uint8Array(8 + 6 + 4);
    forged[0] = 1;
    forged.set(id(as), 1); // the victim's member id, not ours
    forged[7] = 1;
    forged.set(id(to), 8);
    dc.send(forged);
    for (const start = Date.now(); !texts.some((t) => t.t === 'refused') && Date.now() - start < 10_000;) {
      await new Promise((res) => setTimeout(res, 20));
    }
    return texts.filter((t) => t.t === 'refused').map(({ to: target, error_code: code }) => ({ to: target, code }));
  }, { as: victim.peer, to: owner.peer });
  assert.deepEqual(refused, [{ to: null, code: 456 }]);
  // Nothing reached the owner in the victim's name; the victim's own frames still do.
  assert.equal((await sendFrames(victim, [owner], 3, 1000)).credited, 3 * 1007);
  const got = await received(owner, 3);
  assert.deepEqual({ count: got.count, source: got.source }, { count: 3, source: victim.peer });
});

test('a client past its relay quota is refused with 460 and says so; the other one still sends', { timeout: 120_000 }, async () => {
  const owner = await relayMember(quotaServer, browsers, null);
  const other = await relayMember(quotaServer, browsers, owner.share);
  const sent = await sendFrames(owner, [other], 40, 60_000, 10_000); // 2.4 MB > 1 MiB
  assert.ok(sent.refused.length > 0);
  assert.deepEqual([...new Set(sent.refused.map((r) => r.error_code))], [460]);
  assert.match(sent.refused[0].error, /1 MiB/);
  assert.equal(sent.credited, 17 * 60_007); // what fitted in the quota went through
  assert.equal((await sendFrames(other, [owner], 5, 1000)).credited, 5 * 1007);
});
