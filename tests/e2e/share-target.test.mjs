// Sharing to swarmdrop from another app (the manifest's share_target): the system share sheet
// navigates to POST /share-target with a multipart form. Here a page without the app's CSP (as
// the share sheet is) submits such a form to the app's origin, so the browser makes the very
// navigation a share sheet makes, and the one any other site can make: with the service worker
// in control it keeps the files and sends the browser on to the sender's page, which lists them
// and shares them only on a click; a second Chromium receives them whole.
// Without a worker (a first visit) nginx answers and the page says to share again.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import {
  launchBrowser, randomFile, serverFixture, sha256File, subDir,
} from './harness.mjs';

const fixture = serverFixture();

// Puts a share sheet's form on `page` (about:blank: no CSP of ours, a page of no origin of ours)
// and submits it with `files` (paths) and the text fields; resolves once the browser has landed
// on the app's page.
async function shareSheet(page, base, { files = [], title = '', text = '', url = '' }) {
  await page.goto('about:blank');
  await page.setContent(`<form method="post" enctype="multipart/form-data" action="${base}/share-target">
    <input name="title"><input name="text"><input name="url"><input type="file" name="files" multiple>
    <button>Share</button></form>`);
  await page.fill('input[name=title]', title);
  await page.fill('input[name=text]', text);
  await page.fill('input[name=url]', url);
  if (files.length) await page.setInputFiles('input[type=file]', files);
  await Promise.all([page.waitForURL(`${base}/**`), page.click('button')]);
  await page.locator('#drop-zone').waitFor({ state: 'attached' });
}

const inboxes = (page) => page.evaluate(async () => (await caches.keys()).filter((name) => name.startsWith('swarmdrop-share-inbox')));

// The sender's page after a share sheet's POST of `file`: lists it, has started nothing; the
// inbox is gone and the address has no query.
async function assertOffered(page, file, shown) {
  const intake = page.locator('#intake');
  await intake.waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(await page.locator('#intake-files').textContent(), shown);
  await sleep(1500);
  assert.equal(await page.locator('#sharing').isVisible(), false, 'no share without the click');
  assert.deepEqual(await page.evaluate(() => [window.swarmdrop.phase, window.swarmdrop.link]), ['waiting', null]);
  assert.equal(await page.evaluate(() => location.search), '');
  assert.deepEqual(await inboxes(page), []);
}

// Clicks "Share these files"; resolves to the share link.
async function shareOffered(page) {
  await page.getByRole('button', { name: 'Share these files' }).click();
  const link = page.locator('#share-link');
  await link.waitFor({ state: 'visible', timeout: 30_000 });
  await page.waitForFunction(() => /\/s\/[0-9a-f]{16}#/.test(document.querySelector('#share-link').href));
  assert.equal(await page.locator('#intake').isVisible(), false);
  return link.getAttribute('href');
}

async function receiveWhole(receiver, link, file, name) {
  const download = receiver.page.waitForEvent('download', { timeout: 150_000 });
  await receiver.page.goto(link);
  const saved = await download;
  assert.equal(saved.suggestedFilename(), name);
  const path = `${subDir(fixture.dir, 'received')}/${name}`;
  await saved.saveAs(path);
  assert.equal(await sha256File(path), file.sha256);
}

async function withWorker(page, base) {
  await page.goto(base);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

test('a file shared to the app (as any site can POST it) is listed and shared only on a click; another browser receives it whole; Discard drops it', { timeout: 120_000 }, async () => {
  const base = fixture.server.url;
  const file = await randomFile(fixture.dir, 'shared photo.jpg', 300 * 1024);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    // A first visit registers the worker, which takes the page.
    await withWorker(sender.page, base);
    await shareSheet(sender.page, base, { files: [file.path], title: 'holiday' });
    await assertOffered(sender.page, file, /shared photo\.jpg · 307 kB/);
    const link = await shareOffered(sender.page);
    assert.match(await sender.page.locator('#file-name').textContent(), /shared photo\.jpg/);
    // The files left the inbox before the share began: they are still read whole.
    await receiveWhole(receiver, link, file, 'shared photo.jpg');

    // Discard: nothing is shared, the page offers to pick files.
    const discarded = await sender.context.newPage();
    await shareSheet(discarded, base, { files: [file.path] });
    await assertOffered(discarded, file, /shared photo\.jpg/);
    await discarded.getByRole('button', { name: 'Discard' }).click();
    assert.equal(await discarded.locator('#intake').isVisible(), false);
    assert.equal(await discarded.locator('#pick').isVisible(), true);
    assert.equal(await discarded.locator('#sharing').isVisible(), false);

    // A link alone (a file input left empty, as a share sheet sends it): the page says it sends files.
    const other = await sender.context.newPage();
    await shareSheet(other, base, { title: 'a page', url: 'https://example.org/' });
    const note = other.locator('#intake-note');
    await note.waitFor({ state: 'visible' });
    assert.match(await note.textContent(), /swarmdrop sends files/);
    assert.equal(await other.locator('#pick').isVisible(), true);
    assert.equal(await other.locator('#intake').isVisible(), false);
    assert.equal(await other.evaluate(() => location.search), '');
    assert.deepEqual(await inboxes(other), []);
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('a 64 MiB file shared to the app stays readable after its inbox is deleted: the receiver gets it whole', { timeout: 240_000 }, async () => {
  const base = fixture.server.url;
  const file = await randomFile(fixture.dir, 'shared video.mp4', 64 << 20);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withWorker(sender.page, base);
    await shareSheet(sender.page, base, { files: [file.path] });
    await assertOffered(sender.page, file, /shared video\.mp4 · 67 MB/);
    const link = await shareOffered(sender.page);
    await receiveWhole(receiver, link, file, 'shared video.mp4');
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('without a service worker in control, nginx sends the share sheet to the page, which says to share again', { timeout: 60_000 }, async () => {
  const base = fixture.server.url;
  // What nginx answers, for a body larger than its usual 1 MB cap too.
  const form = new FormData();
  form.append('files', new Blob([new Uint8Array(3 << 20)]), 'big.bin');
  const response = await fetch(`${base}/share-target`, { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(response.status, 303);
  assert.equal(response.headers.get('location'), '/?share-target=missed');
  const page = await fetch(`${base}/`);
  assert.equal(response.headers.get('content-security-policy'), page.headers.get('content-security-policy'));
  assert.equal(response.headers.get('x-frame-options'), 'DENY');

  const browser = await launchBrowser();
  try {
    const file = await randomFile(fixture.dir, 'missed.bin', 64 * 1024);
    await shareSheet(browser.page, base, { files: [file.path] });
    const note = browser.page.locator('#intake-note');
    await note.waitFor({ state: 'visible' });
    assert.match(await note.textContent(), /share it to swarmdrop again/);
    assert.equal(await browser.page.evaluate(() => location.search), '');
    // The page registered the worker meanwhile: the next share reaches it.
    await browser.page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  } finally {
    await browser.close();
  }
});
