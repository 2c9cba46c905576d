// Hostile file names (docs/protocol.md part 3, "File names"), through real browsers and real
// extraction tools: a folder whose names are legal on Linux but unsafe elsewhere or misleading
// (a Windows device name, a drive, a bidi override, a look-alike slash, zero-width characters, a
// '?', two names alike but for case)
// shares under names that pass the rules, and the receiver's ZIP, extracted by unzip, bsdtar and
// Python's zipfile, lands every file inside the extraction folder under that name. An owner that
// signs a manifest with a hostile name is refused by the receiver with errorKind 'bad-name'.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, realpathSync, lstatSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import {
  importSigningKey, openShareKeys, parseLinkSecret, sealManifestBytes, shareablePaths,
} from '../../web/src/engine/transfer/content.js';
import { manifestMessages } from '../../web/src/engine/net/wire.js';
import { launchBrowser, serverFixture, shareFile, subDir, tempDir, withStates } from './harness.mjs';

const fixture = serverFixture();

// On disk (Linux takes any byte but '/' and NUL, at most 255 bytes a name): what a person could
// pick. A name over 255 bytes cannot exist here; tests/js/names.test.mjs covers its cut.
const HOSTILE = [
  'CON.txt', 'aux', 'nul.tar.gz', 'a\u202Egnp.exe', 'x\u2215y', 'C:evil', 'zero\u200Bwidth\u200D.txt', 'bom\uFEFF',
  'trailing.', 'space ', 'back\\slash', 'tab\there', 'esc\u001b[31m', `${'é'.repeat(127)}x`, 'a:b', 'a_b', 'what?.txt',
  'README.txt', 'readme.TXT', // one key (case aside): one of them becomes "(2)"
];

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// Every regular file under `dir`, as {relative path with '/': sha256}; throws if any entry is a
// link or resolves outside `dir`.
function extracted(dir) {
  const root = realpathSync(dir);
  const found = {};
  const walk = (at) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      const stat = lstatSync(path);
      assert.ok(!stat.isSymbolicLink(), `a link was extracted: ${path}`);
      assert.ok(realpathSync(path).startsWith(root + sep), `extracted outside the folder: ${path}`);
      if (stat.isDirectory()) walk(path);
      else found[relative(root, path).split(sep).join('/')] = sha256(readFileSync(path));
    }
  };
  walk(root);
  return found;
}

test('hostile names share under safe names, and real tools extract the ZIP inside its folder', { timeout: 300_000 }, async (t) => {
  const folder = join(fixture.dir, 'hostile');
  mkdirSync(folder);
  const contents = new Map();
  HOSTILE.forEach((name, i) => {
    const bytes = Buffer.from(`file ${i}: ${JSON.stringify(name)}\n`);
    writeFileSync(join(folder, name), bytes);
    contents.set(name, bytes);
  });
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      await sender.page.goto(fixture.server.url);
      await sender.page.setInputFiles('#folder-input', folder);
      await sender.page.waitForFunction(() => /#/.test(document.querySelector('#share-link')?.href || ''));
      const link = await sender.page.locator('#share-link').getAttribute('href');
      await receiver.page.goto(link);
      const saveAll = receiver.page.locator('#save-again', { hasText: 'Save all as ZIP' });
      await saveAll.waitFor({ timeout: 120_000 });
      const { files } = await receiver.page.evaluate(() => window.swarmdrop);

      // What the sender's mapping makes of each name. Which of README.txt and readme.TXT keeps
      // its name depends on the order the browser lists the folder in: take the page's. No other
      // two names meet in a way that depends on that order (checked).
      // Chromium's folder picker already gives a '\\' in a name as a '/' (a folder).
      const pair = files.some(({ path }) => path === 'hostile/readme.TXT') ? ['readme.TXT', 'README.txt'] : ['README.txt', 'readme.TXT'];
      const picked = [...HOSTILE.filter((name) => !pair.includes(name)), ...pair];
      const paths = picked.map((name) => `hostile/${name.replaceAll('\\', '/')}`);
      const mapped = shareablePaths(paths);
      assert.deepEqual(new Set(shareablePaths(paths.slice(0, -2).reverse())), new Set(mapped.slice(0, -2)));
      const expected = Object.fromEntries(mapped.map((path, i) => [path, sha256(contents.get(picked[i]))]));
      assert.deepEqual(new Set(files.map(({ path }) => path)), new Set(mapped));
      t.diagnostic(`names as shared: ${JSON.stringify(Object.keys(expected))}`);
      for (const name of ['hostile/CON_.txt', 'hostile/aux_', 'hostile/nul_.tar.gz', 'hostile/a_gnp.exe', 'hostile/x_y',
        'hostile/C_evil', 'hostile/zero_width_.txt', 'hostile/trailing_', 'hostile/space_', 'hostile/back/slash', 'hostile/a_b',
        'hostile/a_b (2)', 'hostile/what_.txt']) {
        assert.ok(name in expected, `${name} among ${JSON.stringify(Object.keys(expected))}`);
      }

      const zipDownload = receiver.page.waitForEvent('download');
      await saveAll.click();
      const zipPath = join(subDir(fixture.dir, 'saved'), 'hostile.zip');
      await (await zipDownload).saveAs(zipPath);

      // Three independent readers, each into a folder of its own.
      const tools = {
        unzip: (dir) => execFileSync('unzip', ['-q', '-o', zipPath, '-d', dir]),
        bsdtar: (dir) => execFileSync('bsdtar', ['-x', '-f', zipPath, '-C', dir]),
        zipfile: (dir) => execFileSync('python3', ['-m', 'zipfile', '-e', zipPath, dir]),
      };
      for (const [tool, extract] of Object.entries(tools)) {
        const dir = tempDir(`names-${tool}-`);
        extract(dir);
        assert.deepEqual(extracted(dir), expected, tool);
      }
    });
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('a manifest signed by the owner with a hostile name is refused by the receiver', { timeout: 180_000 }, async (t) => {
  const file = join(fixture.dir, 'innocent.txt');
  writeFileSync(file, 'nothing to see\n');
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file);
      // The owner's own keys, as its page kept them (transfer/keystore.js): the share's real signer.
      const saved = await sender.page.waitForFunction(() => new Promise((resolve) => {
        const opening = indexedDB.open('swarmdrop-sender');
        opening.onerror = () => resolve(null);
        opening.onsuccess = () => {
          const db = opening.result;
          if (!db.objectStoreNames.contains('shares')) return resolve(null);
          const all = db.transaction('shares').objectStore('shares').getAll();
          all.onsuccess = () => resolve(all.result[0] ? { linkSecret: all.result[0].linkSecret, signingKey: [...all.result[0].signingKey] } : null);
          all.onerror = () => resolve(null);
        };
      }), null, { timeout: 30_000, polling: 200 }).then((handle) => handle.jsonValue());
      const keys = await openShareKeys(parseLinkSecret(saved.linkSecret));
      const signingKey = await importSigningKey(Uint8Array.from(saved.signingKey));
      const size = 15;
      const hostile = { v: 1, piece_size: 1 << 20, total: size, files: [{ path: 'invoice\u202Efdp.exe', size, type: '' }] };
      const sealed = await sealManifestBytes(keys.contentKey, signingKey, new TextEncoder().encode(JSON.stringify(hostile)));
      // The owner's page sends that instead of its real manifest.
      await sender.page.evaluate((messages) => {
        const send = RTCDataChannel.prototype.send;
        RTCDataChannel.prototype.send = function (data) {
          if (typeof data === 'string' && data.startsWith('{"t":"manifest"')) {
            for (const message of messages) send.call(this, JSON.stringify(message));
            return undefined;
          }
          return send.call(this, data);
        };
      }, manifestMessages(sealed));

      await receiver.page.goto(link);
      // A function, not waitForState's string: the page's Content-Security-Policy forbids eval.
      await receiver.page.waitForFunction(() => window.swarmdrop?.phase === 'error', null, { timeout: 60_000, polling: 100 });
      const state = await receiver.page.evaluate(() => window.swarmdrop);
      assert.equal(state.errorKind, 'bad-name');
      assert.deepEqual(state.errorDetail, { rule: 'bidi', file: 0 });
      assert.deepEqual(state.files, [], 'nothing of the manifest was taken');
      const shown = await receiver.page.locator('#error').textContent();
      assert.match(shown, /Nothing was downloaded/);
      assert.match(shown, /reverse the direction of the text/);
      assert.doesNotMatch(shown, /\u202E/, 'the hostile name is not shown');
    });
  } finally {
    await sender.close();
    await receiver.close();
  }
});
