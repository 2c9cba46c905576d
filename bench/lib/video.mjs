// What the streaming benchmarks play, and the plain web server they compare swarmdrop with
// (bench/stream.mjs, bench/browsers.mjs).
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const ffmpeg = (...args) => execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args]);

// A video of `seconds` (at most 30, or a multiple of 30) of 1280x720 H.264 (~2 Mbit/s, a keyframe
// every 2 s) + AAC, made by Debian's ffmpeg in `dir`: a clip of up to 30 s repeated with -c copy
// (faster than encoding it all, and it plays the same); its index first (+faststart) unless
// moovAtEnd. Resolves to {path, size (bytes), duration (s)}.
export function makeVideo(dir, seconds, { moovAtEnd = false } = {}) {
  if (!(Number.isInteger(seconds) && seconds >= 4 && (seconds <= 30 || seconds % 30 === 0))) {
    throw new Error('a video length in seconds: 4 to 30, or a multiple of 30');
  }
  const clipSeconds = Math.min(seconds, 30);
  const clip = join(dir, 'clip.mp4');
  const path = join(dir, 'video.mp4');
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(clipSeconds), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '50', '-keyint_min', '50',
    '-sc_threshold', '0', '-b:v', '2M', '-maxrate', '2M', '-bufsize', '2M', '-c:a', 'aac', '-b:a', '128k', clip);
  ffmpeg('-stream_loop', String(seconds / clipSeconds - 1), '-i', clip, '-c', 'copy', ...(moovAtEnd ? [] : ['-movflags', '+faststart']), path);
  rmSync(clip);
  const duration = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]).toString().trim());
  return { path, size: statSync(path).size, duration };
}

// A plain nginx (in network namespace `netns`, or here) listening on host:port, serving
// `videoPath` as /video.mp4 with byte ranges and /watch.html, a page that plays it (muted, so it
// may start on its own): opening that page is the plain web's counterpart of opening a share link.
// Its access log records each request's range and bytes. Resolves to {url, watchUrl, accessLog, stop()}.
export async function startPlainNginx({ dir, videoPath, host, port, netns = null }) {
  const root = join(dir, 'nginx');
  mkdirSync(join(root, 'www'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  symlinkSync(videoPath, join(root, 'www', 'video.mp4'));
  writeFileSync(join(root, 'www', 'watch.html'), '<!doctype html><meta charset="utf-8"><title>nginx</title>'
    + '<video id="player" src="video.mp4" controls playsinline muted autoplay preload="auto"></video>\n');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${root}/tmp/${kind};`).join('\n\t');
  writeFileSync(join(root, 'nginx.conf'), `worker_processes 1;
daemon off;
user root;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 64; }
http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	log_format bench '$msec "$request" $status range="$http_range" sent=$body_bytes_sent time=$request_time';
	access_log ${root}/access.log bench;
	${temp}
	sendfile on;
	server {
		listen ${host}:${port};
		root ${root}/www;
		add_header Cache-Control no-store;
	}
}
`);
  const command = ['nginx', '-e', join(root, 'error.log'), '-p', root, '-c', join(root, 'nginx.conf')];
  const child = netns ? spawn('ip', ['netns', 'exec', netns, ...command], { stdio: 'ignore' }) : spawn(command[0], command.slice(1), { stdio: 'ignore' });
  const exited = new Promise((res) => child.on('exit', res));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  for (let i = 0; i < 100 && !existsSync(join(root, 'nginx.pid')); i++) {
    if (child.exitCode !== null) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  if (!existsSync(join(root, 'nginx.pid'))) {
    await stop();
    throw new Error(`the plain nginx did not start: ${readFileSync(join(root, 'error.log'), 'utf8')}`);
  }
  return { url: `http://${host}:${port}`, watchUrl: `http://${host}:${port}/watch.html`, accessLog: join(root, 'access.log'), stop };
}
