// The encrypted swarm (issue 3): the link's key is checked, receivers serve each other and every
// piece is verified (a peer that damages pieces is caught and routed around). Real Janus + nginx,
// one Chromium process per person.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import { MAX_BAD_PIECES, MAX_PEER_RECORDS } from '../../web/src/engine/config.js';
import {
  closeAll, janusSession, launchBrowser, randomFile, randomLinkSecret, receiveFile, serverFixture, sha256File, shareFile,
  startServer, subDir, waitForState, withStates,
} from './harness.mjs';

const MiB = 1 << 20;
const validateMetrics = new Ajv2020().compile(JSON.parse(readFileSync(new URL('../../docs/metrics.schema.json', import.meta.url))));

const fixture = serverFixture();

test('a link with a missing or wrong key says it is incomplete or wrong, with no progress shown', { timeout: 120_000 }, async () => {
  const file = await randomFile(fixture.dir, 'secret plans.bin', 2 * MiB);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    const link = await shareFile(sender.page, fixture.server.url, file.path);
    const base = link.slice(0, link.indexOf('#'));
    for (const wrong of [base, `${base}#`, `${base}#${link.slice(link.indexOf('#') + 1, -10)}`, `${base}#${randomLinkSecret()}`]) {
      await receiver.page.goto('about:blank'); // else a new fragment alone would not load the page again
      await receiver.page.goto(wrong);
      const error = receiver.page.locator('#error');
      await error.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await error.textContent(), /^This link is incomplete or wrong: /, wrong);
      assert.equal(await receiver.page.locator('#transfer').isHidden(), true, 'no progress bar for a wrong link');
      const state = await receiver.page.evaluate(() => window.swarmdrop);
      assert.equal(state.phase, 'error');
      assert.equal(state.fileName, null, 'nothing of the manifest is shown');
    }
  } finally {
    await closeAll([sender, receiver]);
  }
});

test('a receiver of a swarm with a damaging peer refuses its pieces, fetches them elsewhere and gets the file intact', { timeout: 600_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'swarmed.bin', 32 * MiB);
  const origin = await launchBrowser();
  const honest = await launchBrowser();
  const corrupting = await launchBrowser({ testHooks: { corruptServedPieces: true } });
  const newcomer = await launchBrowser();
  try {
    await withStates(t, { origin, honest, corrupting, newcomer }, async () => {
      const link = await shareFile(origin.page, fixture.server.url, file.path);
      // Two receivers complete first (the corrupting one only damages what it serves), and stay.
      for (const [name, receiver] of Object.entries({ honest, corrupting })) {
        const { path } = await receiveFile(receiver.page, link, subDir(fixture.dir, name));
        assert.equal(await sha256File(path), file.sha256);
      }

      const { path } = await receiveFile(newcomer.page, link, subDir(fixture.dir, 'newcomer'));
      assert.equal(await sha256File(path), file.sha256);
      const state = await newcomer.page.evaluate(() => window.swarmdrop);
      assert.equal(state.phase, 'done');
      assert.ok(state.badPieces > 0, `bad pieces detected: ${state.badPieces}`);
      const receivers = state.peers.filter((peer) => peer.role === 'receiver');
      const damaging = receivers.filter((peer) => peer.bad > 0);
      assert.equal(damaging.length, 1, `one receiver sent bad pieces: ${JSON.stringify(state.peers)}`);
      assert.equal(damaging[0].downloadedBytes > 0, true);
      assert.equal(state.peers.filter((peer) => peer.bad > 0).reduce((sum, peer) => sum + peer.bad, 0), state.badPieces);
      assert.equal(state.peers.find((peer) => peer.role === 'owner').bad, 0);
      // Receivers serve each other: the honest one sent the newcomer pieces too.
      const honestPeer = receivers.find((peer) => peer.bad === 0);
      assert.ok(honestPeer?.downloadedBytes > 0, `the honest receiver served pieces: ${JSON.stringify(state.peers)}`);
      await newcomer.page.locator('#bad-pieces').waitFor({ state: 'visible' });
      // The metrics object (docs/metrics.md) tells the same story, and fits its schema.
      const metrics = await newcomer.page.evaluate(() => window.swarmdropMetrics());
      const { totals } = metrics;
      t.diagnostic(`newcomer metrics totals: ${JSON.stringify(totals)}`);
      assert.equal(validateMetrics(metrics), true, JSON.stringify(validateMetrics.errors));
      // Counted apart, by the sending member's role: they agree with the rows (kept for the latest
      // MAX_PEER_RECORDS members, more than these) and with the state's count of piece bytes.
      assert.ok(metrics.peers.length < MAX_PEER_RECORDS);
      const receivedFrom = (role) => metrics.peers.filter((peer) => peer.role === role).reduce((sum, peer) => sum + peer.received, 0);
      assert.equal(totals.fromOrigin, receivedFrom('owner'));
      assert.equal(totals.fromPeers, receivedFrom('receiver'));
      assert.equal(totals.fromOrigin + totals.fromPeers, state.downloadedBytes);
      assert.equal(totals.received, state.downloadedBytes);
      assert.ok(totals.fromPeers > 0 && totals.offload > 0, 'other receivers served some');
      assert.equal(totals.badPieces, state.badPieces);
      // The one banned row, if any, is the damaging browser's (its own member id), for its pieces.
      const corruptingId = await corrupting.page.evaluate(() => window.swarmdrop.peerId);
      assert.deepEqual(
        metrics.peers.filter((peer) => peer.banned).map(({ peer, ban }) => [peer, ban]),
        state.badPieces >= MAX_BAD_PIECES ? [[corruptingId, 'bad-pieces']] : [],
      );
      const originMetrics = await origin.page.evaluate(() => window.swarmdropMetrics());
      t.diagnostic(`origin metrics totals: ${JSON.stringify(originMetrics.totals)}`);
      assert.equal(validateMetrics(originMetrics), true, JSON.stringify(validateMetrics.errors));
      assert.ok(originMetrics.totals.copies >= 3, 'the origin and the two first receivers hold it all');
    });
  } finally {
    await closeAll([origin, honest, corrupting, newcomer]);
  }
});

test('a receiver\'s links follow the tracker: at most max_links to other receivers, and its reports reach the plugin', { timeout: 240_000 }, async (t) => {
  const jcfg = join(fixture.dir, 'tracker.jcfg');
  writeFileSync(jcfg, 'general: {\n  max_links_per_member = 2\n  report_interval_seconds = 1\n}\n');
  const server = await startServer({ pluginJcfg: jcfg });
  const file = await randomFile(fixture.dir, 'tracked.bin', 8 * MiB);
  const origin = await launchBrowser();
  const receivers = await Promise.all([0, 1, 2, 3].map(() => launchBrowser()));
  // Each page keeps the most links to other receivers it held at once (open or being set up).
  for (const browser of receivers) {
    await browser.context.addInitScript(() => {
      window.mostReceiverLinks = 0;
      setInterval(() => {
        const linked = (window.swarmdrop?.peers ?? []).filter((peer) => peer.role === 'receiver' && ['connecting', 'open'].includes(peer.phase));
        window.mostReceiverLinks = Math.max(window.mostReceiverLinks, linked.length);
      }, 20);
    });
  }
  const browsers = { origin, ...Object.fromEntries(receivers.map((browser, i) => [`receiver${i}`, browser])) };
  const session = await janusSession(server.wsUrl);
  try {
    await withStates(t, browsers, async () => {
      const link = await shareFile(origin.page, server.url, file.path);
      const share = new URL(link).pathname.split('/').pop();
      const saved = await Promise.all(receivers.map((browser, i) => receiveFile(browser.page, link, subDir(fixture.dir, `tracked${i}`))));
      for (const { path } of saved) assert.equal(await sha256File(path), file.sha256);
      const ids = [];
      for (const browser of receivers) {
        const state = await waitForState(browser.page, (s) => s.phase === 'done');
        ids.push(state.peerId);
        const most = await browser.page.evaluate(() => window.mostReceiverLinks);
        assert.ok(most >= 1 && most <= 2, `${state.peerId} held ${most} links to receivers at once`);
        assert.ok(state.peers.some((peer) => peer.role === 'owner'), 'the owner is linked besides');
      }
      // A member that asks sees the cap, and the receivers' reports: each is complete.
      const joined = await session.request({ request: 'join', share });
      assert.equal(joined.max_links, 2);
      let listed;
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 500))) {
        listed = await session.request({ request: 'list', share });
        if (ids.every((id) => listed.peers.some((peer) => peer.peer === id && peer.complete === true))) break;
      }
      t.diagnostic(`list: ${JSON.stringify(listed.peers)}`);
      for (const id of ids) assert.ok(listed.peers.some((peer) => peer.peer === id && peer.complete === true), `${id} reported complete`);
    }, { server });
  } finally {
    session.close();
    await closeAll([origin, ...receivers]);
    await server.stop();
  }
});
