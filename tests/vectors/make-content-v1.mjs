// Writes tests/vectors/content-v1.json: the content format (docs/protocol.md, part 3) computed for
// fixed inputs, so that the browser code and the C code can both be checked against the same bytes.
// Run from anywhere: node tests/vectors/make-content-v1.mjs
// The output is deterministic (Ed25519 signatures are, RFC 8032) but for the sealed manifest, whose
// nonce is random: rerunning changes that one value, which both sides open rather than remake.
import { writeFileSync } from 'node:fs';
import {
  deriveContentKey,
  encryptPiece,
  formatLinkSecret,
  pieceCount,
  pieceHash,
  pieceRange,
  publicKeyOf,
  sealManifest,
  signHashes,
  signingKeyFromSeed,
} from '../../web/src/engine/transfer/content.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const range = (from, count) => Uint8Array.from({ length: count }, (_, i) => from + i);

// The fixed inputs.
const secret = range(0x00, 16);
const seed = range(0x20, 32);
const pieceSize = 16384;
const files = [
  { path: 'docs/hello.txt', type: 'text/plain', content: new TextEncoder().encode('hello swarmdrop\n') },
  {
    path: 'data/blob.bin',
    type: 'application/octet-stream',
    content: Uint8Array.from({ length: 40000 }, (_, j) => (j * 7 + 3) & 0xff),
  },
];

const total = files.reduce((sum, file) => sum + file.content.length, 0);
const stream = new Uint8Array(total);
files.reduce((offset, file) => (stream.set(file.content, offset), offset + file.content.length), 0);

const signingKey = await signingKeyFromSeed(seed);
const publicKey = await publicKeyOf(signingKey);
const contentKey = await deriveContentKey(secret, true); // extractable here only, to print K
const manifest = {
  v: 1,
  piece_size: pieceSize,
  total,
  files: files.map(({ path, content, type }) => ({ path, size: content.length, type })),
};
const manifestJson = JSON.stringify(manifest);
const sealed = await sealManifest(contentKey, signingKey, manifest);

const pieces = [];
for (let index = 0; index < pieceCount(total, pieceSize); index++) {
  const { start, end } = pieceRange(manifest, index);
  const ciphertext = await encryptPiece(contentKey, index, stream.subarray(start, end));
  pieces.push({ index, ciphertext: hex(ciphertext), hash: hex(await pieceHash(ciphertext)) });
}
const hashes = Buffer.concat(pieces.map((piece) => Buffer.from(piece.hash, 'hex')));
const signature = await signHashes(signingKey, 0, new Uint8Array(hashes));

const vectors = {
  description:
    'swarmdrop content format v1 (docs/protocol.md, part 3). Inputs: secret, ed25519_seed, piece_size, ' +
    'files (path, size, type, content). Everything else is derived: public_key (RFC 8032 from the seed), ' +
    'link_secret (base64url of secret || public_key), content_key (HKDF-SHA256), manifest_json (UTF-8, ' +
    'members in this order, no spaces), sealed_manifest (its first 12 bytes are its random nonce N), pieces of the files concatenated in order ' +
    '(ciphertext is ciphertext || tag, hash is SHA-256 of it), hash_batch (hashes is the concatenation ' +
    'of the piece hashes). Binary values are lowercase hex.',
  secret: hex(secret),
  ed25519_seed: hex(seed),
  public_key: hex(publicKey),
  link_secret: formatLinkSecret(secret, publicKey),
  content_key: hex(await crypto.subtle.exportKey('raw', contentKey)),
  piece_size: pieceSize,
  total,
  files: files.map(({ path, content, type }) => ({ path, size: content.length, type, content: hex(content) })),
  manifest_json: manifestJson,
  sealed_manifest: hex(sealed),
  pieces,
  hash_batch: { first: 0, count: pieces.length, hashes: hex(hashes), signature: hex(signature) },
};

const out = new URL('./content-v1.json', import.meta.url);
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n');
console.log(`wrote ${out.pathname}`);
