// The share sheet's inbox. What another app shares to swarmdrop (the manifest's share_target)
// arrives as a multipart POST to /share-target, which the service worker answers (receiveShare):
// it streams the files part by part (multipart.js) into an inbox of their own in Cache Storage,
// and sends the browser on to the sender page with the inbox's id, which takes them (takeShare).
// Any site can make that POST (a cross-site form), so the page never shares what arrived by itself.
// Bounded: an inbox's name holds its creation time; when a share is stored whole, the inboxes
// made before it go; the page takes only its own and deletes it (the Files it made stay readable:
// Chromium keeps a blob's bytes while the blob lives); inboxes older than INBOX_MAX_AGE_MS go when
// the worker activates and when a sender page loads (clearStaleInboxes). Without a worker in
// control (a first visit) the POST reaches nginx, which sends the browser to the page with
// OUTCOME.missed.
import { MAX_FILES } from './transfer/content.js';
import { MultipartReader, multipartBoundary } from './multipart.js';

export const SHARE_TARGET_PATH = '/share-target';
// The query parameter the page is sent on with: what came of the share (OUTCOME, or an inbox id).
export const SHARE_TARGET_PARAM = 'share-target';
export const OUTCOME = {
  failed: 'failed', // the body was not well formed, too many files, or the disk refused them
  missed: 'missed', // no service worker took the POST (conf/nginx.conf.in)
};
export const INBOX_MAX_AGE_MS = 60 * 60 * 1000;

const INBOX_PREFIX = 'swarmdrop-share-inbox-';
// An inbox id: its creation time in ms, then a random part.
const INBOX_ID = /^(\d{1,15})-[0-9a-f]{32}$/;
// Keys of an inbox's entries (never fetched: Cache Storage wants URLs).
const META_KEY = `${SHARE_TARGET_PATH}/inbox/meta`;
const fileKey = (number) => `${SHARE_TARGET_PATH}/inbox/file/${number}`;

// The inbox id a SHARE_TARGET_PARAM value names, or null (an OUTCOME, or not an id).
export function inboxIdOf(value) {
  return INBOX_ID.test(value ?? '') ? value : null;
}

// In the service worker: keeps what `request` shares in a new inbox; resolves to the inbox's id,
// or OUTCOME.failed.
export async function receiveShare(request, now = Date.now()) {
  const boundary = multipartBoundary(request.headers.get('Content-Type'));
  if (!boundary || !request.body) return OUTCOME.failed;
  const id = `${now}-${randomHex()}`;
  try {
    const inbox = await caches.open(INBOX_PREFIX + id);
    // other: a part that is no file came (a title, a text, a link), for the page's words.
    const meta = { files: [], other: false };
    const reader = new MultipartReader(request.body, boundary);
    for (let part; (part = await reader.next());) {
      if (part.name === 'files' && part.filename) { // a file input with nothing chosen sends filename=""
        if (meta.files.length === MAX_FILES) throw new Error('too many files');
        await inbox.put(fileKey(meta.files.length), new Response(partBody(reader), { headers: { 'Content-Type': part.type } }));
        meta.files.push({ name: part.filename.replace(/[/\\]/g, '_'), type: part.type });
      } else if (part.filename === null && part.name !== 'files') {
        meta.other = true;
      }
    }
    // Last: an inbox without it holds nothing to take (a share cut short).
    await inbox.put(META_KEY, new Response(JSON.stringify(meta), { headers: { 'Content-Type': 'application/json' } }));
    await clearInboxes((created) => created < now);
    return id;
  } catch {
    await caches.delete(INBOX_PREFIX + id).catch(() => {});
    return OUTCOME.failed;
  }
}

// Deletes the inboxes older than INBOX_MAX_AGE_MS (one a closed tab never took).
export function clearStaleInboxes(now = Date.now()) {
  return clearInboxes((created) => now - created > INBOX_MAX_AGE_MS);
}

async function clearInboxes(old) {
  if (!globalThis.caches) return;
  const names = (await caches.keys()).filter((name) => {
    const match = name.startsWith(INBOX_PREFIX) && INBOX_ID.exec(name.slice(INBOX_PREFIX.length));
    return match && old(Number(match[1]));
  });
  await Promise.all(names.map((name) => caches.delete(name)));
}

function randomHex() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// The part's bytes as a stream, read from the body only as fast as the cache writes them.
function partBody(reader) {
  return new ReadableStream({
    async pull(controller) {
      const chunk = await reader.read();
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

// In the page: what waits in inbox `id`, {files: [{path, file}], other} (the files' bytes stay
// on disk, as the browser keeps a cache's), and that inbox deleted; null when it holds nothing
// whole (taken already, cleared, or cut short).
export async function takeShare(id) {
  const name = INBOX_PREFIX + id;
  try {
    if (!globalThis.caches || !inboxIdOf(id) || !(await caches.has(name))) return null;
    const inbox = await caches.open(name);
    const meta = await inbox.match(META_KEY);
    if (!meta) return null;
    const { files, other } = await meta.json();
    const taken = await Promise.all(files.map(async ({ name: path, type }, number) => {
      const stored = await inbox.match(fileKey(number));
      if (!stored) throw new Error(`the inbox lost file ${number}`);
      return { path, file: new File([await stored.blob()], path, { type }) };
    }));
    return { files: taken, other: Boolean(other) };
  } catch {
    return null;
  } finally {
    await caches.delete(name).catch(() => {});
  }
}
