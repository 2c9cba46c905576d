#!/usr/bin/env node
// The relay through the plugin against a TURN relay (coturn), in the NAT lab, in one run:
//   1. 1:1 between two browsers behind symmetric NATs: MB/s through the plugin vs through TURN;
//   2. one sender to four receivers with the sender's uplink shaped by tbf: seconds until all
//      four have the file through the plugin vs through TURN (the receivers swarm in both), and
//      how many times the file the sender's host uploaded meanwhile (its router's counters).
// Beside each, the relaying server's CPU seconds (user + system, /proc) per GB the receivers got
// (file size x receivers): Janus's for the plugin, coturn's for TURN (Janus then only signals).
// And how many cores the whole machine kept busy meanwhile (/proc/stat): 5 browsers share 2.
// Needs root (namespaces, tc). Every transfer's SHA-256 is checked.
//
//   node bench/relay.mjs [MiB 1:1] [MiB 1:4] [uplink Mbit/s] [--json PATH]     (defaults 64 16 40)
//
// --json PATH writes these results (bench/lib/result.mjs):
//   oneToOne.mib, .pluginMBps, .turnMBps    the 1:1 file's size; MB/s through the plugin, TURN
//   oneToOne.speedup                        TURN time / plugin time
//   oneToOne.janusCpuPerGB, .coturnCpuPerGB the relaying server's CPU seconds per GB received
//   fanOut.mib, .uplinkMbit, .receivers     the 1:4 file's size, the sender's uplink, receivers
//   fanOut.pluginSeconds, .turnSeconds      until every receiver had the file
//   fanOut.speedup                          TURN time / plugin time
//   fanOut.pluginCopies, .turnCopies        bytes the sender's host uploaded / the file's size
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  closeAll, processTree, randomFile, receiveFile, sha256File, shareFile, subDir, tempDir, waitForState,
} from '../tests/e2e/harness.mjs';
import { startLab, useTurn } from '../tests/lab/lab.mjs';
import { cpuMeter } from './lib/cpu.mjs';
import { jsonTarget, writeResult } from './lib/result.mjs';

const { path: jsonPath, args } = jsonTarget();
const [oneMiB, fanMiB, uplinkMbit] = [64, 16, 40].map((fallback, i) => Number(args[i] || fallback));
const MB = 1e6;
const GB = 1e9;
const RECEIVERS = 4;

const lab = await startLab({ turn: true });
const dir = tempDir('swarmdrop-bench-relay-');

// A browser on a lab host that reaches others only through the plugin (relay-only) or only
// through TURN.
async function browser(node, via) {
  const made = await lab.browserOn(node, { relayOnly: via === 'plugin' });
  return via === 'turn' ? useTurn(made) : made;
}

// CPU seconds (user + system, all threads) a process used so far.
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString());
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks; // fields 14 and 15 of proc(5)
}
// The process that relays for `via`: Janus (its pid file is scripts/serve.sh's), or coturn, a
// child of this process (startLab spawns it through `ip netns exec`, which execs it).
function relayPid(via) {
  if (via === 'plugin') return Number(readFileSync(join(lab.server.stateDir, 'janus.pid'), 'utf8'));
  const pid = processTree(process.pid).find((candidate) => {
    try {
      return readFileSync(`/proc/${candidate}/comm`, 'utf8').trim() === 'turnserver';
    } catch {
      return false; // it ended while we looked
    }
  });
  if (!pid) throw new Error('no turnserver process under this one');
  return pid;
}

// Bytes that left the sender's host (hA) so far: what its router sent out to the internet side.
const senderUpload = () => Number(lab.exec('rA', 'cat', '/sys/class/net/wan0/statistics/tx_bytes').toString().trim());

// Seconds from the receivers opening the link to the last of them holding the whole file, the
// bytes the sender's host uploaded meanwhile, and the relaying server's CPU seconds per GB the
// receivers got (Janus's through the plugin, coturn's through TURN), and the cores the machine
// kept busy meanwhile.
async function timeTransfer(file, via, receiverCount) {
  const sender = await browser('hA', via);
  const receivers = [];
  for (let i = 0; i < receiverCount; i++) receivers.push(await browser('hB', via));
  try {
    const link = await shareFile(sender.page, lab.server.url, file.path);
    const uploadedBefore = senderUpload();
    const relay = relayPid(via);
    const cpuBefore = cpuSeconds(relay);
    const busy = cpuMeter(); // the whole machine: browsers, Janus, coturn
    const start = performance.now();
    const saved = await Promise.all(receivers.map((r, i) => receiveFile(r.page, link, subDir(dir, `${via}-${receiverCount}-${i}`))));
    const seconds = (performance.now() - start) / 1000;
    const uploaded = senderUpload() - uploadedBefore;
    const cpuPerGB = (cpuSeconds(relay) - cpuBefore) / ((file.size * receiverCount) / GB);
    const cores = busy() * availableParallelism();
    for (const { path } of saved) {
      if ((await sha256File(path)) !== file.sha256) throw new Error(`${via}: a receiver's file differs`);
    }
    const paths = await Promise.all(receivers.map((r) => waitForState(r.page, (s) => s.phase === 'done')));
    const expected = via === 'plugin' ? 'relay' : 'turn';
    if (!paths.every((s) => s.peers.every((p) => p.path === expected))) throw new Error(`${via}: a link took another path`);
    return { seconds, uploaded, cpuPerGB, cores };
  } finally {
    await closeAll([sender, ...receivers]);
  }
}

try {
  const one = await randomFile(dir, 'one.bin', oneMiB << 20);
  const pluginOne = await timeTransfer(one, 'plugin', 1);
  const turnOne = await timeTransfer(one, 'turn', 1);
  const rate = ({ seconds }) => (one.size / MB / seconds).toFixed(1);
  const cpu = ({ cpuPerGB, cores }) => `${cpuPerGB.toFixed(1)} s/GB; cores busy ${cores.toFixed(2)} of ${availableParallelism()}`;
  console.log(`1:1, ${oneMiB} MiB between two symmetric NATs:`);
  console.log(`  through the plugin  ${rate(pluginOne)} MB/s (${pluginOne.seconds.toFixed(1)} s), Janus CPU ${cpu(pluginOne)}`);
  console.log(`  through TURN        ${rate(turnOne)} MB/s (${turnOne.seconds.toFixed(1)} s), coturn CPU ${cpu(turnOne)}`);
  console.log(`  speed-up, TURN time / plugin time  ${(turnOne.seconds / pluginOne.seconds).toFixed(2)}`);

  const fan = await randomFile(dir, 'fan.bin', fanMiB << 20);
  lab.exec('rA', 'tc', 'qdisc', 'add', 'dev', 'wan0', 'root', 'tbf', 'rate', `${uplinkMbit}mbit`, 'burst', '64kb', 'latency', '50ms');
  const pluginFan = await timeTransfer(fan, 'plugin', RECEIVERS);
  const turnFan = await timeTransfer(fan, 'turn', RECEIVERS);
  const copies = ({ uploaded }) => (uploaded / fan.size).toFixed(2);
  console.log(`1 sender (uplink ${uplinkMbit} Mbit/s) to ${RECEIVERS} receivers, ${fanMiB} MiB:`);
  console.log(`  all done through the plugin  ${pluginFan.seconds.toFixed(1)} s, the sender uploaded ${copies(pluginFan)} times the file, Janus CPU ${cpu(pluginFan)}`);
  console.log(`  all done through TURN        ${turnFan.seconds.toFixed(1)} s, the sender uploaded ${copies(turnFan)} times the file, coturn CPU ${cpu(turnFan)}`);
  console.log(`  speed-up, TURN time / plugin time  ${(turnFan.seconds / pluginFan.seconds).toFixed(2)}`);
  writeResult(jsonPath, 'relay', {
    oneToOne: {
      mib: oneMiB,
      pluginMBps: one.size / MB / pluginOne.seconds,
      turnMBps: one.size / MB / turnOne.seconds,
      speedup: turnOne.seconds / pluginOne.seconds,
      janusCpuPerGB: pluginOne.cpuPerGB,
      coturnCpuPerGB: turnOne.cpuPerGB,
    },
    fanOut: {
      mib: fanMiB,
      uplinkMbit,
      receivers: RECEIVERS,
      pluginSeconds: pluginFan.seconds,
      turnSeconds: turnFan.seconds,
      speedup: turnFan.seconds / pluginFan.seconds,
      pluginCopies: pluginFan.uploaded / fan.size,
      turnCopies: turnFan.uploaded / fan.size,
    },
  });
} finally {
  await lab.stop();
  rmSync(dir, { recursive: true, force: true });
}
