#!/usr/bin/env node
// P2P against the cloud way (issue 15, comparison 1), in one run over the same shaped links:
//   p2p:   one sender browser shares a file with swarmdrop; N receiver browsers open the link
//          together and download it (they re-serve each other as usual);
//   cloud: the same sender BROWSER uploads the same file to an HTTP server (a fetch PUT of the
//          picked file from a page of that server; nginx with the dav module's PUT), then the N
//          receiver browsers download it from there together (a link with Content-Disposition:
//          attachment, saved as a browser download like swarmdrop's).
// For each N (--receivers, default 1 and 4): the seconds from the sender picking the file until
// every receiver holds it (p2p: the sender's page making the link, then the receivers opening it;
// cloud: the upload, then from the receivers opening the server's page to the last download done)
// and the bytes that went through the server host meanwhile. Every received file's SHA-256 is
// checked.
//
// The lab (tests/lab/sites.sh, pub=N+1): the sender (p1) and each receiver (p2...) on a host of
// its own on the "internet" side, no NAT, each host's link capped by tbf at --mbit in both
// directions, for both sides alike. The servers run on the wan side (198.18.0.1), uncapped, like a
// data centre: Janus + nginx for swarmdrop and the lab's STUN server (coturn), and a second nginx
// for the cloud upload (its own port, a temp folder). Server bytes: the wan bridge's rx + tx
// counters (sdbr), which count only what the wan namespace's own processes receive and send, not
// the frames the bridge forwards between hosts; so for p2p it is the app's pages, signalling and
// STUN (any relayed payload too), for the cloud the upload and every download. The window: from the
// sender opening its page to the last receiver done, for both sides.
//
//   node bench/cloud.mjs [--mib 16] [--mbit 20] [--receivers 1,4] [--json PATH]
// As root (namespaces, tc), after scripts/setup.sh. At most receivers + 1 browsers at once.
// --json PATH writes (bench/lib/result.mjs) results = {mib, mbit, rows: [...]}, each row:
//   receivers             N, the receivers of that row
//   p2p.seconds           linkSeconds + from the receivers opening the link to the last one holding the file
//   p2p.linkSeconds       the sender's page from the file picked to its link shown (reloading the page too)
//   p2p.serverBytes       bytes through the server host's interface (Janus, nginx, STUN) in the window
//   cloud.seconds         uploadSeconds + from the receivers opening the server's page to the last download done
//   cloud.serverBytes     bytes through the server host's interface (upload + every download + pages)
//   cloud.uploadSeconds   the sender's PUT alone, from its start to the server's answer
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  closeAll, randomFile, receiveFile, sha256File, shareFile, subDir, tempDir,
} from '../tests/e2e/harness.mjs';
import { WAN_ADDRESS } from '../tests/lab/lab.mjs';
import { startSites } from '../tests/lab/sites.mjs';
import { cpuMeter } from './lib/cpu.mjs';
import { jsonTarget, writeResult } from './lib/result.mjs';

const { path: jsonPath, args } = jsonTarget();
const { values: options } = parseArgs({
  args,
  options: {
    receivers: { type: 'string', default: '1,4' },
    mib: { type: 'string', default: '16' },
    mbit: { type: 'string', default: '20' },
  },
});
const counts = options.receivers.split(',').map(Number);
const [mib, mbit] = [Number(options.mib), Number(options.mbit)];
if (!counts.every((n) => Number.isInteger(n) && n >= 1 && n <= 30) || !(mib > 0) || !(mbit > 0)) {
  console.error('usage: node bench/cloud.mjs [--mib 16] [--mbit 20] [--receivers 1,4] [--json PATH]  (1-30 receivers)');
  process.exit(2);
}
const size = Math.round(mib * (1 << 20));
// Generous: 30 times what one host needs to move one copy through its cap.
const timeout = Math.max(120_000, 30 * (size * 8 / (mbit * 1e6)) * 1000);
const CLOUD_PORT = 8099; // below the ephemeral range startServer's free ports come from
const cloudUrl = `http://${WAN_ADDRESS}:${CLOUD_PORT}`;

const lab = await startSites({ hosts: [`pub=${Math.max(...counts) + 1}`], hostMbit: mbit });
const dir = tempDir('swarmdrop-bench-cloud-');
// Also when interrupted: the lab's signal handler stops the lab and exits.
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const receiverHosts = (n) => Array.from({ length: n }, (_, i) => `p${i + 2}`);
// Bytes the wan namespace's processes (the servers) received and sent so far.
const serverBytes = () => lab.counter('wan', 'sdbr', 'rx') + lab.counter('wan', 'sdbr', 'tx');
const elapsed = (since) => (performance.now() - since) / 1000;

async function checkAll(saved, file, side) {
  for (const path of saved) {
    if ((await sha256File(path)) !== file.sha256) throw new Error(`${side}: a receiver's file differs (${path})`);
  }
}

// The cloud: nginx in the wan namespace, PUT (dav module) into a temp folder, served back as an
// attachment; one static page with a file input for the sender.
async function startCloud() {
  const root = subDir(dir, 'cloud');
  subDir(root, 'files');
  subDir(root, 'tmp');
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>cloud</title><input type="file" id="file">\n');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${root}/tmp/${kind};`).join('\n  ');
  writeFileSync(join(root, 'nginx.conf'), `daemon off;
worker_processes 1;
user root;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  ${temp}
  server {
    listen ${WAN_ADDRESS}:${CLOUD_PORT};
    root ${root};
    client_max_body_size 0;
    location /files/ {
      dav_methods PUT;
      create_full_put_path on;
      add_header Content-Disposition attachment;
    }
  }
}
`);
  const child = lab.spawnIn('wan', 'nginx', ['-p', root, '-e', `${root}/error.log`, '-c', `${root}/nginx.conf`]);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for (const deadline = Date.now() + 10_000; ;) {
    try {
      lab.exec('wan', 'bash', '-c', `exec 3<>/dev/tcp/${WAN_ADDRESS}/${CLOUD_PORT}`);
      return;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 100))]);
        throw new Error(`the cloud's nginx did not start (see ${root}/error.log)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

// swarmdrop: {seconds, linkSeconds, serverBytes, cpu, paths}; paths: the receivers' links by path
// (direct here).
async function p2p(n, server, file) {
  const sender = await lab.browserOn('p1', server.url);
  const receivers = await Promise.all(receiverHosts(n).map((host) => lab.browserOn(host, server.url)));
  try {
    const bytesBefore = serverBytes();
    // The app once, so that it is cached as the cloud's page is: shareFile loads it again, and that
    // reload is on swarmdrop's clock.
    await sender.page.goto(server.url);
    const [linkStarted, cpu] = [performance.now(), cpuMeter()];
    const link = await shareFile(sender.page, server.url, file.path);
    const [linkSeconds, started] = [elapsed(linkStarted), performance.now()];
    const saved = await Promise.all(receivers.map(({ page }, i) => receiveFile(page, link, subDir(dir, `p2p-${n}-${i}`), { timeout })));
    const seconds = linkSeconds + elapsed(started);
    const bytes = serverBytes() - bytesBefore;
    await checkAll(saved.map(({ path }) => path), file, 'p2p');
    const counted = {};
    for (const { page } of receivers) {
      for (const { path } of (await page.evaluate(() => window.swarmdropMetrics())).peers) counted[path] = (counted[path] ?? 0) + 1;
    }
    return { seconds, linkSeconds, serverBytes: bytes, cpu: cpu(), paths: Object.entries(counted).map(([path, count]) => `${path} ${count}`).join(', ') };
  } finally {
    await closeAll([sender, ...receivers]);
  }
}

// The cloud way: {seconds, serverBytes, uploadSeconds, cpu}.
async function cloud(n, server, file) {
  const sender = await lab.browserOn('p1', server.url);
  const receivers = await Promise.all(receiverHosts(n).map((host) => lab.browserOn(host, server.url)));
  const fileUrl = `${cloudUrl}/files/${n}-${file.path.split('/').pop()}`;
  try {
    const bytesBefore = serverBytes();
    await sender.page.goto(cloudUrl);
    await sender.page.setInputFiles('#file', file.path);
    const [uploadStarted, cpu] = [performance.now(), cpuMeter()];
    const status = await sender.page.evaluate(async (url) => {
      const response = await fetch(url, { method: 'PUT', body: document.querySelector('#file').files[0] });
      return response.status;
    }, fileUrl);
    const uploadSeconds = elapsed(uploadStarted);
    if (status !== 201 && status !== 204) throw new Error(`cloud: the upload got HTTP ${status}`);
    const started = performance.now();
    const saved = await Promise.all(receivers.map(async ({ page }, i) => {
      await page.goto(cloudUrl);
      const download = page.waitForEvent('download', { timeout });
      await page.evaluate((url) => {
        const a = Object.assign(document.createElement('a'), { href: url, download: '' });
        document.body.append(a);
        a.click();
      }, fileUrl);
      const path = join(subDir(dir, `cloud-${n}-${i}`), 'file');
      await (await download).saveAs(path);
      return path;
    }));
    const seconds = uploadSeconds + elapsed(started);
    const bytes = serverBytes() - bytesBefore;
    await checkAll(saved, file, 'cloud');
    return { seconds, serverBytes: bytes, uploadSeconds, cpu: cpu() };
  } finally {
    await closeAll([sender, ...receivers]);
  }
}

const pad = (text, width) => String(text).padStart(width);
const MB = 1e6;
const cells = ({ seconds, serverBytes: bytes, cpu }) => `${pad(seconds.toFixed(1), 6)} ${pad((bytes / MB).toFixed(2), 9)} ${pad((bytes / size).toFixed(2), 6)} ${pad(Math.round(cpu * 100), 4)}`;
const header = [
  `cloud benchmark: 1 sender + N receivers, ${mib} MiB, every host capped at ${mbit} Mbit/s each way (tbf), the servers uncapped`,
  's: from picking the file until every receiver holds it (p2p: making the link, then the receivers; cloud: the browser\'s upload,',
  'then the downloads); server MB: bytes through the',
  'server host\'s interface from the sender opening its page to the last receiver done (pages, signalling, payload), and in copies of',
  'the file; cpu: % of the machine busy during the timed part',
  `${pad('N', 3)} | ${pad('p2p: link s      s  server MB copies  cpu', 44)} | ${pad('cloud: upload s      s  server MB copies  cpu', 46)} | p2p faster`,
];
const rows = [];
try {
  const swarmdrop = await lab.serve();
  await startCloud();
  const file = await randomFile(dir, 'cloud.bin', size);
  console.log(header.join('\n'));
  for (const n of counts) {
    const ours = await p2p(n, swarmdrop, file);
    const theirs = await cloud(n, swarmdrop, file);
    rows.push({
      receivers: n,
      p2p: { seconds: ours.seconds, linkSeconds: ours.linkSeconds, serverBytes: ours.serverBytes },
      cloud: { seconds: theirs.seconds, serverBytes: theirs.serverBytes, uploadSeconds: theirs.uploadSeconds },
    });
    console.log(`${pad(n, 3)} | ${pad(`${pad(ours.linkSeconds.toFixed(1), 9)} ${cells(ours)}`, 44)} | ${pad(`${pad(theirs.uploadSeconds.toFixed(1), 8)} ${cells(theirs)}`, 46)} | `
      + `${ours.seconds < theirs.seconds ? 'yes' : 'no'} (${(theirs.seconds / ours.seconds).toFixed(2)}x)`);
    console.log(`${pad('', 3)} | p2p receivers' links: ${ours.paths}`);
  }
} finally {
  await lab.stop();
}
writeResult(jsonPath, 'cloud', { mib, mbit, rows });
