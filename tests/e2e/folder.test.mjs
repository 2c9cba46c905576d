// A folder shared as a tree: the receiver gets every file, one at a time or all as a ZIP archive
// streamed by the service worker, and each arrives intact under its path.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser, randomFile, serverFixture, sha256File, zipContents } from './harness.mjs';

const fixture = serverFixture();

test('a folder arrives intact, as single files and as a ZIP of the tree', { timeout: 300_000 }, async () => {
  const album = join(fixture.dir, 'album');
  mkdirSync(join(album, 'day 2'), { recursive: true });
  const big = await randomFile(album, 'clip.bin', (5 << 20) + 12345); // spans several pieces
  const note = join(album, 'day 2', 'notes – été.txt');
  writeFileSync(note, 'swarmdrop keeps the tree\n');
  writeFileSync(join(album, 'empty.txt'), '');
  const expected = {
    'album/clip.bin': big.sha256,
    'album/day 2/notes – été.txt': await sha256File(note),
    'album/empty.txt': await sha256File(join(album, 'empty.txt')),
  };

  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await sender.page.goto(fixture.server.url);
    await sender.page.setInputFiles('#folder-input', album);
    await sender.page.waitForFunction(() => /#/.test(document.querySelector('#share-link')?.href || ''));
    const link = await sender.page.locator('#share-link').getAttribute('href');
    assert.match(await sender.page.locator('#file-name').textContent(), /3 files/);

    await receiver.page.goto(link);
    const saveAll = receiver.page.locator('#save-again', { hasText: 'Save all as ZIP' });
    await saveAll.waitFor({ timeout: 120_000 });
    assert.equal(await receiver.page.locator('#files li').count(), 3);

    const zipDownload = receiver.page.waitForEvent('download');
    await saveAll.click();
    const zip = await zipDownload;
    assert.equal(zip.suggestedFilename(), 'album.zip');
    const zipPath = join(fixture.dir, 'received.zip');
    await zip.saveAs(zipPath);
    assert.deepEqual(zipContents(zipPath), expected);

    const oneDownload = receiver.page.waitForEvent('download');
    await receiver.page.locator('#files button[data-path="album/day 2/notes – été.txt"]').click();
    const one = await oneDownload;
    assert.equal(one.suggestedFilename(), 'notes – été.txt');
    const onePath = join(fixture.dir, 'one.txt');
    await one.saveAs(onePath);
    assert.equal(readFileSync(onePath, 'utf8'), 'swarmdrop keeps the tree\n');
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('a folder of 1500 files, whose manifest spans several messages, arrives whole', { timeout: 300_000 }, async () => {
  const many = join(fixture.dir, 'many');
  mkdirSync(many);
  const count = 1500;
  for (let i = 0; i < count; i++) writeFileSync(join(many, `photo number ${String(i).padStart(4, '0')} of the trip.txt`), `${i}\n`);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await sender.page.goto(fixture.server.url);
    await sender.page.setInputFiles('#folder-input', many);
    await sender.page.waitForFunction(() => /#/.test(document.querySelector('#share-link')?.href || ''));
    const link = await sender.page.locator('#share-link').getAttribute('href');
    await receiver.page.goto(link);
    await receiver.page.locator('#save-again', { hasText: 'Save all as ZIP' }).waitFor({ timeout: 120_000 });
    assert.equal(await receiver.page.locator('#files li').count(), count);
    const zipDownload = receiver.page.waitForEvent('download');
    await receiver.page.locator('#save-again').click();
    const zipPath = join(fixture.dir, 'many.zip');
    await (await zipDownload).saveAs(zipPath);
    const contents = zipContents(zipPath);
    assert.equal(Object.keys(contents).length, count);
    assert.ok(contents['many/photo number 1499 of the trip.txt']);
  } finally {
    await sender.close();
    await receiver.close();
  }
});
