#!/usr/bin/env node
// The relay through the plugin against a TURN relay (coturn), in the NAT lab, in one run:
//   1. 1:1 between two browsers behind symmetric NATs: MB/s through the plugin vs through TURN;
//   2. one sender to four receivers with the sender's uplink shaped by tbf: seconds until all
//      four have the file through the plugin vs through TURN (the receivers swarm in both), and
//      how many times the file the sender's host uploaded meanwhile (its router's counters).
// Needs root (namespaces, tc). Every transfer's SHA-256 is checked.
//
//   node bench/relay.mjs [MiB 1:1] [MiB 1:4] [uplink Mbit/s]     (defaults 64 16 40)
import { rmSync } from 'node:fs';
import {
  closeAll, randomFile, receiveFile, sha256File, shareFile, subDir, tempDir, waitForState,
} from '../tests/e2e/harness.mjs';
import { startLab, useTurn } from '../tests/lab/lab.mjs';

const [oneMiB, fanMiB, uplinkMbit] = [64, 16, 40].map((fallback, i) => Number(process.argv[2 + i] || fallback));
const MB = 1e6;
const RECEIVERS = 4;

const lab = await startLab({ turn: true });
const dir = tempDir('swarmdrop-bench-relay-');

// A browser on a lab host that reaches others only through the plugin (relay-only) or only
// through TURN.
async function browser(node, via) {
  const made = await lab.browserOn(node, { relayOnly: via === 'plugin' });
  return via === 'turn' ? useTurn(made) : made;
}

// Bytes that left the sender's host (hA) so far: what its router sent out to the internet side.
const senderUpload = () => Number(lab.exec('rA', 'cat', '/sys/class/net/wan0/statistics/tx_bytes').toString().trim());

// Seconds from the receivers opening the link to the last of them holding the whole file, and
// the bytes the sender's host uploaded meanwhile.
async function timeTransfer(file, via, receiverCount) {
  const sender = await browser('hA', via);
  const receivers = [];
  for (let i = 0; i < receiverCount; i++) receivers.push(await browser('hB', via));
  try {
    const link = await shareFile(sender.page, lab.server.url, file.path);
    const uploadedBefore = senderUpload();
    const start = performance.now();
    const saved = await Promise.all(receivers.map((r, i) => receiveFile(r.page, link, subDir(dir, `${via}-${receiverCount}-${i}`))));
    const seconds = (performance.now() - start) / 1000;
    const uploaded = senderUpload() - uploadedBefore;
    for (const { path } of saved) {
      if ((await sha256File(path)) !== file.sha256) throw new Error(`${via}: a receiver's file differs`);
    }
    const paths = await Promise.all(receivers.map((r) => waitForState(r.page, (s) => s.phase === 'done')));
    const expected = via === 'plugin' ? 'relay' : 'turn';
    if (!paths.every((s) => s.peers.every((p) => p.path === expected))) throw new Error(`${via}: a link took another path`);
    return { seconds, uploaded };
  } finally {
    await closeAll([sender, ...receivers]);
  }
}

try {
  const one = await randomFile(dir, 'one.bin', oneMiB << 20);
  const { seconds: pluginOne } = await timeTransfer(one, 'plugin', 1);
  const { seconds: turnOne } = await timeTransfer(one, 'turn', 1);
  const rate = (seconds) => (one.size / MB / seconds).toFixed(1);
  console.log(`1:1, ${oneMiB} MiB between two symmetric NATs:`);
  console.log(`  through the plugin  ${rate(pluginOne)} MB/s (${pluginOne.toFixed(1)} s)`);
  console.log(`  through TURN        ${rate(turnOne)} MB/s (${turnOne.toFixed(1)} s)`);
  console.log(`  plugin / TURN       ${(turnOne / pluginOne).toFixed(2)}`);

  const fan = await randomFile(dir, 'fan.bin', fanMiB << 20);
  lab.exec('rA', 'tc', 'qdisc', 'add', 'dev', 'wan0', 'root', 'tbf', 'rate', `${uplinkMbit}mbit`, 'burst', '64kb', 'latency', '50ms');
  const pluginFan = await timeTransfer(fan, 'plugin', RECEIVERS);
  const turnFan = await timeTransfer(fan, 'turn', RECEIVERS);
  const copies = ({ uploaded }) => (uploaded / fan.size).toFixed(2);
  console.log(`1 sender (uplink ${uplinkMbit} Mbit/s) to ${RECEIVERS} receivers, ${fanMiB} MiB:`);
  console.log(`  all done through the plugin  ${pluginFan.seconds.toFixed(1)} s, the sender uploaded ${copies(pluginFan)} times the file`);
  console.log(`  all done through TURN        ${turnFan.seconds.toFixed(1)} s, the sender uploaded ${copies(turnFan)} times the file`);
  console.log(`  plugin / TURN time           ${(pluginFan.seconds / turnFan.seconds).toFixed(2)}`);
} finally {
  await lab.stop();
  rmSync(dir, { recursive: true, force: true });
}
