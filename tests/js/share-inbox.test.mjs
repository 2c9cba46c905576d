// The share sheet's inbox (web/src/engine/share-inbox.js) over an in-memory Cache Storage: one
// inbox per share, a share arriving while a page takes the previous one is kept, older and stale
// inboxes are cleared, and a Cache Storage that fails gives OUTCOME.failed, never a rejection.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import {
  INBOX_MAX_AGE_MS, OUTCOME, clearStaleInboxes, inboxIdOf, receiveShare, takeShare,
} from '../../web/src/engine/share-inbox.js';

class MemoryCache {
  entries = new Map();

  async put(key, response) {
    this.entries.set(String(key), { body: await response.arrayBuffer(), headers: response.headers });
  }

  async match(key) {
    const entry = this.entries.get(String(key));
    return entry && new Response(entry.body, { headers: entry.headers });
  }
}

function memoryCaches() {
  const stores = new Map();
  return {
    stores,
    async open(name) {
      if (!stores.has(name)) stores.set(name, new MemoryCache());
      return stores.get(name);
    },
    async has(name) { return stores.has(name); },
    async delete(name) { return stores.delete(name); },
    async keys() { return [...stores.keys()]; },
  };
}

afterEach(() => { delete globalThis.caches; });

// A share sheet's POST of `files` ({name: text}) and `fields`; with `held`, its body stops after
// the first part until held.release() is called.
function post(files, fields = {}, held = null) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const [name, text] of Object.entries(files)) form.append('files', new Blob([text], { type: 'text/plain' }), name);
  const request = new Request('https://swarmdrop.test/share-target', { method: 'POST', body: form });
  if (!held) return request;
  const gate = new Promise((resolve) => { held.release = resolve; });
  const reader = request.body.getReader();
  let first = true;
  const body = new ReadableStream({
    async pull(controller) {
      if (!first) await gate;
      first = false;
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  });
  return new Request(request.url, { method: 'POST', body, headers: request.headers, duplex: 'half' });
}

const texts = async (shared) => Promise.all(shared.files.map(async ({ path, file }) => [path, await file.text()]));

test('a share is kept in an inbox of its own, named by the id the page is sent with; taking it deletes it', async () => {
  globalThis.caches = memoryCaches();
  const id = await receiveShare(post({ 'a.txt': 'alpha', 'b/c.txt': 'beta' }));
  assert.equal(inboxIdOf(id), id);
  const shared = await takeShare(id);
  assert.deepEqual(await texts(shared), [['a.txt', 'alpha'], ['b_c.txt', 'beta']]);
  assert.equal(shared.other, false);
  assert.deepEqual(await caches.keys(), []);
  assert.equal(await takeShare(id), null, 'taken once');
});

test('a share arriving while a page takes the previous one is kept whole', async () => {
  globalThis.caches = memoryCaches();
  const first = await receiveShare(post({ 'first.txt': 'one' }));
  const held = {};
  const receiving = receiveShare(post({ 'second.txt': 'two' }, {}, held));
  await new Promise((resolve) => { setTimeout(resolve, 10); });
  assert.deepEqual(await texts(await takeShare(first)), [['first.txt', 'one']]);
  held.release();
  const second = await receiving;
  assert.deepEqual(await texts(await takeShare(second)), [['second.txt', 'two']]);
});

test('a share stored whole deletes the inboxes made before it, not those after', async () => {
  globalThis.caches = memoryCaches();
  const old = await receiveShare(post({ 'old.txt': 'old' }), 1000);
  const later = await receiveShare(post({ 'later.txt': 'later' }), 3000);
  const id = await receiveShare(post({ 'new.txt': 'new' }), 2000);
  assert.equal(await takeShare(old), null);
  assert.ok(await takeShare(later));
  assert.ok(await takeShare(id));
});

test('inboxes older than INBOX_MAX_AGE_MS are cleared, younger ones kept', async () => {
  globalThis.caches = memoryCaches();
  const now = 10 * INBOX_MAX_AGE_MS;
  const stale = await receiveShare(post({ 'stale.txt': 'x' }), now - INBOX_MAX_AGE_MS - 1);
  const fresh = await receiveShare(post({ 'fresh.txt': 'y' }), now - INBOX_MAX_AGE_MS + 1000);
  await caches.open('another-cache');
  await clearStaleInboxes(now);
  assert.deepEqual((await caches.keys()).sort(), ['another-cache', `swarmdrop-share-inbox-${fresh}`]);
  assert.equal(await takeShare(stale), null);
});

test('text or a link alone: no files, other is true; the inbox keeps no text', async () => {
  globalThis.caches = memoryCaches();
  const id = await receiveShare(post({}, { title: 'a page', url: 'https://example.org/' }));
  const inbox = caches.stores.get(`swarmdrop-share-inbox-${id}`);
  assert.doesNotMatch(await (await inbox.match('/share-target/inbox/meta')).text(), /example\.org|a page/);
  assert.deepEqual(await takeShare(id), { files: [], other: true });
});

test('a Cache Storage that fails, a body cut short or an id that is none: failed or null, never a rejection', async () => {
  globalThis.caches = { ...memoryCaches(), open: async () => { throw new Error('quota'); } };
  assert.equal(await receiveShare(post({ 'a.txt': 'a' })), OUTCOME.failed);
  assert.equal(await takeShare(`${Date.now()}-${'0'.repeat(32)}`), null);
  globalThis.caches = memoryCaches();
  const cut = new Request('https://swarmdrop.test/share-target', {
    method: 'POST', body: '--b\r\nContent-Disposition: form-data; name="files"; filename="a"\r\n\r\nabc', headers: { 'Content-Type': 'multipart/form-data; boundary=b' },
  });
  assert.equal(await receiveShare(cut), OUTCOME.failed);
  assert.deepEqual(await caches.keys(), [], 'the cut share left no inbox');
  assert.equal(await takeShare('../other-cache'), null);
  assert.equal(inboxIdOf(OUTCOME.failed), null);
});
