// The service worker's one job: stream "save all" as a ZIP archive straight from the pieces on
// disk (OPFS), so a share of any size downloads without passing through memory. The page hands
// it a job (which files, in which OPFS folder) and then navigates a link to /download/<token>/;
// every other request goes to the network untouched.
import { storedFile } from './engine/opfs.js';
import { zipStream } from './engine/zip.js';

const DOWNLOAD_PREFIX = '/download/';
const jobs = new Map(); // token -> {shareId, zipName, files: [{path, size}] in manifest order}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const { type, token, job } = event.data ?? {};
  if (type !== 'zip-job' || typeof token !== 'string') return;
  jobs.set(token, job);
  event.ports[0]?.postMessage({ ready: token });
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(DOWNLOAD_PREFIX)) return;
  const token = url.pathname.slice(DOWNLOAD_PREFIX.length).split('/')[0];
  const job = jobs.get(token);
  if (!job) {
    event.respondWith(new Response('This download has expired: go back to the page and save again.',
      { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }));
    return;
  }
  jobs.delete(token);
  const entries = job.files.map(({ path, size }, number) => ({ path, size, open: () => storedFile(job.shareId, number) }));
  event.respondWith(new Response(zipStream(entries), {
    headers: {
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(job.zipName)}`,
    },
  }));
});
