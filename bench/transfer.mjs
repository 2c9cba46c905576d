#!/usr/bin/env node
// Browser-to-browser throughput through swarmdrop, against the browser's own ceiling measured in
// the same run: two RTCPeerConnections inside one page pushing the same bytes with the same
// message size and watermarks. Prints MB/s for both and the ratio.
//
//   scripts/in-netns.sh node bench/transfer.mjs [MiB]     (default 256; after scripts/test.sh)
import { rmSync } from 'node:fs';
import { BUFFERED_HIGH_WATERMARK, BUFFERED_LOW_WATERMARK, CHUNK_SIZE_CAP } from '../web/src/engine/config.js';
import { launchBrowser, randomFile, receiveFile, sha256File, shareFile, startServer, tempDir } from '../tests/e2e/harness.mjs';

const mib = Number(process.argv[2] || 256);
const size = mib << 20;
const MB = 1e6;

// Runs inside the page: one pc pair, one ordered channel, `total` bytes in `chunk`-byte messages
// with the client's watermarks; resolves to the seconds from first send to last byte received.
async function inPageCeiling({ total, chunk, high, low }) {
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const channel = a.createDataChannel('bench', { ordered: true });
  channel.binaryType = 'arraybuffer';
  channel.bufferedAmountLowThreshold = low;
  const received = new Promise((resolve) => {
    b.ondatachannel = ({ channel: incoming }) => {
      incoming.binaryType = 'arraybuffer';
      let got = 0;
      incoming.onmessage = (e) => { got += e.data.byteLength; if (got >= total) resolve(performance.now()); };
    };
  });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await new Promise((resolve) => { channel.onopen = resolve; });
  const size = Math.min(chunk, a.sctp.maxMessageSize);
  const payload = new Uint8Array(size);
  crypto.getRandomValues(payload.subarray(0, Math.min(size, 65536)));
  const start = performance.now();
  for (let sent = 0; sent < total; sent += size) {
    if (channel.bufferedAmount > high) await new Promise((resolve) => { channel.onbufferedamountlow = resolve; });
    channel.send(payload.subarray(0, Math.min(size, total - sent)));
  }
  const end = await received;
  a.close();
  b.close();
  return (end - start) / 1000;
}

const dir = tempDir('swarmdrop-bench-');
const server = await startServer();
const sender = await launchBrowser();
const receiver = await launchBrowser();
try {
  console.log(`swarmdrop transfer benchmark: ${mib} MiB, two Chromium processes`);
  const file = await randomFile(dir, 'bench.bin', size);
  const link = await shareFile(sender.page, server.url, file.path);
  const started = Date.now();
  const { path } = await receiveFile(receiver.page, link, dir, { timeout: 1_800_000 });
  const seconds = (Date.now() - started) / 1000;
  const intact = (await sha256File(path)) === file.sha256;
  const settings = { total: size, chunk: CHUNK_SIZE_CAP, high: BUFFERED_HIGH_WATERMARK, low: BUFFERED_LOW_WATERMARK };
  const ceilingSeconds = await sender.page.evaluate(inPageCeiling, settings);

  const swarmdropRate = size / MB / seconds;
  const ceilingRate = size / MB / ceilingSeconds;
  console.log(`swarmdrop, link opened to file saved: ${seconds.toFixed(2)} s, ${swarmdropRate.toFixed(1)} MB/s (SHA-256 ${intact ? 'matches' : 'DIFFERS'})`);
  console.log(`two RTCPeerConnections in one page:  ${ceilingSeconds.toFixed(2)} s, ${ceilingRate.toFixed(1)} MB/s`);
  console.log(`ratio swarmdrop / in-page ceiling:   ${(swarmdropRate / ceilingRate).toFixed(2)}`);
  if (!intact) process.exitCode = 1;
} finally {
  await sender.close();
  await receiver.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
