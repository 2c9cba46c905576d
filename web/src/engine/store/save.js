// Saving what a receiver holds: one file straight from its disk-backed File, or every file of
// the share as one ZIP archive streamed by the service worker (sw.js) from the same files.
import { ServiceWorkerError, controllingWorker } from '../service-worker.js';

export class SaveError extends Error {}

// Starts the browser's download of `file` under `name`; nothing is copied into memory.
export function saveFile(file, name) {
  const url = URL.createObjectURL(file);
  clickDownload(url, name);
  // The download has its own reference to the File by now; the URL is no longer needed.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return url;
}

function clickDownload(href, name) {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

// files: the manifest's [{path, size}], all held in the share's store.
export async function saveAllAsZip(shareId, files, zipName) {
  let worker;
  try {
    worker = await controllingWorker();
  } catch (error) {
    if (error instanceof ServiceWorkerError) throw new SaveError('This browser cannot stream a ZIP archive here (no service workers): save the files one by one.');
    throw error;
  }
  const token = crypto.randomUUID();
  const channel = new MessageChannel();
  const ready = new Promise((resolve) => { channel.port1.onmessage = resolve; });
  worker.postMessage({ type: 'zip-job', token, job: { shareId, zipName, files } }, [channel.port2]);
  await ready;
  // A navigation, unlike an <a download> request, goes through the service worker; the worker's
  // Content-Disposition turns it into a download, and the hidden frame keeps this page in place.
  const frame = document.createElement('iframe');
  frame.hidden = true;
  frame.src = `/download/${token}/${encodeURIComponent(zipName)}`;
  document.body.append(frame);
  setTimeout(() => frame.remove(), 60_000);
}
