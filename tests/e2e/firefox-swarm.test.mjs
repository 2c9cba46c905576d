// Debian's Firefox ESR (puppeteer-core over WebDriver BiDi) and Debian's Chromium (playwright-core)
// in one share, the real Janus + plugin + nginx (issue 13): a share of two files from Firefox to
// Chromium and from Chromium to Firefox, each file saved by the receiver's browser with the
// sender's SHA-256 (Firefox saves into its profile's download folder without asking), then both as
// the ZIP archive the service worker streams; a swarm of a capped sender (Chromium, then Firefox),
// a Firefox and a Chromium receiver that serve each other; and the relay, Firefox on either side
// with the page's relay-only option ticked.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  closeAll, launchBrowser, launchFirefox, randomFile, serverFixture, sha256File, shareFile, subDir, waitForState,
  watchPeerConnections, withStates, zipContents,
} from './harness.mjs';

const MiB = 1 << 20;
const fixture = serverFixture();

// What the receiver's browser saves (Chromium or Firefox) once `trigger()` started it: the download
// `name`, of `size` bytes (null: unknown), put in `saveDir` (Chromium) or in Firefox's profile;
// resolves to its path.
async function saved(receiver, trigger, name, size, saveDir) {
  if (receiver.downloaded) {
    await trigger();
    return receiver.downloaded(name, size);
  }
  const downloadEvent = receiver.page.waitForEvent('download', { timeout: 120_000 });
  await trigger();
  const download = await downloadEvent;
  assert.equal(download.suggestedFilename(), name);
  const path = join(saveDir, name);
  await download.saveAs(path);
  return path;
}

// The receiver opens the link; its page saves the share's single file on its own once it is all here.
const openAndSave = (receiver, link, name, size, saveDir) => saved(receiver, () => receiver.page.goto(link), name, size, saveDir);
// The receiver clicks a Save button of a done share.
const saveBy = (receiver, selector, name, size, saveDir) => saved(receiver, () => receiver.page.locator(selector).click(), name, size, saveDir);

const CROSSINGS = [
  ['Firefox', launchFirefox, 'Chromium', launchBrowser],
  ['Chromium', launchBrowser, 'Firefox', launchFirefox],
];

for (const [senderName, launchSender, receiverName, launchReceiver] of CROSSINGS) {
  test(`${senderName} shares two files, ${receiverName} saves each, and both as a ZIP, with the same SHA-256s`, { timeout: 120_000 }, async (t) => {
    const tag = senderName.toLowerCase();
    const big = await randomFile(fixture.dir, `${tag} random.bin`, 5 * MiB + 4321); // several pieces and a partial one
    const note = `from ${senderName} to ${receiverName}\n`;
    const notePath = join(fixture.dir, `${tag} note.txt`);
    writeFileSync(notePath, note);
    const files = [
      { path: `${tag} random.bin`, size: big.size, sha256: big.sha256 },
      { path: `${tag} note.txt`, size: note.length, sha256: await sha256File(notePath) },
    ];
    const sender = await launchSender();
    const receiver = await launchReceiver();
    try {
      await withStates(t, { sender, receiver }, async () => {
        const link = await shareFile(sender.page, fixture.server.url, [big.path, notePath]);
        await receiver.page.goto(link);
        const done = await waitForState(receiver.page, (s) => s.phase === 'done');
        assert.deepEqual(done.files.map(({ path, size }) => ({ path, size })), files.map(({ path, size }) => ({ path, size })));
        assert.equal(done.bytes, big.size + files[1].size);
        assert.deepEqual(done.peers.map(({ role, path }) => ({ role, path })), [{ role: 'owner', path: 'lan' }]);
        const saveDir = subDir(fixture.dir, `saved-by-${receiverName}`);
        for (const file of files) {
          const path = await saveBy(receiver, `#files button[data-path="${file.path}"]`, file.path, file.size, saveDir);
          assert.equal(await sha256File(path), file.sha256, file.path);
        }
        // And both as one ZIP archive, which the receiver's service worker streams.
        const zip = await saveBy(receiver, '#save-again', 'swarmdrop files.zip', null, saveDir);
        assert.deepEqual(zipContents(zip), Object.fromEntries(files.map(({ path, sha256 }) => [path, sha256])));
        const sent = await waitForState(sender.page, (s) => s.receivers.length === 1 && s.receivers[0].phase === 'done');
        assert.equal(sent.receivers[0].path, 'lan');
      }, { server: fixture.server });
    } finally {
      await closeAll([sender, receiver]);
    }
  });
}

// The sender's uplink is capped (test hook) well below what the receivers take in, so each
// receiver gets much of the file from the other, across the two browsers.
const SWARMS = [
  ['Chromium', launchBrowser],
  ['Firefox', launchFirefox],
];

for (const [senderName, launchSender] of SWARMS) {
  test(`a swarm: a capped ${senderName} sender, a Firefox and a Chromium receiver serve each other, both save the file intact`, { timeout: 120_000 }, async (t) => {
    const name = `swarm from ${senderName}.bin`;
    const file = await randomFile(fixture.dir, name, 12 * MiB);
    const sender = await launchSender({ testHooks: { seedBytesPerSecond: 1_500_000 } });
    const firefox = await launchFirefox();
    const chromium = await launchBrowser();
    try {
      await withStates(t, { sender, firefox, chromium }, async () => {
        const link = await shareFile(sender.page, fixture.server.url, file.path);
        const paths = await Promise.all([
          openAndSave(firefox, link, name, file.size),
          openAndSave(chromium, link, name, file.size, subDir(fixture.dir, `swarm-${senderName}`)),
        ]);
        for (const path of paths) assert.equal(await sha256File(path), file.sha256, path);
        for (const [receiverName, browser] of [['Firefox', firefox], ['Chromium', chromium]]) {
          const state = await waitForState(browser.page, (s) => s.phase === 'done');
          const bySource = Object.fromEntries(state.peers.map((peer) => [peer.role, peer.downloadedBytes]));
          t.diagnostic(`${receiverName} got ${bySource.owner} B from the sender, ${bySource.receiver} B from the other receiver`);
          assert.ok(bySource.receiver > 0, `${receiverName} got nothing from the other receiver: ${JSON.stringify(state.peers)}`);
          // Straight between the two browsers, not through the server.
          assert.deepEqual(state.peers.map(({ role, path }) => ({ role, path })).sort((a, b) => a.role.localeCompare(b.role)),
            [{ role: 'owner', path: 'lan' }, { role: 'receiver', path: 'lan' }], `${receiverName}'s links`);
          assert.ok(state.peers.every((peer) => peer.bad === 0));
        }
      }, { server: fixture.server });
    } finally {
      await closeAll([sender, firefox, chromium]);
    }
  });
}

// Ticks the page's relay-only option (kept in the browser: it applies to the pages opened after).
async function tickRelayOnly(browser) {
  await browser.page.goto(fixture.server.url);
  await browser.page.locator('#relay-only').click();
  assert.equal(await browser.page.evaluate(() => globalThis.swarmdropRelayOnly), true);
}

const RELAYED = [
  ['Firefox with relay-only receives from Chromium', launchBrowser, launchFirefox, 'receiver'],
  ['Firefox with relay-only sends to Chromium', launchFirefox, launchBrowser, 'sender'],
];

for (const [title, launchSender, launchReceiver, relayOnly] of RELAYED) {
  test(`${title} through the plugin's relay, SHA-256 equal`, { timeout: 120_000 }, async (t) => {
    const file = await randomFile(fixture.dir, `relayed by ${relayOnly}.bin`, 4 * MiB);
    const sender = await watchPeerConnections(await launchSender());
    const receiver = await watchPeerConnections(await launchReceiver());
    try {
      await withStates(t, { sender, receiver }, async () => {
        await tickRelayOnly(relayOnly === 'sender' ? sender : receiver);
        const link = await shareFile(sender.page, fixture.server.url, file.path);
        const path = await openAndSave(receiver, link, `relayed by ${relayOnly}.bin`, file.size, subDir(fixture.dir, `relayed-${relayOnly}`));
        assert.equal(await sha256File(path), file.sha256);
        const got = await waitForState(receiver.page, (s) => s.phase === 'done');
        assert.deepEqual(got.peers.map(({ role, path }) => ({ role, path })), [{ role: 'owner', path: 'relay' }]);
        assert.deepEqual(Object.keys(got.paths), ['relay']);
        assert.ok(got.paths.relay.received >= file.size, JSON.stringify(got.paths));
        const sent = await waitForState(sender.page, (s) => s.receivers.length === 1 && s.receivers[0].phase === 'done');
        assert.equal(sent.receivers[0].path, 'relay');
        assert.ok(sent.paths.relay.sent >= file.size, JSON.stringify(sent.paths));
        // The relay-only page never offers a direct link: its one RTCPeerConnection is the server's.
        const relayOnlyPage = relayOnly === 'sender' ? sender : receiver;
        assert.equal(await relayOnlyPage.page.evaluate(() => globalThis.peerConnectionsMade), 1);
      }, { server: fixture.server });
    } finally {
      await closeAll([sender, receiver]);
    }
  });
}
