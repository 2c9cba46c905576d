// Peers chosen by proximity (issue 11): two sites, each behind its own router with its own public
// address and, in the fixture location database, its own operator and country; fast inside a site,
// 50 Mbit/s between each site and the internet (tests/lab/sites.sh, tbf). The origin and two
// receivers in site A, three receivers in site B (joining just after A's), every browser a host of
// its own, all knowing the lab's STUN server (their public address is what they report to the
// tracker). The bytes that came into site B (its router's wan interface) over the file's size:
// with ranking on, B's receivers should fetch the file into the site about once and share it
// inside; the same lab with `rank_peers = false` shows what ignoring proximity costs (printed,
// not asserted).
// Cross-site links between two NATs usually fail and go through the plugin's relay: those bytes
// cross into site B too, and count.
//
// Needs root:  node --test --test-concurrency=1 --test-reporter=spec tests/lab/proximity.test.mjs
// PROXIMITY_MIB: the file's size (default 32); PROXIMITY_SETTINGS: more plugin settings for both
// runs, e.g. "max_links_per_member=2,tracker_list_size=4" (with 6 members and the default cap of 8
// links every member links to every other, so only the order of the list and the scheduler matter).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  closeAll, randomFile, receiveFile, sha256File, shareFile, subDir, tempDir, waitForState, withStates,
} from '../e2e/harness.mjs';
import { fixtureLocationDb, labJcfg, startSites } from './sites.mjs';

const MiB = 1 << 20;
const SIZE = Number(process.env.PROXIMITY_MIB || 32) * MiB;
const ORIGIN = 'a1';
const RECEIVERS = ['a2', 'a3', 'b1', 'b2', 'b3'];
const site = (host) => host[0];
const extraSettings = Object.fromEntries((process.env.PROXIMITY_SETTINGS || '').split(',').filter(Boolean).map((pair) => pair.split('=')));

let lab;
let dir;
let file;
let locationDb;

before(async () => {
  lab = await startSites({ hosts: ['a=3', 'b=3'], siteMbit: 50 });
  dir = tempDir('swarmdrop-proximity-');
  file = await randomFile(dir, 'proximity.bin', SIZE);
  locationDb = fixtureLocationDb(dir);
  // TCP into site B (pages, signalling) counted apart from the WebRTC traffic (UDP).
  lab.exec('rb', 'iptables', '-A', 'FORWARD', '-i', 'wan0', '-p', 'tcp');
});

after(async () => {
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tcpIntoB = () => Number(/^\s*\d+\s+(\d+)\s/m.exec(lab.exec('rb', 'iptables', '-nvxL', 'FORWARD'))[1]);

// Keeps the first peer list the plugin gave the page (join's answer: each entry's peer and tier) as
// window.firstList, to show what the tracker ranked.
async function watchTracker(browser) {
  await browser.context.addInitScript(() => {
    const Native = WebSocket;
    globalThis.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', ({ data }) => {
          if (globalThis.firstList || typeof data !== 'string' || !data.includes('"joined"')) return;
          const peers = JSON.parse(data).plugindata?.data?.peers;
          if (peers) globalThis.firstList = peers.map(({ peer, tier }) => ({ peer, tier }));
        });
      }
    };
  });
  return browser;
}

// One run of the lab with these plugin settings: the file from a1 to the five receivers joining
// together, every copy's SHA-256 checked. Resolves to what crossed into site B and who served whom.
async function run(t, settings) {
  const server = await lab.serve({ pluginJcfg: labJcfg(join(dir, 'plugin.jcfg'), { ...settings, ...extraSettings }) });
  t.diagnostic(`plugin settings: ${JSON.stringify({ ...settings, ...extraSettings })}`);
  const hosts = [ORIGIN, ...RECEIVERS];
  const browsers = Object.fromEntries(await Promise.all(hosts.map(async (host) => [host, await watchTracker(await lab.browserOn(host, server.url))])));
  try {
    let result;
    await withStates(t, browsers, async () => {
      // The app's assets into every receiver first (they are cached): what is counted is the share.
      await Promise.all(RECEIVERS.map((host) => browsers[host].page.goto(server.url)));
      const link = await shareFile(browsers[ORIGIN].page, server.url, file.path);
      const [rxBefore, tcpBefore, started] = [lab.counter('rb', 'wan0', 'rx'), tcpIntoB(), Date.now()];
      // Site A's receivers join first, then site B's: in joining order (ranking off) B's would
      // find A's members first every time rather than by the luck of who joined first.
      const receiving = (host) => receiveFile(browsers[host].page, link, subDir(dir, `${host}-${Date.now()}`)).then(async ({ path }) => {
        assert.equal(await sha256File(path), file.sha256, `${host}'s copy`);
        rmSync(path);
      });
      const first = RECEIVERS.filter((host) => site(host) === 'a').map(receiving);
      for (const receipt of first) receipt.catch(() => {}); // awaited below; not unhandled meanwhile
      await Promise.all(RECEIVERS.filter((host) => site(host) === 'a').map((host) => waitForState(browsers[host].page, (s) => s.peerId)));
      await Promise.all([...first, ...RECEIVERS.filter((host) => site(host) === 'b').map(receiving)]);
      const seconds = (Date.now() - started) / 1000;
      const [rx, tcp] = [lab.counter('rb', 'wan0', 'rx') - rxBefore, tcpIntoB() - tcpBefore];
      const states = Object.fromEntries(await Promise.all(hosts.map(async (host) => [host, await browsers[host].page.evaluate(() => ({ ...window.swarmdrop, firstList: window.firstList }))])));
      result = { seconds, rx, tcp, states };
    }, { server });
    return summarize(result);
  } finally {
    await closeAll(Object.values(browsers));
    await server.stop();
  }
}

// Who served what to site B's receivers (their engines' per-peer counts), the origin's upload,
// and the paths the receivers' links took.
function summarize({ seconds, rx, tcp, states }) {
  const hostOf = new Map(Object.entries(states).map(([host, state]) => [state.peerId, host]));
  const served = []; // {from, to, bytes}
  const paths = {}; // "<from site><to site> <path>" -> links of the receivers
  for (const to of RECEIVERS) {
    for (const peer of states[to].peers ?? []) {
      const from = hostOf.get(peer.peer) ?? `?${peer.peer}`;
      if (peer.downloadedBytes > 0) served.push({ from, to, bytes: peer.downloadedBytes });
      const key = `${site(from)}${site(to)} ${peer.path}`;
      paths[key] = (paths[key] ?? 0) + 1;
    }
  }
  const intoB = served.filter(({ from, to }) => site(from) !== 'b' && site(to) === 'b').reduce((sum, { bytes }) => sum + bytes, 0);
  const originSent = Object.values(states[ORIGIN].paths ?? {}).reduce((sum, { sent }) => sum + sent, 0);
  const lists = RECEIVERS.filter((host) => site(host) === 'b')
    .map((host) => `${host}: ${(states[host].firstList ?? []).map(({ peer, tier }) => `${hostOf.get(peer) ?? '?'} ${tier ?? '-'}`).join(', ')}`);
  return { seconds, copies: rx / SIZE, tcpCopies: tcp / SIZE, appCopiesIntoB: intoB / SIZE, originCopies: originSent / SIZE, served, paths, lists };
}

function report(t, label, r) {
  const lines = [
    `${label}: ${r.copies.toFixed(2)} copies came into site B (wire bytes on its router's wan0; TCP ${r.tcpCopies.toFixed(3)} of them), `
      + `${r.appCopiesIntoB.toFixed(2)} copies of piece bytes from site A to B's receivers (their engines' counts), `
      + `origin uploaded ${r.originCopies.toFixed(2)} copies, all done in ${r.seconds.toFixed(1)} s (${SIZE / MiB} MiB)`,
    `${label}: piece MiB by link: ${r.served.map(({ from, to, bytes }) => `${from}->${to} ${(bytes / MiB).toFixed(1)}`).sort().join(', ')}`,
    `${label}: receivers' links by sites and path: ${JSON.stringify(r.paths)}`,
    `${label}: site B's first lists from the tracker (join): ${r.lists.join('; ')}`,
  ];
  for (const line of lines) t.diagnostic(line);
}

test('ranking on (the default limits and the fixture location database): fewer than 1.3 copies of the file cross into site B', { timeout: 300_000 }, async (t) => {
  const settings = locationDb.path ? { location_database: JSON.stringify(locationDb.path) } : {};
  if (!locationDb.path) t.diagnostic(`no location database (${locationDb.why}): the tiers come from the addresses alone`);
  const result = await run(t, settings);
  report(t, 'ranking on', result);
  assert.ok(result.copies < 1.3, `${result.copies.toFixed(2)} copies came into site B`);
});

test('ranking off (rank_peers = false): what crossing into site B costs, printed', { timeout: 300_000 }, async (t) => {
  const settings = { rank_peers: 'false', ...(locationDb.path ? { location_database: JSON.stringify(locationDb.path) } : {}) };
  report(t, 'ranking off', await run(t, settings));
});
