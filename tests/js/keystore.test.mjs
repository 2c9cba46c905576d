// The sender's resume key (web/src/engine/transfer/keystore.js pickKey): a share's keys are taken
// up again only for byte-identical plaintext, so that a content key never encrypts two different
// manifests (or pieces) under the same nonce (docs/protocol.md part 3, "Nonces").
// Run: node --test tests/js/keystore.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { pickKey } from '../../web/src/engine/transfer/keystore.js';
import { manifestBytes } from '../../web/src/engine/transfer/content.js';

const file = (size, lastModified) => ({ size, lastModified });
const entries = [{ path: 'a.mp4', file: file(3, 1000) }, { path: 'b/c.txt', file: file(2, 2000) }];
const manifest = {
  v: 1, piece_size: 262144, total: 5,
  files: [{ path: 'a.mp4', size: 3, type: 'video/mp4', fragments: [[0, 1]] }, { path: 'b/c.txt', size: 2, type: 'text/plain' }],
};

test('the same pick and manifest give the same key: a reload resumes the share', async () => {
  assert.equal(await pickKey(entries, manifest), await pickKey(structuredClone(entries), structuredClone(manifest)));
});

test('two different manifests never share a key, so never the saved keys and their nonces', async () => {
  const variants = [
    { ...manifest, piece_size: 1 << 20 }, // another version of the page, another piece size
    { ...manifest, files: [{ ...manifest.files[0], type: 'video/mp4; codecs="avc1.64001f"' }, manifest.files[1]] },
    { ...manifest, files: [{ ...manifest.files[0], fragments: [[0, 2]] }, manifest.files[1]] }, // another scan
    { ...manifest, files: [{ path: 'a.mp4', size: 3, type: 'video/mp4' }, manifest.files[1]] },
  ];
  const keys = new Set([await pickKey(entries, manifest)]);
  for (const variant of variants) keys.add(await pickKey(entries, variant));
  assert.equal(keys.size, variants.length + 1);
});

test('any two distinct manifests get distinct keys; so does a changed size or time', async () => {
  const sizes = fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 4 });
  const made = fc.record({ pieceSize: fc.constantFrom(16384, 1 << 20), sizes, type: fc.constantFrom('', 'a/b') }).map(({ pieceSize, sizes: s, type }) => ({
    v: 1, piece_size: pieceSize, total: s.reduce((a, b) => a + b, 0), files: s.map((size, i) => ({ path: `f${i}`, size, type })),
  }));
  await fc.assert(fc.asyncProperty(made, made, async (one, two) => {
    const pick = (m) => m.files.map(({ path, size }) => ({ path, file: file(size, 7) }));
    const same = Buffer.compare(Buffer.from(manifestBytes(one)), Buffer.from(manifestBytes(two))) === 0;
    assert.equal((await pickKey(pick(one), one)) === (await pickKey(pick(two), two)), same);
  }), { numRuns: 200 });
  const touched = entries.map(({ path, file: f }, i) => ({ path, file: file(f.size, f.lastModified + (i === 1 ? 1 : 0)) }));
  assert.notEqual(await pickKey(touched, manifest), await pickKey(entries, manifest));
});
