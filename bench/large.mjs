#!/usr/bin/env node
// Large shares: (1) the time from picking a 4 GiB file to a usable link (the sender must not read
// the file first), and (2) a 2 GiB transfer between two Chromium processes with throughput and
// the memory of both browsers sampled throughout (peak against the same browser idle).
//
//   scripts/in-netns.sh node bench/large.mjs [transfer MiB, default 2048] [link MiB, default 4096] [--json PATH]
// The link MiB may be a list, 1024,4096: each size's time to link, in turn.
//
// --json PATH writes these results (bench/lib/result.mjs):
//   linkSeconds[]: {mib, seconds}   picking a file of that size to its link
//   transfer.mib, .MBps             the transfer's size and throughput
//   transfer.receiverPeakMiB, .senderPeakMiB  each browser's peak memory (all processes, PSS)
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, randomFile, receiveFile, sha256File, shareFile, startServer, tempDir } from '../tests/e2e/harness.mjs';
import { jsonTarget, writeResult } from './lib/result.mjs';

const { path: jsonPath, args } = jsonTarget();
const transferMiB = Number(args[0] || 2048);
const linkSizes = (args[1] || '4096').split(',').map(Number);
if (!(transferMiB > 0) || !linkSizes.every((n) => n > 0)) throw new Error('usage: bench/large.mjs [transfer MiB] [link MiB[,MiB...]]');
const MiB = 1 << 20;
const fmt = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`;

// Samples fn() every `ms` until stop() and keeps the largest value (reading /proc for every
// process costs CPU: once a second disturbs the transfer little).
function peakOf(fn, ms = 1000) {
  let peak = fn();
  const timer = setInterval(() => { peak = Math.max(peak, fn()); }, ms);
  return () => { clearInterval(timer); return Math.max(peak, fn()); };
}

const dir = tempDir('swarmdrop-bench-');
const server = await startServer();
try {
  console.log(`swarmdrop large-share benchmark (2 cores; two Chromium processes)`);

  // (1) Time to link: a sparse file, so only what the sender reads is ever touched on disk.
  const linkSeconds = [];
  for (const linkMiB of linkSizes) {
    const big = join(dir, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, linkMiB * MiB);
    const owner = await launchBrowser();
    const picked = Date.now();
    const bigLink = await shareFile(owner.page, server.url, big);
    const seconds = (Date.now() - picked) / 1000;
    await owner.close();
    console.log(`time from picking a ${linkMiB} MiB file to its link: ${seconds.toFixed(2)} s (${bigLink.length} characters)`);
    rmSync(big);
    linkSeconds.push({ mib: linkMiB, seconds });
  }

  // (2) A transfer with memory sampled on both sides.
  const file = await randomFile(dir, 'large.bin', transferMiB * MiB);
  const sender = await launchBrowser();
  const receiver = await launchBrowser();
  try {
    await receiver.page.goto(server.url); // the page loaded, nothing received: the idle baseline
    const receiverIdle = receiver.memory();
    const senderIdle = sender.memory();
    const link = await shareFile(sender.page, server.url, file.path);
    const stopReceiver = peakOf(receiver.memory);
    const stopSender = peakOf(sender.memory);
    const started = Date.now();
    const { path } = await receiveFile(receiver.page, link, dir, { timeout: 3_600_000 });
    const seconds = (Date.now() - started) / 1000;
    const [receiverPeak, senderPeak] = [stopReceiver(), stopSender()];
    const intact = (await sha256File(path)) === file.sha256;
    console.log(`${transferMiB} MiB transfer: ${seconds.toFixed(1)} s, ${(file.size / 1e6 / seconds).toFixed(1)} MB/s, SHA-256 ${intact ? 'matches' : 'DIFFERS'}`);
    console.log(`receiving browser memory (all processes, PSS): idle ${fmt(receiverIdle)}, peak ${fmt(receiverPeak)}, growth ${fmt(receiverPeak - receiverIdle)}`);
    console.log(`sending browser memory   (all processes, PSS): idle ${fmt(senderIdle)}, peak ${fmt(senderPeak)}, growth ${fmt(senderPeak - senderIdle)}`);
    console.log(`growth / file size: receiver ${((receiverPeak - receiverIdle) / file.size).toFixed(3)}, sender ${((senderPeak - senderIdle) / file.size).toFixed(3)}`);
    writeResult(jsonPath, 'large', {
      linkSeconds,
      transfer: { mib: transferMiB, MBps: file.size / 1e6 / seconds, receiverPeakMiB: receiverPeak / MiB, senderPeakMiB: senderPeak / MiB },
    });
    if (!intact) process.exitCode = 1;
  } finally {
    await sender.close();
    await receiver.close();
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
