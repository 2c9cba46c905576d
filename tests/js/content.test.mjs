// The content format (docs/protocol.md, part 3) as web/src/engine/content.js implements it:
// the test vectors recomputed (by content.js, and independently by node:crypto), round trips,
// and every kind of bad input the format refuses. Run: node --test tests/js/
import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  IntegrityError,
  LINK_SECRET_LENGTH,
  LinkError,
  MANIFEST_MAX_BYTES,
  ManifestError,
  SEALED_MANIFEST_MAX_BYTES,
  createShareKeys,
  decryptPiece,
  deriveContentKey,
  encryptPiece,
  exportSigningKey,
  formatLinkSecret,
  fromBase64,
  importSigningKey,
  manifestBytes,
  openManifest,
  openShareKeys,
  parseLinkSecret,
  pieceCount,
  pieceHash,
  pieceRange,
  publicKeyOf,
  sealManifest,
  sealManifestBytes,
  signHashes,
  signingKeyFromSeed,
  toBase64,
  validateManifest,
  verifyHashes,
} from '../../web/src/engine/transfer/content.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/content-v1.json', import.meta.url), 'utf8'));
const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

const fromHex = (text) => new Uint8Array(Buffer.from(text, 'hex'));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const flipped = (bytes, at) => {
  const copy = bytes.slice();
  copy[at < 0 ? copy.length + at : at] ^= 0x01;
  return copy;
};
const concat = (...parts) => new Uint8Array(Buffer.concat(parts));

// The vector's inputs and the values everything else is built from.
const secret = fromHex(vectors.secret);
const seed = fromHex(vectors.ed25519_seed);
const publicKey = fromHex(vectors.public_key);
const stream = concat(...vectors.files.map((file) => fromHex(file.content)));
const manifest = {
  v: 1,
  piece_size: vectors.piece_size,
  total: vectors.total,
  files: vectors.files.map(({ path, size, type }) => ({ path, size, type })),
};
const signingKey = await signingKeyFromSeed(seed);
const { contentKey, verifyKey } = await openShareKeys({ secret, publicKey });
const sealed = fromHex(vectors.sealed_manifest);
const batchHashes = fromHex(vectors.hash_batch.hashes);
const batchSignature = fromHex(vectors.hash_batch.signature);

// Seals arbitrary plaintext the way sealManifest does, skipping validation: for manifests that
// break a rule but carry a good signature and tag, which openManifest must still refuse.
const sealRaw = (plaintext) => sealManifestBytes(contentKey, signingKey, plaintext);

describe('test vectors (tests/vectors/content-v1.json)', () => {
  test('the inputs are the documented ones', () => {
    assert.equal(vectors.secret, '000102030405060708090a0b0c0d0e0f');
    assert.equal(vectors.ed25519_seed, hex(Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i)));
    assert.equal(vectors.piece_size, 16384);
    assert.deepEqual(
      vectors.files.map((file) => [file.path, file.size, file.type, file.content.length / 2]),
      [
        ['docs/hello.txt', 16, 'text/plain', 16],
        ['data/blob.bin', 40000, 'application/octet-stream', 40000],
      ],
    );
    assert.equal(Buffer.from(fromHex(vectors.files[0].content)).toString(), 'hello swarmdrop\n');
    const blob = fromHex(vectors.files[1].content);
    assert.ok(blob.every((byte, j) => byte === ((j * 7 + 3) & 0xff)));
    assert.equal(vectors.total, 40016);
    assert.equal(vectors.pieces.length, 3);
  });

  test('public key and link secret', async () => {
    assert.equal(hex(await publicKeyOf(signingKey)), vectors.public_key);
    assert.equal(formatLinkSecret(secret, publicKey), vectors.link_secret);
    assert.equal(vectors.link_secret.length, LINK_SECRET_LENGTH);
    const parsed = parseLinkSecret(vectors.link_secret);
    assert.equal(hex(parsed.secret), vectors.secret);
    assert.equal(hex(parsed.publicKey), vectors.public_key);
  });

  test('content key', async () => {
    const key = await deriveContentKey(secret, true);
    assert.equal(hex(await subtle.exportKey('raw', key)), vectors.content_key);
    assert.equal(contentKey.extractable, false);
    assert.equal(contentKey.algorithm.name, 'AES-GCM');
    assert.equal(verifyKey.algorithm.name, 'Ed25519');
  });

  test('manifest JSON', () => {
    assert.equal(Buffer.from(manifestBytes(manifest)).toString(), vectors.manifest_json);
    assert.deepEqual(validateManifest(JSON.parse(vectors.manifest_json)), manifest);
  });

  test('sealed manifest', async () => {
    // Its nonce is random: the vectors' opens, and one sealed here opens the same.
    assert.deepEqual(await openManifest(contentKey, verifyKey, sealed), manifest);
    const here = await sealManifest(contentKey, signingKey, manifest);
    assert.equal(here.length, sealed.length);
    assert.deepEqual(await openManifest(contentKey, verifyKey, here), manifest);
  });

  test('pieces and their hashes', async () => {
    for (const piece of vectors.pieces) {
      const { start, end } = pieceRange(manifest, piece.index);
      const ciphertext = await encryptPiece(contentKey, piece.index, stream.subarray(start, end));
      assert.equal(hex(ciphertext), piece.ciphertext, `piece ${piece.index}`);
      assert.equal(hex(await pieceHash(ciphertext)), piece.hash, `hash ${piece.index}`);
      assert.deepEqual(await decryptPiece(contentKey, piece.index, fromHex(piece.ciphertext)), stream.subarray(start, end));
    }
    // Piece 0 carries all of the first file and the start of the second.
    assert.ok(vectors.files[0].size < vectors.piece_size);
    assert.equal(vectors.pieces[2].ciphertext.length / 2, vectors.total - 2 * vectors.piece_size + 16);
  });

  test('hash batch', async () => {
    assert.deepEqual(vectors.hash_batch.first, 0);
    assert.deepEqual(vectors.hash_batch.count, 3);
    assert.equal(vectors.hash_batch.hashes, vectors.pieces.map((piece) => piece.hash).join(''));
    assert.equal(hex(await signHashes(signingKey, 0, batchHashes)), vectors.hash_batch.signature);
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes, batchSignature), true);
  });

  test('a receiver gets from the link alone to the files', async () => {
    const keys = await openShareKeys(parseLinkSecret(vectors.link_secret));
    const opened = await openManifest(keys.contentKey, keys.verifyKey, sealed);
    assert.equal(await verifyHashes(keys.verifyKey, 0, batchHashes, batchSignature), true);
    const parts = [];
    for (let index = 0; index < pieceCount(opened.total, opened.piece_size); index++) {
      const ciphertext = fromHex(vectors.pieces[index].ciphertext);
      assert.deepEqual(await pieceHash(ciphertext), batchHashes.subarray(index * 32, index * 32 + 32));
      parts.push(await decryptPiece(keys.contentKey, index, ciphertext));
    }
    assert.deepEqual(concat(...parts), stream);
  });

  // The same values from node:crypto's own HKDF, AES-GCM and Ed25519: catches a mistake that
  // content.js and its vectors would share (a nonce layout, a label, a byte order).
  test('independently recomputed with node:crypto', () => {
    const key = Buffer.from(nodeCrypto.hkdfSync('sha256', secret, Buffer.alloc(0), 'swarmdrop/1 content key', 32));
    assert.equal(key.toString('hex'), vectors.content_key);
    const gcm = (iv, plaintext, aad) => {
      const cipher = nodeCrypto.createCipheriv('aes-256-gcm', key, iv);
      if (aad) cipher.setAAD(aad);
      return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    };
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const privateKey = nodeCrypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const raw = nodeCrypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32);
    assert.equal(raw.toString('hex'), vectors.public_key);
    assert.equal(Buffer.concat([secret, raw]).toString('base64url'), vectors.link_secret);

    // sealed = N || AES-GCM(K, N, JSON, label) || Ed25519(label || N || M), N its first 12 bytes.
    const label = Buffer.from('swarmdrop/1 manifest');
    const n = Buffer.from(sealed.subarray(0, 12));
    const m = gcm(n, Buffer.from(vectors.manifest_json), label);
    const signature = nodeCrypto.sign(null, Buffer.concat([label, n, m]), privateKey);
    assert.equal(Buffer.concat([n, m, signature]).toString('hex'), vectors.sealed_manifest);

    const hashes = [];
    for (const piece of vectors.pieces) {
      const iv = Buffer.alloc(12);
      iv.writeUInt32BE(1, 0);
      iv.writeBigUInt64BE(BigInt(piece.index), 4);
      const start = piece.index * vectors.piece_size;
      const c = gcm(iv, stream.subarray(start, Math.min(start + vectors.piece_size, vectors.total)));
      assert.equal(c.toString('hex'), piece.ciphertext);
      const h = nodeCrypto.createHash('sha256').update(c).digest();
      assert.equal(h.toString('hex'), piece.hash);
      hashes.push(h);
    }
    const header = Buffer.alloc(12);
    header.writeBigUInt64BE(0n, 0);
    header.writeUInt32BE(3, 8);
    const message = Buffer.concat([Buffer.from('swarmdrop/1 hashes'), header, ...hashes]);
    assert.equal(nodeCrypto.sign(null, message, privateKey).toString('hex'), vectors.hash_batch.signature);
  });
});

describe('round trips', () => {
  test('a new share: keys, link secret, manifest, pieces, hashes', async () => {
    const keys = await createShareKeys();
    assert.equal(keys.secret.length, 16);
    assert.equal(keys.publicKey.length, 32);
    assert.equal(keys.signingKey.type, 'private');
    assert.equal(keys.signingKey.extractable, true);
    assert.equal(keys.linkSecret.length, LINK_SECRET_LENGTH);
    assert.match(keys.linkSecret, /^[A-Za-z0-9_-]{64}$/);
    assert.deepEqual(await publicKeyOf(keys.signingKey), keys.publicKey);

    const opened = await openShareKeys(parseLinkSecret(keys.linkSecret));
    const senderKeys = await openShareKeys(keys);
    const sealedHere = await sealManifest(senderKeys.contentKey, keys.signingKey, manifest);
    assert.deepEqual(await openManifest(opened.contentKey, opened.verifyKey, sealedHere), manifest);

    const plaintext = nodeCrypto.randomBytes(1000);
    const ciphertext = await encryptPiece(senderKeys.contentKey, 7, plaintext);
    assert.equal(ciphertext.length, 1016);
    assert.deepEqual(await decryptPiece(opened.contentKey, 7, ciphertext), new Uint8Array(plaintext));

    const hashes = concat(await pieceHash(ciphertext), await pieceHash(flipped(ciphertext, 0)));
    const signature = await signHashes(keys.signingKey, 6, hashes);
    assert.equal(signature.length, 64);
    assert.equal(await verifyHashes(opened.verifyKey, 6, hashes, signature), true);
    assert.notDeepEqual(keys.secret, (await createShareKeys()).secret);
  });

  test('a sender that reloads its signing key signs the same', async () => {
    const pkcs8 = await exportSigningKey(signingKey);
    assert.equal(hex(pkcs8), '302e020100300506032b657004220420' + vectors.ed25519_seed);
    const reloaded = await importSigningKey(pkcs8);
    assert.equal(hex(await signHashes(reloaded, 0, batchHashes)), vectors.hash_batch.signature);
    assert.deepEqual(await publicKeyOf(reloaded), publicKey);
    const keys = await createShareKeys();
    const again = await importSigningKey(await exportSigningKey(keys.signingKey));
    assert.deepEqual(await publicKeyOf(again), keys.publicKey);
    await assert.rejects(importSigningKey(new Uint8Array(48)), /not an Ed25519 private key/);
  });

  test('an empty piece and an empty file', async () => {
    const ciphertext = await encryptPiece(contentKey, 0, new Uint8Array(0));
    assert.equal(ciphertext.length, 16);
    assert.deepEqual(await decryptPiece(contentKey, 0, ciphertext), new Uint8Array(0));
    const empty = { v: 1, piece_size: 16384, total: 0, files: [{ path: 'empty', size: 0, type: '' }] };
    assert.deepEqual(await openManifest(contentKey, verifyKey, await sealManifest(contentKey, signingKey, empty)), empty);
    assert.equal(pieceCount(0, 16384), 0);
  });

  test('validateManifest returns the members in canonical order', () => {
    const shuffled = {
      files: [{ type: 'text/plain', size: 16, path: 'docs/hello.txt' }, { ...manifest.files[1] }],
      total: manifest.total,
      piece_size: manifest.piece_size,
      v: 1,
    };
    assert.equal(JSON.stringify(validateManifest(shuffled)), vectors.manifest_json);
    assert.equal(Buffer.from(manifestBytes(shuffled)).toString(), vectors.manifest_json);
  });

  test('non-ASCII paths are counted in UTF-8 bytes and sealed as UTF-8', async () => {
    const unicode = {
      v: 1,
      piece_size: 16384,
      total: 3,
      files: [
        { path: 'Grüße/日本語/😀.txt', size: 1, type: 'text/plain; charset=utf-8' },
        { path: 'é/'.repeat(31) + 'é'.repeat(127), size: 2, type: 'é'.repeat(127) + 'x' },
      ],
    };
    assert.deepEqual(await openManifest(contentKey, verifyKey, await sealManifest(contentKey, signingKey, unicode)), unicode);
  });

  test('base64 for JSON messages', () => {
    // RFC 4648 §10.
    const cases = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of cases) {
      assert.equal(toBase64(encoder.encode(plain)), encoded);
      assert.deepEqual(fromBase64(encoded), encoder.encode(plain));
    }
    for (let length = 0; length < 70; length++) {
      const data = new Uint8Array(nodeCrypto.randomBytes(length));
      const encoded = toBase64(data);
      assert.equal(encoded, Buffer.from(data).toString('base64'));
      assert.deepEqual(fromBase64(encoded), data);
    }
    assert.equal(toBase64(Uint8Array.of(0xfb, 0xff)), '+/8=');
  });

  test('pieceCount and pieceRange', () => {
    assert.equal(pieceCount(1, 16384), 1);
    assert.equal(pieceCount(16384, 16384), 1);
    assert.equal(pieceCount(16385, 16384), 2);
    assert.equal(pieceCount(Number.MAX_SAFE_INTEGER, 16777216), 536870912);
    assert.deepEqual(pieceRange(manifest, 0), { start: 0, end: 16384 });
    assert.deepEqual(pieceRange(manifest, 1), { start: 16384, end: 32768 });
    assert.deepEqual(pieceRange(manifest, 2), { start: 32768, end: 40016 });
    assert.throws(() => pieceCount(-1, 16384), RangeError);
    assert.throws(() => pieceCount(10, 0), RangeError);
  });
});

describe('bad input', () => {
  test('link secrets of the wrong length', () => {
    const good = vectors.link_secret;
    for (const text of [good.slice(0, 63), good + 'A', good.slice(0, 43), good + good]) {
      assert.throws(() => parseLinkSecret(text), (error) => error instanceof LinkError && /characters instead of 64/.test(error.message));
    }
    assert.throws(() => parseLinkSecret(''), LinkError);
    assert.throws(() => parseLinkSecret(undefined), LinkError);
    assert.throws(() => parseLinkSecret(null), LinkError);
  });

  test('link secrets with characters outside base64url', () => {
    const good = vectors.link_secret;
    for (const bad of ['+', '/', '.', ' ', '%', 'é', '\n', '#']) {
      const text = good.slice(0, 20) + bad + good.slice(21);
      assert.throws(() => parseLinkSecret(text), (error) => error instanceof LinkError && /characters other than/.test(error.message), JSON.stringify(bad));
    }
    assert.throws(() => parseLinkSecret(' ' + good), LinkError);
  });

  test('link secrets with padding', () => {
    const good = vectors.link_secret;
    for (const text of [good + '=', good + '==', good.slice(0, 63) + '=', good.slice(0, 62) + '==']) {
      assert.throws(() => parseLinkSecret(text), (error) => error instanceof LinkError && /padding/.test(error.message));
    }
  });

  test('keys of the wrong size', async () => {
    await assert.rejects(openShareKeys({ secret: secret.subarray(1), publicKey }), LinkError);
    await assert.rejects(openShareKeys({ secret, publicKey: publicKey.subarray(1) }), LinkError);
    await assert.rejects(openShareKeys({ secret: undefined, publicKey }), LinkError);
    assert.throws(() => formatLinkSecret(secret.subarray(1), publicKey), RangeError);
    assert.throws(() => formatLinkSecret(secret, new Uint8Array(33)), RangeError);
    await assert.rejects(signingKeyFromSeed(new Uint8Array(31)), RangeError);
  });

  test('two seals never share a nonce, whatever they seal', async () => {
    const other = { ...manifest, piece_size: 32768 };
    const seals = await Promise.all(Array.from({ length: 200 }, (_, i) => sealManifest(contentKey, signingKey, i % 2 ? manifest : other)));
    assert.equal(new Set(seals.map((s) => hex(s.subarray(0, 12)))).size, seals.length);
    assert.deepEqual(await openManifest(contentKey, verifyKey, seals[0]), other);
    assert.deepEqual(await openManifest(contentKey, verifyKey, seals[1]), manifest);
  });

  test('a truncated sealed manifest', async () => {
    for (const short of [sealed.subarray(0, 0), sealed.subarray(0, 91), sealed.subarray(0, 92)]) {
      await assert.rejects(openManifest(contentKey, verifyKey, short), IntegrityError);
    }
    await assert.rejects(openManifest(contentKey, verifyKey, sealed.subarray(0, sealed.length - 1)), IntegrityError);
    await assert.rejects(openManifest(contentKey, verifyKey, sealed.subarray(1)), IntegrityError);
    await assert.rejects(openManifest(contentKey, verifyKey, concat(sealed, Uint8Array.of(0))), IntegrityError);
  });

  test('an oversized sealed manifest', async () => {
    assert.equal(SEALED_MANIFEST_MAX_BYTES, 4 * 1024 * 1024 + 92);
    await assert.rejects(
      openManifest(contentKey, verifyKey, new Uint8Array(SEALED_MANIFEST_MAX_BYTES + 1)),
      (error) => error instanceof ManifestError && /larger than 4194304 bytes/.test(error.message),
    );
    // Exactly at the limit it is judged by its signature.
    await assert.rejects(openManifest(contentKey, verifyKey, new Uint8Array(SEALED_MANIFEST_MAX_BYTES)), IntegrityError);
  });

  test('a flipped byte anywhere in the sealed manifest', async () => {
    const tagStart = sealed.length - 64 - 16;
    for (const at of [0, 11, 12, 20, tagStart - 1, tagStart, sealed.length - 65, sealed.length - 64, sealed.length - 1]) {
      await assert.rejects(openManifest(contentKey, verifyKey, flipped(sealed, at)), IntegrityError, `byte ${at}`);
    }
  });

  test('a flipped byte in a piece ciphertext or tag', async () => {
    const ciphertext = fromHex(vectors.pieces[1].ciphertext);
    for (const at of [0, 100, ciphertext.length - 17, ciphertext.length - 16, ciphertext.length - 1]) {
      await assert.rejects(decryptPiece(contentKey, 1, flipped(ciphertext, at)), IntegrityError, `byte ${at}`);
      assert.notEqual(hex(await pieceHash(flipped(ciphertext, at))), vectors.pieces[1].hash);
    }
    await assert.rejects(decryptPiece(contentKey, 1, ciphertext.subarray(0, 15)), IntegrityError);
    await assert.rejects(decryptPiece(contentKey, 1, ciphertext.subarray(1)), IntegrityError);
  });

  test('a piece under the wrong index', async () => {
    const ciphertext = fromHex(vectors.pieces[1].ciphertext);
    await assert.rejects(decryptPiece(contentKey, 0, ciphertext), IntegrityError);
    await assert.rejects(decryptPiece(contentKey, 2, ciphertext), IntegrityError);
    await assert.rejects(decryptPiece(contentKey, -1, ciphertext), RangeError);
    await assert.rejects(encryptPiece(contentKey, 1.5, new Uint8Array(1)), RangeError);
  });

  test('a wrong secret', async () => {
    const wrong = await openShareKeys({ secret: flipped(secret, 0), publicKey });
    await assert.rejects(openManifest(wrong.contentKey, wrong.verifyKey, sealed), (error) => error instanceof IntegrityError && /decrypt/.test(error.message));
    await assert.rejects(decryptPiece(wrong.contentKey, 0, fromHex(vectors.pieces[0].ciphertext)), IntegrityError);
  });

  test('a wrong public key', async () => {
    const other = await createShareKeys();
    for (const key of [other.publicKey, flipped(publicKey, 0), flipped(publicKey, 31)]) {
      let wrong;
      try {
        wrong = await openShareKeys({ secret, publicKey: key });
      } catch (error) {
        assert.ok(error instanceof LinkError); // a key that is no curve point may be refused on import
        continue;
      }
      await assert.rejects(openManifest(wrong.contentKey, wrong.verifyKey, sealed), (error) => error instanceof IntegrityError && /signature/.test(error.message));
      assert.equal(await verifyHashes(wrong.verifyKey, 0, batchHashes, batchSignature), false);
    }
  });

  test('a hash batch with one flipped hash', async () => {
    for (const at of [0, 31, 32, 95]) {
      assert.equal(await verifyHashes(verifyKey, 0, flipped(batchHashes, at), batchSignature), false, `byte ${at}`);
    }
  });

  test('a hash batch with a shifted first index', async () => {
    assert.equal(await verifyHashes(verifyKey, 1, batchHashes, batchSignature), false);
    assert.equal(await verifyHashes(verifyKey, 2 ** 32, batchHashes, batchSignature), false);
    assert.equal(await verifyHashes(verifyKey, -1, batchHashes, batchSignature), false);
    // A valid batch from 1 on is not one from 0 on.
    const signature = await signHashes(signingKey, 1, batchHashes);
    assert.equal(await verifyHashes(verifyKey, 1, batchHashes, signature), true);
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes, signature), false);
  });

  test('a hash batch with hashes missing, a bad signature or bad shapes', async () => {
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes.subarray(0, 64), batchSignature), false);
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes.subarray(32), batchSignature), false);
    assert.equal(await verifyHashes(verifyKey, 0, concat(batchHashes, batchHashes.subarray(0, 32)), batchSignature), false);
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes.subarray(0, 95), batchSignature), false);
    assert.equal(await verifyHashes(verifyKey, 0, new Uint8Array(0), batchSignature), false);
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes, flipped(batchSignature, 0)), false);
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes, flipped(batchSignature, 63)), false);
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes, batchSignature.subarray(1)), false);
    assert.equal(await verifyHashes(verifyKey, 0, batchHashes, undefined), false);
    await assert.rejects(signHashes(signingKey, 0, new Uint8Array(0)), RangeError);
    await assert.rejects(signHashes(signingKey, 0, new Uint8Array(33)), RangeError);
    await assert.rejects(signHashes(signingKey, 1.5, batchHashes), RangeError);
  });

  test('a piece index out of range', () => {
    for (const index of [-1, 3, 4, 1.5, NaN, '1', undefined, 2 ** 53]) {
      assert.throws(() => pieceRange(manifest, index), RangeError, String(index));
    }
    const empty = { v: 1, piece_size: 16384, total: 0, files: [{ path: 'a', size: 0, type: '' }] };
    assert.throws(() => pieceRange(empty, 0), RangeError);
  });

  test('bad base64', () => {
    for (const text of ['Zg=', 'Zg', 'Z===', 'Zh==', 'Zm9=', 'Zm9v!A==', 'Zm 9v', 'Zm9v\n', '-_8=', '=Zg=', 'Zg==Zg==', 'Zm9vY===', 'é===']) {
      assert.throws(() => fromBase64(text), SyntaxError, JSON.stringify(text));
    }
    assert.throws(() => fromBase64(undefined), SyntaxError);
    assert.throws(() => toBase64('text'), TypeError);
  });
});

describe('every manifest rule', () => {
  const base = () => structuredClone(manifest);
  const refused = (value, rule) =>
    assert.throws(() => validateManifest(value), (error) => error instanceof ManifestError && rule.test(error.message), `${rule}: ${JSON.stringify(value)?.slice(0, 200)}`);
  const withTop = (changes) => Object.assign(base(), changes);
  const withFile = (changes) => {
    const value = base();
    Object.assign(value.files[0], changes);
    return value;
  };
  // A file whose size still adds up, for rules about path and type.
  const onePath = (path) => ({ v: 1, piece_size: 16384, total: 0, files: [{ path, size: 0, type: '' }] });
  const oneType = (type) => ({ v: 1, piece_size: 16384, total: 0, files: [{ path: 'a', size: 0, type }] });

  test('the manifest is an object with exactly v, piece_size, total, files', () => {
    for (const value of [null, [], 'x', 1, true, undefined]) refused(value, /must be a JSON object/);
    refused(withTop({ name: 'x' }), /unknown member "name"/);
    refused(withTop({ __proto__: null, extra: 1 }), /unknown member/);
    for (const member of ['v', 'piece_size', 'total', 'files']) {
      const value = base();
      delete value[member];
      refused(value, new RegExp(`lacks the member "${member}"`));
    }
  });

  test('v is 1', () => {
    for (const v of [0, 2, '1', 1.5, true, null]) refused(withTop({ v }), /"v" must be 1/);
  });

  test('piece_size is a power of two from 16384 to 16777216', () => {
    for (const piece_size of [0, -16384, 8192, 16383, 16385, 49152, 33554432, 16384.5, '16384', null, Infinity, NaN, 2 ** 40]) {
      refused(withTop({ piece_size }), /"piece_size" must be a power of two from 16384 to 16777216/);
    }
    for (let size = 16384; size <= 16777216; size *= 2) assert.equal(validateManifest(withTop({ piece_size: size })).piece_size, size);
  });

  test('total is an integer from 0 to 2^53 - 1', () => {
    for (const total of [-1, 1.5, '40016', null, 2 ** 53, Infinity]) refused(withTop({ total }), /"total" must be an integer/);
    const max = { v: 1, piece_size: 16384, total: Number.MAX_SAFE_INTEGER, files: [{ path: 'big', size: Number.MAX_SAFE_INTEGER, type: '' }] };
    assert.equal(validateManifest(max).total, Number.MAX_SAFE_INTEGER);
  });

  test('total is the sum of the sizes', () => {
    refused(withTop({ total: manifest.total + 1 }), /add up to 40016, not to "total" \(40017\)/);
    refused(withTop({ total: manifest.total - 1 }), /add up to/);
    const over = {
      v: 1,
      piece_size: 16384,
      total: Number.MAX_SAFE_INTEGER,
      files: [
        { path: 'a', size: Number.MAX_SAFE_INTEGER, type: '' },
        { path: 'b', size: 1, type: '' },
      ],
    };
    refused(over, /add up to more than 2\^53 - 1/);
  });

  test('files is an array of 1 to 10000 entries', () => {
    for (const files of [{}, 'a', null, { 0: manifest.files[0] }]) refused(withTop({ files }), /"files" must be an array/);
    refused(withTop({ files: [], total: 0 }), /"files" must have 1 to 10000 entries/);
    const many = (count) => ({
      v: 1,
      piece_size: 16384,
      total: count,
      files: Array.from({ length: count }, (_, i) => ({ path: `f/${i}`, size: 1, type: '' })),
    });
    assert.equal(validateManifest(many(10000)).files.length, 10000);
    refused(many(10001), /"files" must have 1 to 10000 entries/);
  });

  test('each file is an object with exactly path, size, type', () => {
    for (const file of [null, [], 'a', 1]) {
      const value = base();
      value.files[1] = file;
      refused(value, /File 1 must be a JSON object/);
    }
    refused(withFile({ mtime: 0 }), /File 0 has an unknown member "mtime"/);
    for (const member of ['path', 'size', 'type']) {
      const value = base();
      delete value.files[0][member];
      refused(value, new RegExp(`File 0 lacks the member "${member}"`));
    }
  });

  test('path is a string of 1 to 4096 UTF-8 bytes', () => {
    for (const path of [1, null, undefined, ['a'], {}]) refused(withFile({ path }), /"path" must be a string/);
    const segment = (c, n) => c.repeat(n);
    refused(onePath(''), /"path" must be 1 to 4096 bytes/);
    // 17 segments of 240 bytes: 4096 bytes is the most; one more byte is refused.
    const longest = Array.from({ length: 17 }, () => segment('a', 240)).join('/');
    assert.equal(Buffer.byteLength(longest), 4096);
    assert.ok(validateManifest(onePath(longest)));
    refused(onePath(`${longest}b`), /"path" must be 1 to 4096 bytes/);
    refused(onePath(Array.from({ length: 17 }, () => segment('é', 127)).join('/')), /"path" must be 1 to 4096 bytes/); // 4334 bytes
    assert.ok(validateManifest(onePath(Array.from({ length: 16 }, () => segment('😀', 63)).join('/'))));
    refused(onePath('a\ud800b'), /"path" is not valid Unicode text/);
    refused(onePath('\udc00'), /"path" is not valid Unicode text/);
  });

  test('path has no empty, . or .. segment', () => {
    for (const path of ['a//b', 'a/', '.', './a', 'a/.', 'a/./b', '..', '../a', 'a/..', 'a/../b', '//a']) {
      refused(onePath(path), /must not start with \/ or have an empty, \. or \.\. segment/);
    }
    for (const path of ['..a', '.hidden', 'a b/c', '-', 'a/b/c/d', 'a/.x']) assert.ok(validateManifest(onePath(path)), path);
  });

  test('path has no leading /', () => {
    for (const path of ['/', '/a', '/a/b']) refused(onePath(path), /"path" must not start with \//);
  });

  test('path has no backslash', () => {
    for (const path of ['a\\b', '\\a', 'a\\', 'x\\y']) refused(onePath(path), /"path" must not contain \\/);
  });

  test('path has no control characters', () => {
    for (const c of ['\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f']) {
      refused(onePath(`a${c}b`), /"path" must not contain control characters/);
    }
    for (const path of ['a\u00a0b', 'a\u2028b', 'a\u00adb']) assert.ok(validateManifest(onePath(path)));
  });

  test('paths are unique', () => {
    const value = base();
    value.files[1].path = value.files[0].path;
    refused(value, /File 1: the path "docs\/hello.txt" appears twice/);
    // Case and normalisation aside (tests/js/names.test.mjs has the rule's vectors).
    const caseOnly = base();
    caseOnly.files[1].path = 'DOCS/hello.txt';
    refused(caseOnly, /File 1: the path "DOCS\/hello.txt" appears twice/);
  });

  test('size is an integer from 0 to 2^53 - 1', () => {
    for (const size of [-1, 1.5, '16', null, 2 ** 53, NaN]) refused(withFile({ size }), /"size" must be an integer/);
  });

  test('type is a string of at most 255 UTF-8 bytes', () => {
    for (const type of [null, 1, undefined, ['text/plain']]) refused(withFile({ type }), /"type" must be a string/);
    refused(oneType('a'.repeat(256)), /"type" is longer than 255 bytes/);
    refused(oneType('é'.repeat(128)), /"type" is longer than 255 bytes/);
    refused(oneType('\ud800'), /"type" is not valid Unicode text/);
    assert.ok(validateManifest(oneType('a'.repeat(255))));
    assert.ok(validateManifest(oneType('')));
  });

  test('a file may have a fragment index: 1 to 100000 [time_ms, offset], in order, inside the file', () => {
    const video = (fragments, size = 1000) => ({
      v: 1, piece_size: 16384, total: size, files: [{ path: 'v.mp4', size, type: 'video/mp4; codecs="avc1.64001f, mp4a.40.2"', fragments }],
    });
    const good = video([[0, 100], [2000, 400], [2000, 600], [4000, 999]]);
    const checked = validateManifest(good);
    assert.deepEqual(checked.files[0].fragments, [[0, 100], [2000, 400], [2000, 600], [4000, 999]]);
    // Member order path, size, type, fragments whatever the input's, and integers by value.
    const shuffled = { v: 1, piece_size: 16384, total: 1000, files: [{ fragments: [[0.0, 1e2]], type: '', size: 1000, path: 'v.mp4' }] };
    assert.equal(JSON.stringify(validateManifest(shuffled)),
      '{"v":1,"piece_size":16384,"total":1000,"files":[{"path":"v.mp4","size":1000,"type":"","fragments":[[0,100]]}]}');
    // Without the member nothing changes (the vectors stay as they are).
    assert.equal(Object.hasOwn(validateManifest(base()).files[0], 'fragments'), false);
    assert.equal(validateManifest(video([[Number.MAX_SAFE_INTEGER, 1]], 2)).files[0].fragments[0][0], Number.MAX_SAFE_INTEGER);
    const many = Array.from({ length: 100000 }, (_, k) => [k * 40, k + 1]);
    assert.equal(validateManifest(video(many, 200000)).files[0].fragments.length, 100000);
    refused(video([...many, [4_000_000, 100001]], 200000), /"fragments" must have 1 to 100000 entries/);
    refused(video([]), /"fragments" must have 1 to 100000 entries/);
    for (const fragments of [null, {}, 'x', 5, { 0: [0, 1] }]) refused(video(fragments), /"fragments" must be an array/);
    for (const entry of [[0], [0, 1, 2], {}, null, 5, '0,1']) refused(video([entry]), /fragment 0 must be an array of two integers/);
    for (const time of [-1, 1.5, '0', null, 2 ** 53, NaN]) refused(video([[time, 1]]), /fragment 0: time_ms must be an integer/);
    for (const offset of [-1, 1.5, '1', null, 2 ** 53]) refused(video([[0, offset]]), /fragment 0: offset must be an integer/);
    refused(video([[0, 0]]), /first offset must be above 0/);
    refused(video([[0, 100], [1000, 100]]), /fragment 1: offsets must increase \(100 after 100\)/);
    refused(video([[0, 100], [1000, 50]]), /offsets must increase/);
    refused(video([[2000, 100], [1000, 200]]), /fragment 1: time_ms goes back \(1000 after 2000\)/);
    refused(video([[0, 100], [10, 1000]]), /offset 1000 is not inside the file \(1000 bytes\)/);
    refused(video([[0, 1]], 0), /not inside the file/);
  });

  test('openManifest takes a fragment index and refuses a bad one', async () => {
    const json = '{"v":1,"piece_size":16384,"total":10,"files":[{"path":"v.mp4","size":10,"type":"video/mp4","fragments":[[0,4],[40,7]]}]}';
    const opened = await openManifest(contentKey, verifyKey, await sealRaw(encoder.encode(json)));
    assert.deepEqual(opened.files[0].fragments, [[0, 4], [40, 7]]);
    assert.equal(new TextDecoder().decode(manifestBytes(opened)), json);
    await assert.rejects(openManifest(contentKey, verifyKey, await sealRaw(encoder.encode(json.replace('[40,7]', '[40,4]')))),
      /offsets must increase/);
    await assert.rejects(openManifest(contentKey, verifyKey, await sealRaw(encoder.encode(json.replace('[[0,4]', '[[0,4],[0,4]').replace(',[[0,4]', ',[[0,4]')))),
      ManifestError);
  });

  test('the manifest is at most 4 MiB', () => {
    // 10000 paths of 430 bytes: about 4.5 MB of JSON.
    const files = Array.from({ length: 10000 }, (_, i) => ({ path: `${'p'.repeat(200)}/${String(i).padStart(229, 'p')}`, size: 0, type: '' }));
    refused({ v: 1, piece_size: 16384, total: 0, files }, new RegExp(`larger than ${MANIFEST_MAX_BYTES} bytes`));
    files.length = 9000;
    assert.ok(validateManifest({ v: 1, piece_size: 16384, total: 0, files }));
  });

  test('sealManifest validates before sealing', async () => {
    await assert.rejects(sealManifest(contentKey, signingKey, withTop({ v: 2 })), ManifestError);
  });

  test('openManifest refuses a signed manifest that breaks a rule', async () => {
    const cases = [
      [encoder.encode('not json'), /not valid JSON/],
      [Uint8Array.of(0x7b, 0xff, 0x7d), /not valid UTF-8/],
      [concat(Uint8Array.of(0xef, 0xbb, 0xbf), encoder.encode(vectors.manifest_json)), /not valid JSON/],
      [encoder.encode('[]'), /must be a JSON object/],
      [encoder.encode(JSON.stringify(withTop({ extra: 1 }))), /unknown member "extra"/],
      [encoder.encode(JSON.stringify(withFile({ path: '../etc/passwd' }))), /segment/],
      [encoder.encode(JSON.stringify(withFile({ path: 'docs/CON.txt' }))), /reserved device name/],
      [encoder.encode(vectors.manifest_json.replace('"v":1', '"v":1.5')), /"v" must be 1/],
      [encoder.encode(vectors.manifest_json.replace('"docs/hello.txt"', '"docs\\\\hello.txt"')), /must not contain \\/],
      [encoder.encode(vectors.manifest_json.replace('"docs/hello.txt"', '"docs/\\ud800.txt"')), /not valid Unicode/],
      // JSON.parse would keep the last of two equal names; the format has one of each.
      [encoder.encode(vectors.manifest_json.replace('"v":1', '"v":1,"v":1')), /member "v" twice/],
      [encoder.encode(vectors.manifest_json.replace('"size":16,', '"size":99,"size":16,')), /member "size" twice/],
      [encoder.encode(vectors.manifest_json.replace('"total":40016', '"total":40016,"tot\\u0061l":40016')), /member "total" twice/],
    ];
    for (const [plaintext, rule] of cases) {
      await assert.rejects(openManifest(contentKey, verifyKey, await sealRaw(plaintext)), (error) => error instanceof ManifestError && rule.test(error.message), String(rule));
    }
    // Member order and whitespace are not rules: any valid JSON of a valid manifest opens.
    const spaced = encoder.encode(JSON.stringify({ files: manifest.files, total: manifest.total, piece_size: 16384, v: 1 }, null, 2));
    assert.deepEqual(await openManifest(contentKey, verifyKey, await sealRaw(spaced)), manifest);
    // Over 4 MiB is refused by size, before any signature check.
    const huge = await sealRaw(new Uint8Array(MANIFEST_MAX_BYTES + 1).fill(0x20));
    await assert.rejects(openManifest(contentKey, verifyKey, huge), /larger than 4194304 bytes/);
    const limit = await sealRaw(new Uint8Array(MANIFEST_MAX_BYTES).fill(0x20));
    await assert.rejects(openManifest(contentKey, verifyKey, limit), /not valid JSON/);
  });
});
