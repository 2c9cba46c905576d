// What a receiver keeps in the browser's private storage (OPFS) has a lifetime
// (web/src/engine/store/lifetime.js): a share kept but not opened for longer than the idle limit
// is removed when a store starts, a received share is marked finished, and "Forget this share"
// removes all of it. Real Janus + nginx, one Chromium process per person.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser, serverFixture, shareFile, withStates } from './harness.mjs';

const fixture = serverFixture();

// The share folders kept in the page's OPFS: {id: [file names]}.
const kept = (page) => page.evaluate(async () => {
  const root = await navigator.storage.getDirectory();
  const out = {};
  let top;
  try {
    top = await root.getDirectoryHandle('swarmdrop');
  } catch {
    return out;
  }
  for await (const [id, dir] of top.entries()) {
    out[id] = [];
    for await (const [name] of dir.entries()) out[id].push(name);
  }
  return out;
});

test('a stale share is removed at start, a received one is marked finished, and forgetting removes it', { timeout: 180_000 }, async (t) => {
  const file = join(fixture.dir, 'kept.txt');
  writeFileSync(file, 'kept for a while\n');
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file);
      const shareId = new URL(link).pathname.split('/').pop();

      // A share received 40 days ago and never opened since, as an earlier visit left it.
      await receiver.page.goto(fixture.server.url);
      await receiver.page.evaluate(async () => {
        const top = await (await navigator.storage.getDirectory()).getDirectoryHandle('swarmdrop', { create: true });
        const dir = await top.getDirectoryHandle('0123456789abcdef', { create: true });
        for (const [name, text] of [['f0', 'old bytes'], ['used.json', JSON.stringify({ used_at: Date.now() - 40 * 86_400_000, complete: true })]]) {
          const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
          await writable.write(text);
          await writable.close();
        }
      });
      assert.ok('0123456789abcdef' in await kept(receiver.page));

      const download = receiver.page.waitForEvent('download');
      await receiver.page.goto(link);
      await download;
      await receiver.page.waitForFunction(() => window.swarmdrop?.phase === 'done', null, { timeout: 60_000, polling: 100 });
      const after = await kept(receiver.page);
      assert.deepEqual(Object.keys(after), [shareId], 'the stale share went, the new one is kept');
      assert.ok(after[shareId].includes('used.json'));
      const used = await receiver.page.evaluate(async (id) => {
        const top = await (await navigator.storage.getDirectory()).getDirectoryHandle('swarmdrop');
        return JSON.parse(await (await (await (await top.getDirectoryHandle(id)).getFileHandle('used.json')).getFile()).text());
      }, shareId);
      assert.equal(used.complete, true);
      assert.ok(Math.abs(Date.now() - used.used_at) < 60_000);

      await receiver.page.locator('#forget').click();
      await receiver.page.waitForFunction(() => window.swarmdrop?.phase === 'forgotten', null, { timeout: 30_000, polling: 100 });
      assert.deepEqual(await kept(receiver.page), {});
      assert.match(await receiver.page.locator('#status').textContent(), /keeps nothing of this share/);
    });
  } finally {
    await sender.close();
    await receiver.close();
  }
});
