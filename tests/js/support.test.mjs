// What the page says when the browser lacks something (web/src/engine/support.js,
// ui/support-words.js) and the store without a disk (engine/store/store.js, its memory backend:
// node has no OPFS). Run: node --test tests/js/support.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MEMORY_STORE_CAP_BYTES } from '../../web/src/engine/config.js';
import { PieceStore, StorageError } from '../../web/src/engine/store/store.js';
import { missingEssentials } from '../../web/src/engine/support.js';
import { lacksNotes, missingEssentialText, tooLargeForMemoryText } from '../../web/src/ui/support-words.js';

const browser = { isSecureContext: true, crypto: { subtle: {} }, RTCPeerConnection: function RTCPeerConnection() {} };

test('the essentials: a secure context, WebCrypto, WebRTC, the most telling first', () => {
  assert.deepEqual(missingEssentials(browser), []);
  assert.deepEqual(missingEssentials({ ...browser, RTCPeerConnection: undefined }), ['no-webrtc']);
  assert.deepEqual(missingEssentials({ ...browser, crypto: {} }), ['no-webcrypto']);
  // Plain http from a LAN address: the browser withholds WebCrypto too; the fix is https.
  const insecure = missingEssentials({ ...browser, isSecureContext: false, crypto: {} });
  assert.deepEqual(insecure, ['insecure-context', 'no-webcrypto']);
  assert.match(missingEssentialText(insecure), /Open it over https/);
  for (const code of ['no-webrtc', 'no-webcrypto']) assert.match(missingEssentialText([code]), /Use a current Chromium, Firefox or Safari/);
});

test('a receiver\'s notes say only what matters for its share', () => {
  const state = (lacks, { media = false, files = 1 } = {}) => ({
    lacks, media: media ? [{ kind: 'video' }] : [{ kind: null }], files: Array.from({ length: files }, () => ({})),
  });
  assert.deepEqual(lacksNotes(state([])), []);
  assert.match(lacksNotes(state(['disk-store'])).join(), /kept in memory, and starts over if the page is reloaded/);
  // Nothing to play, one file: no service worker and no MSE change nothing.
  assert.deepEqual(lacksNotes(state(['service-worker', 'media-source'])), []);
  assert.match(lacksNotes(state(['service-worker', 'media-source'], { media: true })).join(), /show once saved/);
  assert.match(lacksNotes(state(['service-worker'], { media: true })).join(), /only fragmented MP4 videos play while they download/);
  assert.match(lacksNotes(state(['media-source'], { media: true })).join(), /play through its service worker/);
  assert.match(lacksNotes(state(['service-worker'], { files: 3 })).join(), /Save the files one by one/);
});

test('without a disk store pieces are held in memory up to the cap; a larger share is refused with its kind', async () => {
  const manifest = { v: 1, piece_size: 4, total: 10, files: [{ path: 'a/b.txt', size: 10, type: 'text/plain' }] };
  const store = await PieceStore.open('0123456789abcdef', manifest);
  assert.equal(store.inMemory, true);
  await store.write(0, new Uint8Array([1, 2, 3, 4]));
  await store.write(1, new Uint8Array([5, 6, 7, 8]));
  await store.write(2, new Uint8Array([9, 10]));
  assert.deepEqual(new Uint8Array(await (await store.file('a/b.txt')).arrayBuffer()), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));

  const total = 2 * MEMORY_STORE_CAP_BYTES;
  const error = await PieceStore.open('0123456789abcdef', { ...manifest, total, files: [{ ...manifest.files[0], size: total }] })
    .then(() => null, (e) => e);
  assert.ok(error instanceof StorageError);
  assert.equal(error.code, 'too-large-for-memory');
  assert.deepEqual(error.detail, { total, cap: MEMORY_STORE_CAP_BYTES });
  assert.match(tooLargeForMemoryText(error.detail), /\(1.1 GB\) is larger than the 537 MB it may hold in memory/);
});
