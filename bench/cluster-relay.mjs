#!/usr/bin/env node
// The relay across two Janus nodes (issue 16) against the relay on one node, in one run: two
// relay-only Chromium browsers (they never link directly) send a file through the plugin, first
// both on node a, then the sender on a and the receiver on b, so every frame crosses nats-server
// and every credit comes back through it. Each pairing is timed from the link being opened to the
// receiver's browser saving the file (SHA-256 checked); beside it, the CPU seconds per GB
// received of each Janus and of nats-server. Runs --runs times, pairings in turn.
// Browsers reach the nodes through nginx, each pinned to its node by its cookie; under
// scripts/in-netns.sh (loopback in a namespace of its own, no shaping).
//
//   scripts/in-netns.sh node bench/cluster-relay.mjs [--mib 64] [--runs 2]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  closeAll, launchBrowser, pinBrowser, randomFile, receiveFile, sha256File, shareFile, startServer, subDir, tempDir,
  watchPeerConnections,
} from '../tests/e2e/harness.mjs';
import { processCpu } from './lib/cpu.mjs';

const { values: options } = parseArgs({ options: { mib: { type: 'string', default: '64' }, runs: { type: 'string', default: '2' } } });
const mib = Number(options.mib);
const runs = Number(options.runs);
if (!(Number.isInteger(mib) && mib > 0 && Number.isInteger(runs) && runs > 0)) {
  throw new Error('usage: node bench/cluster-relay.mjs [--mib 64] [--runs 2]');
}
const GB = 1e9;

const server = await startServer({ nodes: 2 });
const dir = tempDir('swarmdrop-bench-cluster-relay-');
const file = await randomFile(dir, 'relayed.bin', mib << 20);
const processes = () => ({ a: server.nodes[0].pid(), b: server.nodes[1].pid(), nats: server.engine.pid() });

async function relayOnlyOn(node) {
  const browser = await watchPeerConnections(await launchBrowser(), { relayOnly: true });
  await pinBrowser(browser, node, server.url);
  return browser;
}

// One transfer, sender on node a, receiver on `receiverNode`: {seconds, cpu: {a, b, nats} per GB}.
async function transfer(receiverNode, run) {
  const sender = await relayOnlyOn('a');
  const receiver = await relayOnlyOn(receiverNode);
  try {
    const link = await shareFile(sender.page, server.url, file.path);
    const pids = processes();
    const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpu(pid)]));
    const started = performance.now();
    const saved = await receiveFile(receiver.page, link, subDir(dir, `${receiverNode}-${run}`));
    const seconds = (performance.now() - started) / 1000;
    if ((await sha256File(saved.path)) !== file.sha256) throw new Error('the received file differs');
    const cpu = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, (processCpu(pid) - before[name]) / (file.size / GB)]));
    return { seconds, cpu };
  } finally {
    await closeAll([sender, receiver]);
  }
}

const rows = [];
try {
  for (let run = 1; run <= runs; run += 1) {
    for (const [pairing, node] of [['one node', 'a'], ['two nodes', 'b']]) {
      const { seconds, cpu } = await transfer(node, run);
      rows.push({ run, pairing, seconds, cpu });
      console.log(`run ${run}, ${pairing}: ${mib} MiB in ${seconds.toFixed(1)} s, ${(file.size / seconds / 1e6).toFixed(2)} MB/s; ` +
        `CPU s/GB: Janus a ${cpu.a.toFixed(1)}, Janus b ${cpu.b.toFixed(1)}, nats-server ${cpu.nats.toFixed(1)}`);
    }
    const [one, two] = rows.slice(-2);
    console.log(`run ${run}: two nodes / one node, time ${(two.seconds / one.seconds).toFixed(2)}; ` +
      `Janus CPU per GB (both nodes) ${((two.cpu.a + two.cpu.b) / (one.cpu.a + one.cpu.b)).toFixed(2)}`);
  }
} finally {
  await server.stop();
}
