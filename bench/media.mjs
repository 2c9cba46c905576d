#!/usr/bin/env node
// Published media: (1) swarmdrop-probe's remux throughput against `ffmpeg -c copy` to fragmented
// MP4 on the same file (about 1 GiB of Matroska H.264/AAC made here), best of two runs each,
// as MB/s and a ratio; (2) the time from `swarmdrop-publish` of that file to the first frame
// in a browser that opens the link (the server's preparation, then the link opened until the
// video has a frame to show), against the same browser opening a tiny published file.
//
//   scripts/in-netns.sh node bench/media.mjs [MiB] [--json PATH]     (default 1024; after scripts/test.sh)
//
// --json PATH writes these results (bench/lib/result.mjs):
//   mib                          the movie's size asked for
//   remuxMBps, ffmpegMBps, ratio swarmdrop-probe's and ffmpeg's remux, best of two; probe / ffmpeg
//   publishToFirstFrameSeconds   the movie's swarmdrop-publish to a first frame in the browser
import { execFile, execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launchBrowser, repoRoot, startServer, tempDir } from '../tests/e2e/harness.mjs';
import { jsonTarget, writeResult } from './lib/result.mjs';

const { path: jsonPath, args } = jsonTarget();
const mib = Number(args[0] || 1024);
const MB = 1e6;
const run = promisify(execFile);
const dir = tempDir('swarmdrop-bench-media-');

function ffmpeg(...args) {
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args]);
}

// A clip of about 150 MB (60 s at 20 Mbit/s; shorter for a smaller size asked, at least 4 s),
// looped with -c copy up to the size asked.
function makeMovie(path, targetBytes) {
  const clip = join(dir, 'clip.mkv');
  const clipSeconds = Math.min(60, Math.max(4, Math.ceil(targetBytes / 2.5e6)));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(clipSeconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-b:v', '20M', '-minrate', '20M', '-maxrate', '20M',
    '-bufsize', '8M', '-c:a', 'aac', clip);
  const loops = Math.max(0, Math.ceil(targetBytes / statSync(clip).size) - 1);
  ffmpeg('-stream_loop', String(loops), '-i', clip, '-c', 'copy', path);
  rmSync(clip);
  return statSync(path).size;
}

async function seconds(command, args) {
  const started = process.hrtime.bigint();
  await run(command, args, { maxBuffer: 64 << 20 });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const probe = join(repoRoot, 'src/swarmdrop-probe');
const publishCommand = join(repoRoot, 'scripts/swarmdrop-publish');

// swarmdrop-publish, then a browser (started beforehand) on the link until the video has a frame.
async function publishToFirstFrame(server, name) {
  const viewer = await launchBrowser();
  const started = Date.now();
  const { stdout, stderr } = await run(publishCommand,
    ['--janus', server.wsUrl, '--web', server.url, '--key', server.adminKey, name], { timeout: 600_000 });
  const published = Date.now();
  try {
    const opened = Date.now();
    await viewer.page.goto(stdout.trim());
    await viewer.page.waitForFunction(() => {
      const video = document.querySelector('#player');
      if (!video || video.hidden) return false;
      video.muted = true;
      video.play().catch(() => {});
      return video.readyState >= 2 && video.currentTime > 0;
    }, null, { timeout: 300_000, polling: 50 });
    const firstFrame = Date.now();
    return {
      publish: (published - started) / 1000, // the command, with node's start and the server's preparation
      prepared: Number(/prepared in ([0-9.]+) s/.exec(stderr)?.[1] ?? NaN), // the server's own figure
      firstFrame: (firstFrame - opened) / 1000,
      total: (firstFrame - started) / 1000,
    };
  } finally {
    await viewer.close();
  }
}

try {
  console.log(`swarmdrop media benchmark: ${mib} MiB of Matroska H.264/AAC (720p, 20 Mbit/s)`);
  const movie = join(dir, 'movie.mkv');
  const size = makeMovie(movie, mib << 20);
  const ours = join(dir, 'ours.mp4');
  const theirs = join(dir, 'ffmpeg.mp4');
  const times = { ours: Infinity, ffmpeg: Infinity };
  // Alternated, best of two, both reading a file the page cache holds after the first run.
  for (let round = 0; round < 2; round++) {
    times.ours = Math.min(times.ours, await seconds(probe, ['--remux', ours, movie]));
    times.ffmpeg = Math.min(times.ffmpeg, await seconds('ffmpeg', ['-loglevel', 'error', '-y', '-i', movie, '-map', '0',
      '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', theirs]));
  }
  const rate = (s) => size / MB / s;
  console.log(`input: ${(size / MB).toFixed(0)} MB; outputs: swarmdrop-probe ${(statSync(ours).size / MB).toFixed(0)} MB, ffmpeg ${(statSync(theirs).size / MB).toFixed(0)} MB`);
  console.log(`swarmdrop-probe --remux:           ${times.ours.toFixed(2)} s, ${rate(times.ours).toFixed(0)} MB/s`);
  console.log(`ffmpeg -c copy (fragmented MP4):   ${times.ffmpeg.toFixed(2)} s, ${rate(times.ffmpeg).toFixed(0)} MB/s`);
  console.log(`ratio swarmdrop-probe / ffmpeg:    ${(rate(times.ours) / rate(times.ffmpeg)).toFixed(2)}`);
  rmSync(ours);
  rmSync(theirs);

  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '4', '-c:v', 'libx264',
    '-g', '50', '-c:a', 'aac', join(dir, 'tiny.mkv'));
  const server = await startServer({ media: dir });
  try {
    const tiny = await publishToFirstFrame(server, 'tiny.mkv');
    const big = await publishToFirstFrame(server, 'movie.mkv');
    for (const [what, figures] of [[`${(size / MB).toFixed(0)} MB`, big], ['4 s clip', tiny]]) {
      console.log(`publish to first frame, ${what}: ${figures.total.toFixed(2)} s = swarmdrop-publish ${figures.publish.toFixed(2)} s`
        + ` (server preparation ${figures.prepared.toFixed(2)} s) + link opened to first frame ${figures.firstFrame.toFixed(2)} s`);
    }
    writeResult(jsonPath, 'media', {
      mib, remuxMBps: rate(times.ours), ffmpegMBps: rate(times.ffmpeg), ratio: rate(times.ours) / rate(times.ffmpeg), publishToFirstFrameSeconds: big.total,
    });
  } finally {
    await server.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
