// The two-site proximity run shared by tests/lab/proximity.test.mjs (which asserts on it) and
// bench/proximity.mjs (which measures it for the report): the lab of tests/lab/sites.sh with two
// sites, each behind its own router with its own public address and, in the fixture location
// database, its own operator and country; fast inside a site, `siteMbit` between each site and the
// internet. The origin and two receivers in site A, three receivers in site B (joining just after
// A's), every browser a host of its own, all knowing the lab's STUN server (their public address is
// what they report to the tracker). What crosses into site B is counted on its router's wan
// interface: with ranking on, B's receivers should fetch the file into the site about once and
// share it inside. Cross-site links between two NATs usually fail and go through the plugin's relay:
// those bytes cross into site B too, and count.
// Needs root.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  closeAll, randomFile, receiveFile, sha256File, shareFile, subDir, tempDir, waitForState, withStates,
} from '../e2e/harness.mjs';
import { fixtureLocationDb, labJcfg, startSites } from './sites.mjs';

const ORIGIN = 'a1';
const RECEIVERS = ['a2', 'a3', 'b1', 'b2', 'b3'];
const site = (host) => host[0];

// Starts the lab and makes a random file of `size` bytes; resolves to {run(settings, log), stop()}.
// run: one share of the file with these plugin settings (key -> libconfig literal; the fixture
// location database is added when it can be made), every copy's SHA-256 checked; resolves to the
// summary below. log(line): what happened, for a test's diagnostics or a bench's output.
export async function proximityLab({ size, siteMbit = 50 }) {
  const lab = await startSites({ hosts: ['a=3', 'b=3'], siteMbit });
  const dir = tempDir('swarmdrop-proximity-');
  const stop = async () => {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const file = await randomFile(dir, 'proximity.bin', size);
    const locationDb = fixtureLocationDb(dir);
    // TCP into site B (pages, signalling) counted apart from the WebRTC traffic (UDP).
    lab.exec('rb', 'iptables', '-A', 'FORWARD', '-i', 'wan0', '-p', 'tcp');
    const tcpIntoB = () => Number(/^\s*\d+\s+(\d+)\s/m.exec(lab.exec('rb', 'iptables', '-nvxL', 'FORWARD'))[1]);
    const run = async (settings, log) => {
      const all = { ...settings, ...(locationDb.path ? { location_database: JSON.stringify(locationDb.path) } : {}) };
      if (!locationDb.path) log(`no location database (${locationDb.why}): the tiers come from the addresses alone`);
      log(`plugin settings: ${JSON.stringify(all)}`);
      const server = await lab.serve({ pluginJcfg: labJcfg(join(dir, 'plugin.jcfg'), all) });
      return summarize(await share({ lab, server, dir, file, tcpIntoB, log }), size);
    };
    return { run, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

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

// The file from a1 to the five receivers joining together: {seconds, rx, tcp, states}.
async function share({ lab, server, dir, file, tcpIntoB, log }) {
  const hosts = [ORIGIN, ...RECEIVERS];
  const browsers = Object.fromEntries(await Promise.all(hosts.map(async (host) => [host, await watchTracker(await lab.browserOn(host, server.url))])));
  try {
    let result;
    await withStates({ diagnostic: log }, browsers, async () => {
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
    return result;
  } finally {
    await closeAll(Object.values(browsers));
    await server.stop();
  }
}

// Who served what to site B's receivers (their engines' per-peer counts), the origin's upload,
// and the paths the receivers' links took:
//   seconds           from the first receiver opening the link to the last holding the file
//   copies            bytes that came into site B (its router's wan0, all traffic) / the file's size
//   tcpCopies         of those, TCP (pages, signalling)
//   appCopiesIntoB    piece bytes from site A's members to B's receivers (their engines) / size
//   originCopies      what the origin uploaded / size
//   served, paths, lists: who served whom, the receivers' links by path, B's first peer lists
function summarize({ seconds, rx, tcp, states }, size) {
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
  return { seconds, copies: rx / size, tcpCopies: tcp / size, appCopiesIntoB: intoB / size, originCopies: originSent / size, served, paths, lists };
}

// The summary as lines for people.
export function describe(label, r, size) {
  const MiB = 1 << 20;
  return [
    `${label}: ${r.copies.toFixed(2)} copies came into site B (wire bytes on its router's wan0; TCP ${r.tcpCopies.toFixed(3)} of them), `
      + `${r.appCopiesIntoB.toFixed(2)} copies of piece bytes from site A to B's receivers (their engines' counts), `
      + `origin uploaded ${r.originCopies.toFixed(2)} copies, all done in ${r.seconds.toFixed(1)} s (${size / MiB} MiB)`,
    `${label}: piece MiB by link: ${r.served.map(({ from, to, bytes }) => `${from}->${to} ${(bytes / MiB).toFixed(1)}`).sort().join(', ')}`,
    `${label}: receivers' links by sites and path: ${JSON.stringify(r.paths)}`,
    `${label}: site B's first lists from the tracker (join): ${r.lists.join('; ')}`,
  ];
}
