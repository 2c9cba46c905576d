// What people expect of the page while a transfer runs (web/src/ui/page-habits.js): the screen
// stays awake, taken again after the browser released it, let go at the end; closing the page
// asks first while leaving would lose something, and not once it is done.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  launchBrowser, randomFile, serverFixture, shareFile, waitForState, withStates,
} from './harness.mjs';

const fixture = serverFixture();

// A Screen Wake Lock that always grants, counting requests and releases (window.wakeLocks), so
// that the page's part is checked whatever headless Chromium decides; the browser's release on
// hiding is the sentinel's 'release' event.
function stubWakeLock() {
  window.wakeLocks = { requested: 0, released: 0, current: null };
  Object.defineProperty(Navigator.prototype, 'wakeLock', {
    configurable: true,
    get: () => ({
      async request(type) {
        if (type !== 'screen') throw new TypeError(type);
        window.wakeLocks.requested += 1;
        const sentinel = new EventTarget();
        sentinel.release = async () => {
          window.wakeLocks.released += 1;
          sentinel.dispatchEvent(new Event('release'));
        };
        window.wakeLocks.current = sentinel;
        return sentinel;
      },
    }),
  });
}

// Asks the page to close as a person would (it was clicked, so the browser may ask); resolves to
// whether it asked: the question is dismissed, the page stays.
async function asksBeforeClosing(page) {
  await page.locator('#file-name').click();
  const asked = page.waitForEvent('dialog', { timeout: 3000 }).then(async (dialog) => {
    assert.equal(dialog.type(), 'beforeunload');
    await dialog.dismiss();
    return true;
  }, () => false);
  await page.close({ runBeforeUnload: true });
  return asked;
}

test('while sending and receiving, the screen stays awake and closing asks first; once done, neither', { timeout: 180_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'habits.bin', 12 << 20);
  const sender = await launchBrowser({ testHooks: { seedBytesPerSecond: 1_000_000 } });
  const receiver = await launchBrowser();
  await receiver.context.addInitScript(stubWakeLock);
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      assert.equal(await sender.page.evaluate(() => window.swarmdrop.wakeLock), 'released', 'no lock before a receiver');
      const download = receiver.page.waitForEvent('download', { timeout: 120_000 });
      await receiver.page.goto(link);

      // The receiver holds a lock while it downloads; released by the browser (as when hidden),
      // it is taken again when the page is visible again.
      await waitForState(receiver.page, (s) => s.phase === 'transferring' && s.wakeLock === 'held');
      await receiver.page.evaluate(() => {
        window.wakeLocks.current.dispatchEvent(new Event('release'));
      });
      assert.equal(await receiver.page.evaluate(() => window.swarmdrop.wakeLock), 'released');
      await receiver.page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
      const again = await waitForState(receiver.page, (s) => s.wakeLock === 'held');
      assert.equal(again.phase, 'transferring');
      assert.equal(await receiver.page.evaluate(() => window.wakeLocks.requested), 2);

      // The sender's own browser: its real API, held or refused (headless may refuse), never failing.
      const sending = await waitForState(sender.page, (s) => s.receivers.some((r) => r.phase === 'transferring'));
      assert.ok(['held', 'unavailable'].includes(sending.wakeLock), sending.wakeLock);
      t.diagnostic(`the sender's headless Chromium: wakeLock ${sending.wakeLock}`);
      assert.equal(sending.copies, 0);

      // Both ask before closing while the transfer runs.
      assert.equal(await asksBeforeClosing(sender.page), true, 'the sender asks while its receiver has not all of it');
      assert.equal(await asksBeforeClosing(receiver.page), true, 'the receiver asks while it downloads');
      assert.equal(sender.page.isClosed() || receiver.page.isClosed(), false);

      await download;
      const done = await waitForState(receiver.page, (s) => s.phase === 'done');
      assert.equal(done.wakeLock, 'released');
      assert.equal(await receiver.page.evaluate(() => window.wakeLocks.released), 1, 'the page let its lock go');
      const sent = await waitForState(sender.page, (s) => s.copies === 1 && s.wakeLock === 'released');
      assert.equal(sent.leaveWarning, false);

      // Done: both close without asking.
      for (const page of [receiver.page, sender.page]) {
        const closed = page.waitForEvent('close');
        assert.equal(await asksBeforeClosing(page), false);
        await closed;
      }
    });
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('a Share button beside the link opens the system share sheet where there is one, hidden where not', { timeout: 60_000 }, async () => {
  const file = await randomFile(fixture.dir, 'share.bin', 1 << 20);
  const plain = await launchBrowser();
  const sharing = await launchBrowser();
  // A share sheet that records what it was given.
  await sharing.context.addInitScript(() => {
    window.shared = [];
    Navigator.prototype.share = async (data) => { window.shared.push(data); };
  });
  try {
    await shareFile(plain.page, fixture.server.url, file.path);
    const has = await plain.page.evaluate(() => 'share' in navigator);
    assert.equal(await plain.page.locator('#share').isVisible(), has);

    const link = await shareFile(sharing.page, fixture.server.url, file.path);
    const button = sharing.page.getByRole('button', { name: 'Share the link' });
    await button.waitFor({ state: 'visible' });
    // By keyboard: focus it, press Enter.
    await button.focus();
    await sharing.page.keyboard.press('Enter');
    await sharing.page.waitForFunction(() => window.shared.length === 1);
    const [data] = await sharing.page.evaluate(() => window.shared);
    assert.equal(data.url, link);
    assert.match(data.title, /share\.bin/);
  } finally {
    await plain.close();
    await sharing.close();
  }
});

test('the app is installable: its manifest and icons are served, and the browser reads them under the CSP', { timeout: 60_000 }, async () => {
  const base = fixture.server.url;
  const response = await fetch(`${base}/manifest.webmanifest`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^application\/(manifest\+)?json/);
  const manifest = await response.json();
  assert.equal(manifest.start_url, '/');
  assert.equal(manifest.display, 'standalone');
  assert.ok(manifest.name && manifest.short_name && manifest.theme_color && manifest.background_color);
  assert.deepEqual(manifest.icons.map((icon) => icon.sizes).sort(), ['192x192', '512x512']);
  for (const icon of manifest.icons) {
    const image = await fetch(new URL(icon.src, base));
    assert.equal(image.status, 200, icon.src);
    assert.equal(image.headers.get('content-type'), 'image/png');
    assert.deepEqual([...new Uint8Array(await image.arrayBuffer()).slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  }

  // Chromium fetches the manifest when asked for it (as when installing): no CSP refusal
  // (close() fails on one), no error in it.
  const browser = await launchBrowser();
  try {
    await browser.page.goto(base);
    const cdp = await browser.context.newCDPSession(browser.page);
    const read = await cdp.send('Page.getAppManifest');
    assert.equal(read.url, `${base}/manifest.webmanifest`);
    assert.deepEqual(read.errors, []);
    assert.equal(JSON.parse(read.data).short_name, 'swarmdrop');
  } finally {
    await browser.close();
  }
});
