// The metrics panel and export (issue 13, docs/metrics.md) with the real Janus, nginx and
// Chromium: the panel's peer rows show the path, round trip and bytes the engine measured, the
// sender's receiver rows their path and speed, and "Export metrics" saves the snapshot, valid
// against docs/metrics.schema.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import { MAX_PEER_RECORDS } from '../../web/src/engine/config.js';
import {
  describePath, formatBytes, formatMs, formatSpeed,
} from '../../web/src/ui/format.js';
import {
  closeAll, launchBrowser, randomFile, receiveFile, repoRoot, serverFixture, sha256File, shareFile, subDir, waitForState,
  watchPeerConnections, withStates,
} from './harness.mjs';

const MiB = 1 << 20;

const fixture = serverFixture();

// Opens the page's metrics panel from the keyboard (folded until then, and drawn only once open)
// and resolves once it shows a peer row for each of `peers` (full ids) whose `ready(cells)` holds
// (cells: the row's texts, from the short id on); resolves to {id: cells}.
async function panelRows(page, peers, ready = () => true) {
  const details = page.locator('#metrics');
  assert.equal(await details.evaluate((element) => element.open), false, 'the panel is folded at first');
  assert.equal(await page.locator('#metrics-peers tbody tr').count(), 0, 'nothing is drawn while folded');
  await page.locator('#metrics summary').focus();
  await page.keyboard.press('Enter');
  assert.equal(await details.evaluate((element) => element.open), true);
  const read = () => page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#metrics-peers tbody tr')]
    .map((row) => [row.dataset.peer, [...row.cells].map((cell) => cell.textContent)])));
  for (const deadline = Date.now() + 30_000; ; await new Promise((res) => setTimeout(res, 250))) {
    const rows = await read();
    if (peers.every((peer) => rows[peer] && ready(rows[peer]))) return rows;
    if (Date.now() > deadline) throw new Error(`no ready panel rows for ${peers}: ${JSON.stringify(rows)}`);
  }
}

// The panel's row for `peer` as it should read from the snapshot's row (ui/metrics-panel.js).
function expectedCells(row, suffix) {
  return [
    `${row.peer.slice(0, 4)}${suffix}`, describePath(row.path), formatMs(row.rttMs), formatBytes(row.sent), formatBytes(row.received),
    formatSpeed(row.downBytesPerSecond), formatSpeed(row.upBytesPerSecond), 'no', // (a row not banned)
  ];
}

// The open panel's row for `peer` and the snapshot's, read in one task, until the row is what the
// snapshot says (the panel draws and the recorder samples on timers of their own: a round trip
// can change between them); resolves to [cells, snapshot].
async function panelMatchesSnapshot(page, peer, suffix) {
  for (const deadline = Date.now() + 10_000; ; await new Promise((res) => setTimeout(res, 100))) {
    const [cells, snapshot] = await page.evaluate((id) => [
      [...document.querySelector(`#metrics-peers tbody tr[data-peer="${id}"]`)?.cells ?? []].map((cell) => cell.textContent),
      window.swarmdropMetrics(),
    ], peer);
    const row = snapshot.peers.find((candidate) => candidate.peer === peer);
    if (JSON.stringify(cells) === JSON.stringify(expectedCells(row, suffix))) return [cells, snapshot];
    if (Date.now() > deadline) assert.deepEqual(cells, expectedCells(row, suffix));
  }
}

// The totals counted apart (by the sending member's role) agree with the peer rows and with the
// state's own count of piece bytes received (receiver.js). Rows of closed links are kept for the
// latest MAX_PEER_RECORDS members: with fewer members, the rows hold every byte.
function assertTotalsAgree({ totals, peers }, downloadedBytes) {
  assert.ok(peers.length < MAX_PEER_RECORDS);
  const sum = (role) => peers.filter((peer) => peer.role === role).reduce((total, peer) => total + peer.received, 0);
  assert.equal(totals.fromOrigin, sum('owner'));
  assert.equal(totals.fromPeers, sum('receiver'));
  assert.equal(totals.fromOrigin + totals.fromPeers, downloadedBytes);
  assert.equal(totals.received, downloadedBytes);
}

test('LAN transfer: the panel shows the link to the sender, its round trip and the bytes the engine counted', { timeout: 180_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'lan.bin', 8 * MiB);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      const saved = await receiveFile(receiver.page, link, subDir(fixture.dir, 'lan'));
      assert.equal(await sha256File(saved.path), file.sha256);
      const state = await waitForState(receiver.page, (s) => s.phase === 'done');
      const owner = state.peers.find((peer) => peer.role === 'owner').peer;
      // Two browsers on one machine: their own addresses, one network.
      await panelRows(receiver.page, [owner], (cells) => /^[0-9]+ ms$/.test(cells[2]));
      const [cells, metrics] = await panelMatchesSnapshot(receiver.page, owner, ' (sender)');
      const row = metrics.peers.find((peer) => peer.peer === owner);
      t.diagnostic(`panel row ${JSON.stringify(cells)}; snapshot ${JSON.stringify(row)}`);
      assert.equal(row.path, 'lan');
      assert.equal(typeof row.rttMs, 'number');
      assert.equal(cells[7], 'no');
      // Every piece byte counted, each from the origin, none from other receivers.
      const { totals } = metrics;
      assert.ok(row.received >= file.size, `${row.received} bytes from the sender`);
      assertTotalsAgree(metrics, state.downloadedBytes);
      assert.deepEqual([totals.fromOrigin, totals.fromPeers, totals.offload], [totals.received, 0, 0]);
      assert.equal(totals.held, file.size);
      // The sender's receiver row says how its bytes went.
      const receiverRow = sender.page.locator(`#peers [data-peer="${state.peerId}"]`);
      await receiverRow.locator('.path', { hasText: describePath('lan') }).waitFor();
      assert.equal(await receiverRow.getAttribute('data-path'), 'lan');
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, receiver]);
  }
});

test('a relay-only receiver: the panel says relay, and the sender\'s row its path and speed while it sends', { timeout: 240_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'relayed.bin', 24 * MiB);
  const sender = await launchBrowser();
  const receiver = await watchPeerConnections(await launchBrowser(), { relayOnly: true });
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      // Watched from the start: the row's words while the receiver is still transferring.
      const sending = sender.page.waitForFunction((relayWords) => {
        const row = document.querySelector('#peers [data-peer][data-phase="transferring"]');
        const speed = row?.querySelector('.speed').textContent ?? '';
        return row?.querySelector('.path').textContent === relayWords && /^[0-9.]+ [kMG]?B\/s$/.test(speed) && !speed.startsWith('0 ')
          && { path: row.dataset.path, speed };
      }, describePath('relay'), { timeout: 120_000, polling: 100 }).then((handle) => handle.jsonValue());
      const saved = receiveFile(receiver.page, link, subDir(fixture.dir, 'relayed'));
      const seen = await sending;
      t.diagnostic(`sender's row while sending: ${JSON.stringify(seen)}`);
      assert.equal(seen.path, 'relay');
      assert.equal(await sha256File((await saved).path), file.sha256);
      const state = await waitForState(receiver.page, (s) => s.phase === 'done');
      const owner = state.peers.find((peer) => peer.role === 'owner').peer;
      const rows = await panelRows(receiver.page, [owner]);
      assert.equal(rows[owner][1], describePath('relay'));
      assert.equal(rows[owner][2], '–', 'no round trip of its own through the relay');
      const metrics = await receiver.page.evaluate(() => window.swarmdropMetrics());
      assert.deepEqual(metrics.peers.map(({ role, path }) => ({ role, path })), [{ role: 'owner', path: 'relay' }]);
      assert.ok(metrics.paths.relay.received >= file.size, JSON.stringify(metrics.paths));
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, receiver]);
  }
});

// The shape of a JSON value: objects' keys with their values' shapes, the distinct shapes of an
// array's elements; a scalar is a value (a round trip measured in one snapshot may be null in the
// next: the schema checks the scalars' types).
function shape(value) {
  if (Array.isArray(value)) return [...new Set(value.map((element) => JSON.stringify(shape(element))))].sort();
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((key) => [key, shape(value[key])]));
  return 'value';
}

test('Export metrics saves the snapshot as JSON, valid against docs/metrics.schema.json, on both pages', { timeout: 180_000 }, async (t) => {
  const schema = JSON.parse(readFileSync(join(repoRoot, 'docs/metrics.schema.json'), 'utf8'));
  const validate = new Ajv2020({ allErrors: true }).compile(schema);
  const file = await randomFile(fixture.dir, 'exported.bin', 2 * MiB);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, file.path);
      await receiveFile(receiver.page, link, subDir(fixture.dir, 'exported'));
      const { shareId } = await waitForState(receiver.page, (s) => s.phase === 'done');
      for (const [page, browser] of Object.entries({ receiver, sender })) {
        await browser.page.locator('#metrics summary').click();
        const downloading = browser.page.waitForEvent('download');
        await browser.page.getByRole('button', { name: 'Export metrics' }).click();
        const download = await downloading;
        assert.match(download.suggestedFilename(), new RegExp(`^swarmdrop-metrics-${shareId}-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}\\.[0-9]{3}Z\\.json$`));
        const path = join(subDir(fixture.dir, `export-${page}`), download.suggestedFilename());
        await download.saveAs(path);
        const exported = JSON.parse(readFileSync(path, 'utf8'));
        assert.ok(validate(exported), `${page}: ${JSON.stringify(validate.errors)}`);
        const live = await browser.page.evaluate(() => window.swarmdropMetrics());
        assert.ok(validate(live), `${page}, window.swarmdropMetrics(): ${JSON.stringify(validate.errors)}`);
        assert.deepEqual(shape(exported), shape(live));
        assert.deepEqual([exported.page, exported.shareId, exported.peerId, exported.share], [page, live.shareId, live.peerId, live.share]);
        t.diagnostic(`${page}: ${download.suggestedFilename()}, ${exported.peers.length} peers, ${exported.series.length} samples`);
      }
    }, { server: fixture.server });
  } finally {
    await closeAll([sender, receiver]);
  }
});
