// The share sheet's inbox. What another app shares to swarmdrop (the manifest's share_target)
// arrives as a multipart POST to /share-target, which the service worker answers (receiveShare):
// it streams the files part by part (multipart.js) into Cache Storage, and sends the browser on
// to the sender page, which takes them (takeShare) and shares them as if they were dropped.
// Bounded: one share is received and waits at a time (a newer one replaces it), taking it
// empties the inbox, and the title, text and url fields keep MAX_FIELD_BYTES each. Without a
// worker in control (a first visit) the POST reaches nginx, which sends the browser to the page
// with OUTCOME.missed.
import { MAX_FILES } from './transfer/content.js';
import { MultipartReader, multipartBoundary } from './multipart.js';

export const SHARE_TARGET_PATH = '/share-target';
// The query parameter the page is sent on with: what came of the share.
export const SHARE_TARGET_PARAM = 'share-target';
export const OUTCOME = {
  received: '1', // in the inbox: take it
  failed: 'failed', // the body was not well formed, too many files, or the disk refused them
  missed: 'missed', // no service worker took the POST (conf/nginx.conf.in)
};

const MAX_FIELD_BYTES = 16 * 1024;
const FIELDS = ['title', 'text', 'url'];
const INBOX = 'swarmdrop-share-inbox';
// Keys of the inbox's entries (never fetched: Cache Storage wants URLs).
const META_KEY = `${SHARE_TARGET_PATH}/inbox/meta`;
const fileKey = (number) => `${SHARE_TARGET_PATH}/inbox/file/${number}`;

// The share being received: a second POST waits for it, so that two never write one inbox.
let receiving = Promise.resolve();

// In the service worker: keeps what `request` shares (replacing what waits); resolves to its OUTCOME.
export function receiveShare(request) {
  const turn = receiving.then(() => receiveOne(request));
  receiving = turn.catch(() => {});
  return turn;
}

async function receiveOne(request) {
  const boundary = multipartBoundary(request.headers.get('Content-Type'));
  if (!boundary || !request.body) return OUTCOME.failed;
  await caches.delete(INBOX);
  const inbox = await caches.open(INBOX);
  try {
    const meta = { files: [] };
    const reader = new MultipartReader(request.body, boundary);
    for (let part; (part = await reader.next());) {
      if (part.name === 'files' && part.filename) { // a file input with nothing chosen sends filename=""
        if (meta.files.length === MAX_FILES) return await emptied(OUTCOME.failed);
        await inbox.put(fileKey(meta.files.length), new Response(partBody(reader), { headers: { 'Content-Type': part.type } }));
        meta.files.push({ name: part.filename.replace(/[/\\]/g, '_'), type: part.type });
      } else if (FIELDS.includes(part.name) && part.filename === null) {
        meta[part.name] = await fieldText(reader);
      }
    }
    // Last: an inbox without it holds nothing to take (a share cut short).
    await inbox.put(META_KEY, new Response(JSON.stringify(meta), { headers: { 'Content-Type': 'application/json' } }));
    return OUTCOME.received;
  } catch {
    return emptied(OUTCOME.failed);
  }
}

async function emptied(outcome) {
  await caches.delete(INBOX);
  return outcome;
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

// A text field, its first MAX_FIELD_BYTES.
async function fieldText(reader) {
  const chunks = [];
  let size = 0;
  for (let chunk; (chunk = await reader.read());) {
    if (size < MAX_FIELD_BYTES) chunks.push(chunk.subarray(0, MAX_FIELD_BYTES - size));
    size += chunk.length;
  }
  return new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
}

// In the page: what waits in the inbox, {files: [{path, file}], title, text, url} (files on
// disk, as the browser keeps a cache's), and the inbox emptied; null when nothing waits.
export async function takeShare() {
  if (!globalThis.caches || !(await caches.has(INBOX))) return null;
  const inbox = await caches.open(INBOX);
  try {
    const meta = await inbox.match(META_KEY);
    if (!meta) return null;
    const { files, ...fields } = await meta.json();
    const taken = await Promise.all(files.map(async ({ name, type }, number) => {
      const stored = await inbox.match(fileKey(number));
      if (!stored) throw new Error(`the inbox lost file ${number}`);
      return { path: name, file: new File([await stored.blob()], name, { type }) };
    }));
    return { files: taken, title: fields.title ?? '', text: fields.text ?? '', url: fields.url ?? '' };
  } catch {
    return null;
  } finally {
    await caches.delete(INBOX);
  }
}
