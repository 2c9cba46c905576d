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
    // Files shared to it from other apps (share-target.test.mjs) come as one multipart POST.
    assert.deepEqual(manifest.share_target, {
      action: '/share-target',
      method: 'POST',
      enctype: 'multipart/form-data',
      params: {
        title: 'title', text: 'text', url: 'url', files: [{ name: 'files', accept: ['*/*'] }],
      },
    });
  } finally {
    await browser.close();
  }
});

// Notifications granted by the browser (context.grantPermissions), shown through a stubbed
// Notification constructor that records them (window.notified), or, where localStorage says
// 'worker-only', through the service worker's registration alone, as on Chrome for Android
// (whose constructor throws a TypeError); the page's visibility is what
// an init script says (window.pageHidden, read through document.visibilityState and hidden), as
// headless Chromium's own never changes; setHidden dispatches the visibilitychange event too.
function stubNotificationsAndVisibility() {
  window.notified = [];
  window.pageHidden = false;
  const Real = window.Notification;
  window.Notification = class {
    static get permission() { return Real.permission; }

    static requestPermission() { return Real.requestPermission(); }

    constructor(title, options) {
      if (localStorage.getItem('notifications') === 'worker-only') throw new TypeError('Illegal constructor');
      window.notified.push({ title, body: options?.body, data: options?.data, by: 'page' });
    }

    close() {}
  };
  ServiceWorkerRegistration.prototype.showNotification = async (title, options) => {
    window.notified.push({ title, body: options?.body, data: options?.data, by: 'worker' });
  };
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (window.pageHidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => window.pageHidden });
}

function setHidden(page, hidden) {
  return page.evaluate((value) => {
    window.pageHidden = value;
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('a transfer that finishes while its page is hidden shows one notification on that page; a visible page shows none', { timeout: 120_000 }, async (t) => {
  // Sent at 1 MB/s: each transfer takes a few seconds, time enough to hide a page first.
  const file = await randomFile(fixture.dir, 'notified.bin', 3 << 20);
  const other = await randomFile(fixture.dir, 'notified again.bin', 3 << 20);
  const sender = await launchBrowser({ testHooks: { seedBytesPerSecond: 1_000_000 } });
  const receiver = await launchBrowser();
  try {
    for (const browser of [sender, receiver]) {
      await browser.context.grantPermissions(['notifications'], { origin: fixture.server.url });
      await browser.context.addInitScript(stubNotificationsAndVisibility);
    }
    await withStates(t, { sender, receiver }, async () => {
      // The sender's page hidden, the receiver's visible: only the sender's says so.
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      assert.equal(await sender.page.evaluate(() => window.swarmdrop.notification), 'granted');
      assert.equal(await sender.page.locator('#notify').isVisible(), false, 'no button once granted');
      await setHidden(sender.page, true);
      await receiver.page.goto(link);
      await waitForState(receiver.page, (s) => s.phase === 'done');
      const sent = await waitForState(sender.page, (s) => s.notified !== null);
      assert.match(sent.notified.title, /^Receiver [0-9a-f]{4} has all of notified\.bin$/);
      assert.deepEqual(await sender.page.evaluate(() => window.notified.map((n) => [n.title, n.by])), [[sent.notified.title, 'page']]);
      assert.deepEqual(await sender.page.evaluate(() => window.notified[0].data), { path: '/' });
      assert.deepEqual(await receiver.page.evaluate(() => window.notified), [], 'the visible receiver shows none');

      // Again with another file (the same one would resume the same share, already here), the
      // other way round: the receiver's page hidden, the sender's visible; the receiver's browser
      // has no page notifications (Android): its service worker shows it.
      const again = await shareFile(sender.page, fixture.server.url, other.path);
      await receiver.page.evaluate(() => localStorage.setItem('notifications', 'worker-only'));
      await receiver.page.goto(again);
      await setHidden(receiver.page, true);
      const received = await waitForState(receiver.page, (s) => s.phase === 'done' && s.notified !== null);
      assert.equal(received.notified.title, 'notified again.bin is here');
      assert.deepEqual(await receiver.page.evaluate(() => window.notified.map((n) => n.by)), ['worker']);
      // It keeps the page's path, not its address: the fragment is the share's secret.
      assert.deepEqual(await receiver.page.evaluate(() => window.notified[0].data), { path: new URL(again).pathname });
      await waitForState(sender.page, (s) => s.copies === 1);
      assert.deepEqual(await sender.page.evaluate(() => window.notified), [], 'the visible sender shows none');
    });
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('without permission, a "Notify me when it is done" button asks for it while a transfer goes on; nothing is asked on load', { timeout: 60_000 }, async () => {
  const browser = await launchBrowser();
  await browser.context.addInitScript(() => {
    window.asked = 0;
    Notification.requestPermission = async () => {
      window.asked += 1;
      return 'denied';
    };
  });
  try {
    const file = await randomFile(fixture.dir, 'ask.bin', 64 * 1024);
    await shareFile(browser.page, fixture.server.url, file.path);
    assert.equal(await browser.page.evaluate(() => window.swarmdrop.notification), 'default');
    assert.equal(await browser.page.evaluate(() => window.asked), 0, 'not asked on load');
    const button = browser.page.getByRole('button', { name: 'Notify me when it is done' });
    await button.click();
    await browser.page.waitForFunction(() => window.asked === 1);
    // The stub answers without changing the browser's permission: the button stays for another try.
    assert.equal(await browser.page.evaluate(() => window.swarmdrop.notification), 'default');
    assert.equal(await button.isVisible(), true);
    // Only while a transfer goes on: not once the share is stopped, nor on a link that leads nowhere.
    await browser.page.getByRole('button', { name: 'Stop sharing' }).click();
    await waitForState(browser.page, (s) => s.phase === 'stopped');
    assert.equal(await button.isVisible(), false, 'no button after Stop sharing');
    await browser.page.goto(`${fixture.server.url}/s/0123456789abcdef#${'A'.repeat(43)}`);
    await waitForState(browser.page, (s) => s.phase === 'error');
    assert.equal(await browser.page.evaluate(() => window.swarmdrop.notification), 'default');
    assert.equal(await browser.page.locator('#notify').isVisible(), false, 'no button on an error page');
  } finally {
    await browser.close();
  }
});
