// The service worker: two kinds of responses built from what a page of this app holds, so that
// nothing passes through memory whole.
// - /download/<token>/: "save all" as a ZIP archive streamed from the pieces on disk (OPFS). The
//   page hands it a job (which files, in which OPFS folder), then navigates a frame there.
// - /stream/<share id>/<file number>/<name>: a share's file for the browser's own player (video,
//   audio, picture), answering HTTP Range requests. The bytes come from the page that holds the
//   share (stream-server.js): the one that asked first, else any other page of this app, so a
//   second tab plays from the first. Nothing is kept here between requests, so a worker the
//   browser stopped and started again answers the next request as well as the first.
// - POST /share-target: files another app shares to swarmdrop (the manifest's share_target), kept
//   in an inbox of their own (share-inbox.js) for the sender page, which the browser is sent to
//   (303) with that inbox's id. Inboxes no page took are cleared when the worker activates.
// And a click on a notification it showed for a page brings that page forward.
// Every other request goes to the network untouched.
import { STREAM_OPEN_TIMEOUT_MS, STREAM_PATH_PREFIX } from './engine/config.js';
import { shareIdFromPath } from './engine/links.js';
import {
  SHARE_TARGET_PARAM, SHARE_TARGET_PATH, clearStaleInboxes, receiveShare,
} from './engine/share-inbox.js';
import { storedFile } from './engine/store/opfs.js';
import { zipStream } from './engine/store/zip.js';

const DOWNLOAD_PREFIX = '/download/';
// This run of the worker: a page ends the streams it opened for an earlier run, which the browser
// stopped (Firefox does after ~30 s without an event) without cancelling them.
const WORKER_RUN = crypto.randomUUID();
const jobs = new Map(); // token -> {shareId, zipName, files: [{path, size}] in manifest order}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(Promise.all([self.clients.claim(), clearStaleInboxes().catch(() => {})])));

// 'keepalive' needs no answer: receiving it is what keeps this worker running while a page streams.
self.addEventListener('message', (event) => {
  const { type, token, job } = event.data ?? {};
  if (type !== 'zip-job' || typeof token !== 'string') return;
  jobs.set(token, job);
  event.ports[0]?.postMessage({ ready: token });
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(STREAM_PATH_PREFIX)) event.respondWith(stream(event, url));
  else if (url.pathname.startsWith(DOWNLOAD_PREFIX)) event.respondWith(zipDownload(url));
  else if (url.pathname === SHARE_TARGET_PATH && event.request.method === 'POST') event.respondWith(shareTarget(event.request));
});

// A notification a page showed through this worker (ui/done-notice.js: Android has no page
// notifications) brings that page forward when clicked. The notification keeps the page's path
// only: its address's fragment is the share's secret.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const path = event.notification.data?.path;
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then((pages) => pages.find((page) => new URL(page.url).pathname === path)?.focus()));
});

async function shareTarget(request) {
  const outcome = await receiveShare(request); // an inbox id or OUTCOME.failed
  return Response.redirect(new URL(`/?${SHARE_TARGET_PARAM}=${outcome}`, self.location.origin), 303);
}

function zipDownload(url) {
  const token = url.pathname.slice(DOWNLOAD_PREFIX.length).split('/')[0];
  const job = jobs.get(token);
  if (!job) return textResponse(404, 'This download has expired: go back to the page and save again.');
  jobs.delete(token);
  const entries = job.files.map(({ path, size }, number) => ({ path, size, open: () => storedFile(job.shareId, number) }));
  let body;
  try {
    body = zipStream(entries);
  } catch (error) {
    return textResponse(422, `This archive cannot be made: ${error.message}`); // a name the manifest rules let through
  }
  return new Response(body, {
    headers: {
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(job.zipName)}`,
    },
  });
}

async function stream(event, url) {
  const [shareId, file] = url.pathname.slice(STREAM_PATH_PREFIX.length).split('/');
  const request = {
    type: 'stream-open', shareId, file, range: event.request.headers.get('Range'), method: event.request.method, run: WORKER_RUN,
  };
  // Pages of this share only: a sender's page or another share's would never answer.
  const pages = (await self.clients.matchAll({ type: 'window' })).filter((page) => shareIdFromPath(new URL(page.url).pathname) === shareId);
  pages.sort((a, b) => (b.id === event.clientId) - (a.id === event.clientId));
  for (const page of pages) {
    const channel = new MessageChannel();
    const head = await firstMessage(channel.port1, () => page.postMessage(request, [channel.port2]));
    if (head?.type === 'head') return respond(head, channel.port1, event.request.method);
    channel.port1.close();
  }
  return textResponse(404, 'No page of swarmdrop holds this file: open its share link again.');
}

// The port's first message, or null after STREAM_OPEN_TIMEOUT_MS (a page that is not listening).
function firstMessage(port, send) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), STREAM_OPEN_TIMEOUT_MS);
    port.onmessage = ({ data }) => {
      clearTimeout(timer);
      resolve(data);
    };
    send();
  });
}

// The page's answer as a Response whose body asks the page for one chunk per pull.
function respond({ status, headers }, port, method) {
  // Nothing to send: the page closed the port after the head.
  if (status === 416 || method === 'HEAD' || headers['Content-Length'] === '0') return new Response(null, { status, headers });
  let delivered = null; // resolves the pull waiting for the page's next message
  const body = new ReadableStream({
    start(controller) {
      port.onmessage = ({ data }) => {
        if (data.type === 'chunk') controller.enqueue(new Uint8Array(data.bytes));
        else if (data.type === 'end') controller.close();
        else controller.error(new Error(data.message ?? 'the page stopped streaming'));
        if (data.type !== 'chunk') port.close();
        delivered?.();
      };
    },
    pull() {
      port.postMessage({ type: 'pull' });
      return new Promise((resolve) => { delivered = resolve; });
    },
    cancel() {
      port.postMessage({ type: 'cancel' });
      port.close();
    },
  });
  return new Response(body, { status, headers });
}

function textResponse(status, text) {
  return new Response(text, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}
