// Two Chromium processes, the real Janus + plugin + nginx: a file goes browser to browser over a
// direct data channel and arrives intact; broken links and departed senders say so.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  janusSession, launchBrowser, randomFile, randomLinkSecret, receiveFile, serverFixture, sha256File, shareFile,
  startServer,
} from './harness.mjs';

const fixture = serverFixture();

// Garbage of every shape, as a hostile client would send it, all at once.
async function malformedBurst(count) {
  const attacker = await janusSession(fixture.server.wsUrl);
  const shapes = [
    () => ({}), () => ({ request: 'join', share: randomBytes(8).toString('hex').toUpperCase() }),
    () => ({ request: 'signal', share: randomBytes(8).toString('hex'), to: 'x', payload: {} }),
    () => ({ request: randomBytes(4).toString('hex') }), () => ({ request: 'list', share: 'y'.repeat(70000) }),
    () => ({ request: 'join', share: randomBytes(8).toString('hex'), owner_token: 7 }),
  ];
  try {
    return await Promise.all(Array.from({ length: count }, (_, i) => attacker.request(shapes[i % shapes.length]())));
  } finally {
    attacker.close();
  }
}

test('after a burst of malformed requests, a 64 MiB file arrives with the same SHA-256 and progress on both sides', { timeout: 300_000 }, async () => {
  // Every request is answered with an error: the malformed ones within the connection's burst
  // (request_burst, 100) by their reason, then 468 (too many requests), and once the handle is
  // ended for flooding, by Janus itself. Nothing of it stops the server.
  const replies = await malformedBurst(600);
  assert.equal(replies.length, 600);
  assert.ok(replies.slice(0, 100).every((r) => r.swarmdrop === 'error' && r.error_code >= 440 && r.error_code <= 453),
    JSON.stringify(replies.slice(0, 100).find((r) => !(r.error_code >= 440 && r.error_code <= 453))));
  assert.ok(replies.every((r) => (r.swarmdrop === 'error' && r.error_code >= 440) || r.janus === 'error'),
    JSON.stringify(replies.find((r) => !((r.swarmdrop === 'error' && r.error_code >= 440) || r.janus === 'error'))));
  assert.ok(replies.some((r) => r.error_code === 468), 'the flood met the request budget (468)');
  const file = await randomFile(fixture.dir, 'holiday video (final).bin', 64 << 20);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    const link = await shareFile(sender.page, fixture.server.url, file.path);
    assert.match(link, new RegExp(`^${fixture.server.url}/s/[0-9a-f]{16}`));
    await sender.page.locator('#qr').waitFor({ state: 'visible' });

    // While the transfer runs, the receiver shows a moving progress bar and the sender its row.
    const saved = receiveFile(receiver.page, link, fixture.dir);
    await receiver.page.waitForFunction(() => {
      const bar = document.querySelector('#progress');
      return bar && bar.value > 0;
    }, null, { timeout: 60_000 });
    await sender.page.locator('#peers [data-peer]').first().waitFor({ state: 'visible' });

    const { path, name } = await saved;
    assert.equal(name, 'holiday video (final).bin');
    assert.equal(await sha256File(path), file.sha256);
    await receiver.page.locator('#status', { hasText: 'Done' }).waitFor();
    await sender.page.waitForFunction(() => /done/i.test(document.querySelector('#peers [data-peer]')?.textContent || ''),
      null, { timeout: 30_000 });
    const state = await receiver.page.evaluate(() => window.swarmdrop);
    assert.equal(state.bytes, file.size);
    assert.equal(state.total, file.size);
    // Two browsers on one network: a direct connection between their own addresses.
    assert.deepEqual(state.peers.map((peer) => peer.path), ['lan']);
    assert.deepEqual(Object.keys(state.paths), ['lan']);
    assert.equal(state.paths.lan.links, 1);
    assert.ok(state.paths.lan.received >= file.size, JSON.stringify(state.paths));
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('a link to a share that does not exist shows a clear error', async () => {
  const receiver = await launchBrowser();
  try {
    await receiver.page.goto(`${fixture.server.url}/s/0123456789abcdef#${randomLinkSecret()}`);
    const error = receiver.page.locator('#error');
    await error.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await error.textContent(), /does not lead to a share/);
  } finally {
    await receiver.close();
  }
});

test('a malformed link shows a clear error', async () => {
  const receiver = await launchBrowser();
  try {
    await receiver.page.goto(`${fixture.server.url}/s/not-a-share`);
    const error = receiver.page.locator('#error');
    await error.waitFor({ state: 'visible', timeout: 15_000 });
    assert.ok((await error.textContent()).length > 10);
  } finally {
    await receiver.close();
  }
});

test('a receiver of a departed sender is told no one is there, then that the share ended', { timeout: 120_000 }, async () => {
  const jcfg = join(fixture.dir, 'orphan.jcfg');
  writeFileSync(jcfg, 'general: {\n  share_orphan_max_seconds = 3\n}\n');
  const short = await startServer({ pluginJcfg: jcfg });
  const file = await randomFile(fixture.dir, 'small.bin', 1 << 20);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    const link = await shareFile(sender.page, short.url, file.path);
    await sender.close(); // the tab goes without a goodbye: the share waits for its owner
    await receiver.page.goto(link);
    await receiver.page.locator('#status', { hasText: /no one who has the files is online/i }).waitFor({ timeout: 15_000 });
    const error = receiver.page.locator('#error');
    await error.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await error.textContent(), /share has ended/i);
  } finally {
    await receiver.close();
    await short.stop();
  }
});
