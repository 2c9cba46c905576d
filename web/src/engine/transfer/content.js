// The content format (docs/protocol.md, part 3): the link secret, the keys derived from it, the
// encrypted pieces and their hashes, the sealed manifest and the signed hash batches. Pure
// functions over WebCrypto, no DOM: the same file runs in the browser and under node --test.
// src/sd_content.c implements the same bytes; tests/vectors/content-v1.json holds both to them.

const subtle = globalThis.crypto.subtle;

const KiB = 1024;
const MiB = 1024 * KiB;

export const LINK_SECRET_LENGTH = 64; // characters: base64url of 48 bytes, no padding
export const SECRET_LENGTH = 16; // S
export const PUBLIC_KEY_LENGTH = 32; // P, raw Ed25519
export const TAG_LENGTH = 16; // AES-GCM tag after every ciphertext
export const NONCE_LENGTH = 12; // AES-GCM; the sealed manifest's own comes first in it
export const SIGNATURE_LENGTH = 64; // Ed25519
export const HASH_LENGTH = 32; // SHA-256
export const PIECE_SIZE_MIN = 16 * KiB;
export const PIECE_SIZE_MAX = 16 * MiB;
export const MAX_FILES = 10_000;
export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255; // a file or folder name: what Linux, macOS and Windows all take
export const MAX_PATH_SEGMENTS = 32;
export const MAX_TYPE_BYTES = 255;
export const MAX_FRAGMENTS = 100_000; // entries of a file's optional fragment index
export const MANIFEST_MAX_BYTES = 4 * MiB; // the manifest JSON
export const SEALED_MANIFEST_OVERHEAD = NONCE_LENGTH + TAG_LENGTH + SIGNATURE_LENGTH;
export const SEALED_MANIFEST_MAX_BYTES = MANIFEST_MAX_BYTES + SEALED_MANIFEST_OVERHEAD;

// A batch's count travels as a u32.
const MAX_BATCH_COUNT = 0xffff_ffff;

const encoder = new TextEncoder();
const CONTENT_KEY_INFO = encoder.encode('swarmdrop/1 content key');
const RELAY_KEY_INFO = encoder.encode('swarmdrop/1 relay control');
const MANIFEST_LABEL = encoder.encode('swarmdrop/1 manifest'); // AAD, and the signature's prefix
const HASHES_LABEL = encoder.encode('swarmdrop/1 hashes');
const NONCE_DOMAIN_PIECE = 1;

// RFC 8410 PrivateKeyInfo for Ed25519 without the optional public key: this prefix, then the
// 32-byte seed. It is also what WebCrypto's exportKey('pkcs8') produces.
const ED25519_PKCS8_PREFIX = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
);

/** The link is incomplete or wrong (its text, not its keys: those show as IntegrityError). */
export class LinkError extends Error {
  name = 'LinkError';
}

/** Data failed a hash, tag or signature check: the link is wrong or the data was altered. */
export class IntegrityError extends Error {
  name = 'IntegrityError';
}

/**
 * A manifest that breaks a rule of the format; the message names the rule (for logs). code:
 * 'bad-name' when a file's path breaks a rule of "File names" (then `rule` is one of NAME_RULES
 * and `file` the file's number), else 'bad-manifest'; the page words it (web/src/ui/).
 */
export class ManifestError extends Error {
  name = 'ManifestError';

  constructor(message, { rule = null, file = null, ...options } = {}) {
    super(message, options);
    this.code = rule ? 'bad-name' : 'bad-manifest';
    this.rule = rule;
    this.file = file;
  }
}

// ---------------------------------------------------------------------------------------------
// Keys and the link secret

/**
 * Makes the keys of a new share: a random content secret S and an Ed25519 key pair.
 * The signing key is extractable so that a sender can keep it (exportSigningKey) and resume.
 */
export async function createShareKeys() {
  const secret = globalThis.crypto.getRandomValues(new Uint8Array(SECRET_LENGTH));
  const pair = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  return { secret, publicKey, signingKey: pair.privateKey, linkSecret: formatLinkSecret(secret, publicKey) };
}

/** The signing key as PKCS#8 bytes, for a sender that wants to survive a reload. */
export async function exportSigningKey(signingKey) {
  return new Uint8Array(await subtle.exportKey('pkcs8', signingKey));
}

/** The reverse of exportSigningKey. */
export async function importSigningKey(pkcs8) {
  try {
    return await subtle.importKey('pkcs8', bytes(pkcs8, 'pkcs8'), { name: 'Ed25519' }, true, ['sign']);
  } catch (error) {
    throw new Error('The stored signing key is not an Ed25519 private key.', { cause: error });
  }
}

/** An Ed25519 signing key from its 32-byte RFC 8032 seed (test vectors and tests). */
export async function signingKeyFromSeed(seed) {
  seed = exactBytes(seed, 32, 'Ed25519 seed');
  return importSigningKey(concat(ED25519_PKCS8_PREFIX, seed));
}

/** The raw 32-byte public key P belonging to a signing key. */
export async function publicKeyOf(signingKey) {
  // WebCrypto cannot export a private key as 'raw'; its JWK carries the public part as x.
  const { x } = await subtle.exportKey('jwk', signingKey);
  return decodeBase64(x, URL_ALPHABET, false);
}

/** The link secret: base64url, no padding, of S || P. */
export function formatLinkSecret(secret, publicKey) {
  secret = exactBytes(secret, SECRET_LENGTH, 'content secret');
  publicKey = exactBytes(publicKey, PUBLIC_KEY_LENGTH, 'public key');
  return encodeBase64(concat(secret, publicKey), URL_ALPHABET, false);
}

/** Splits a link secret into S and P; throws LinkError if the text cannot be one. */
export function parseLinkSecret(text) {
  if (typeof text !== 'string' || text.length === 0) throw new LinkError('The link has no secret after the #.');
  if (text.includes('=')) throw new LinkError('The link secret must not have = padding.');
  if (!/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new LinkError('The link secret has characters other than A-Z, a-z, 0-9, - and _.');
  }
  if (text.length !== LINK_SECRET_LENGTH) {
    throw new LinkError(
      `The link secret has ${text.length} characters instead of ${LINK_SECRET_LENGTH}: the link is incomplete.`,
    );
  }
  // 64 characters are exactly 48 bytes: no leftover bits, so every such text is canonical.
  const raw = decodeBase64(text, URL_ALPHABET, false);
  return { secret: raw.slice(0, SECRET_LENGTH), publicKey: raw.slice(SECRET_LENGTH) };
}

/**
 * The keys of a share's members: K (from S, by HKDF), P as a verification key, and the relay
 * key that seals the peer wire's text messages through the server's relay (net/relay-wire.js).
 */
export async function openShareKeys({ secret, publicKey }) {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_LENGTH) {
    throw new LinkError(`The content secret must be ${SECRET_LENGTH} bytes.`);
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new LinkError(`The public key must be ${PUBLIC_KEY_LENGTH} bytes.`);
  }
  let verifyKey;
  try {
    verifyKey = await subtle.importKey('raw', publicKey, { name: 'Ed25519' }, true, ['verify']);
  } catch (error) {
    throw new LinkError('The public key in the link is not an Ed25519 key.', { cause: error });
  }
  const contentKey = await deriveContentKey(secret, false);
  return { contentKey, verifyKey, relayKey: await deriveKey(secret, RELAY_KEY_INFO, false) };
}

// K = HKDF-SHA256(IKM = S, salt = empty, info = "swarmdrop/1 content key", L = 32).
// Extractable only for the test vectors, which print K.
export async function deriveContentKey(secret, extractable = false) {
  return deriveKey(secret, CONTENT_KEY_INFO, extractable);
}

// An AES-256-GCM key HKDF-SHA256(IKM = S, salt = empty, info, L = 32).
async function deriveKey(secret, info, extractable) {
  const ikm = await subtle.importKey('raw', exactBytes(secret, SECRET_LENGTH, 'content secret'), 'HKDF', false, [
    'deriveKey',
  ]);
  return subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info },
    ikm,
    { name: 'AES-GCM', length: 256 },
    extractable,
    ['encrypt', 'decrypt'],
  );
}

// ---------------------------------------------------------------------------------------------
// Pieces

/** C_i: piece i encrypted under K, ciphertext then tag. */
export async function encryptPiece(contentKey, index, plaintext) {
  checkIndex(index, 'piece index');
  const sealed = await subtle.encrypt(
    { name: 'AES-GCM', iv: nonce(NONCE_DOMAIN_PIECE, index) },
    contentKey,
    bytes(plaintext, 'piece'),
  );
  return new Uint8Array(sealed);
}

/** The plaintext of piece i; throws IntegrityError if the piece was altered or K is wrong. */
export async function decryptPiece(contentKey, index, ciphertext) {
  checkIndex(index, 'piece index');
  ciphertext = bytes(ciphertext, 'piece');
  if (ciphertext.length < TAG_LENGTH) throw new IntegrityError(`Piece ${index} is shorter than its tag.`);
  try {
    const plain = await subtle.decrypt(
      { name: 'AES-GCM', iv: nonce(NONCE_DOMAIN_PIECE, index) },
      contentKey,
      ciphertext,
    );
    return new Uint8Array(plain);
  } catch (error) {
    throw new IntegrityError(`Piece ${index} does not decrypt: it was altered or the key is wrong.`, {
      cause: error,
    });
  }
}

/** H_i = SHA-256(C_i). */
export async function pieceHash(ciphertext) {
  return new Uint8Array(await subtle.digest('SHA-256', bytes(ciphertext, 'piece')));
}

/** How many pieces `total` bytes make (none for 0). */
export function pieceCount(total, pieceSize) {
  if (!Number.isSafeInteger(total) || total < 0) throw new RangeError(`Not a byte count: ${total}.`);
  if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0) throw new RangeError(`Not a piece size: ${pieceSize}.`);
  return Math.ceil(total / pieceSize);
}

/** The plaintext bytes [start, end) of the share's stream that piece `index` carries. */
export function pieceRange(manifest, index) {
  const count = pieceCount(manifest.total, manifest.piece_size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`Piece ${index} does not exist: the share has ${count} pieces.`);
  }
  const start = index * manifest.piece_size;
  return { start, end: Math.min(start + manifest.piece_size, manifest.total) };
}

// ---------------------------------------------------------------------------------------------
// The manifest

/**
 * Checks every rule of the manifest; returns a copy with its members in the canonical order
 * (v, piece_size, total, files; path, size, type, and fragments where a file has them), which is
 * what sealManifest serializes.
 */
export function validateManifest(value) {
  if (!isPlainObject(value)) throw new ManifestError('The manifest must be a JSON object.');
  exactMembers(value, ['v', 'piece_size', 'total', 'files'], 'The manifest');
  if (value.v !== 1) throw new ManifestError('The manifest version "v" must be 1.');
  const pieceSize = value.piece_size;
  if (
    !Number.isSafeInteger(pieceSize) ||
    pieceSize < PIECE_SIZE_MIN ||
    pieceSize > PIECE_SIZE_MAX ||
    (pieceSize & (pieceSize - 1)) !== 0
  ) {
    throw new ManifestError(`"piece_size" must be a power of two from ${PIECE_SIZE_MIN} to ${PIECE_SIZE_MAX}.`);
  }
  if (!Number.isSafeInteger(value.total) || value.total < 0) {
    throw new ManifestError('"total" must be an integer from 0 to 2^53 - 1.');
  }
  if (!Array.isArray(value.files)) throw new ManifestError('"files" must be an array.');
  if (value.files.length < 1 || value.files.length > MAX_FILES) {
    throw new ManifestError(`"files" must have 1 to ${MAX_FILES} entries.`);
  }
  const names = new PathKeys();
  const files = [];
  let sum = 0;
  // Not forEach: it skips the holes of a sparse array, which would pass as fewer files.
  for (let i = 0; i < value.files.length; i++) {
    const file = value.files[i];
    const where = `File ${i}`;
    if (!isPlainObject(file)) throw new ManifestError(`${where} must be a JSON object.`);
    exactMembers(file, ['path', 'size', 'type'], where, ['fragments']);
    checkPath(file.path, i);
    const clash = names.add(file.path);
    if (clash === 'duplicate') {
      throw new ManifestError(`${where}: the path "${file.path}" appears twice (case and normalisation aside).`, { rule: clash, file: i });
    }
    if (clash === 'file-folder') {
      throw new ManifestError(`${where}: the path "${file.path}" is a file and a folder of another file.`, { rule: clash, file: i });
    }
    if (!Number.isSafeInteger(file.size) || file.size < 0) {
      throw new ManifestError(`${where}: "size" must be an integer from 0 to 2^53 - 1.`);
    }
    if (typeof file.type !== 'string') throw new ManifestError(`${where}: "type" must be a string.`);
    if (!isWellFormed(file.type)) throw new ManifestError(`${where}: "type" is not valid Unicode text.`);
    if (utf8Length(file.type) > MAX_TYPE_BYTES) {
      throw new ManifestError(`${where}: "type" is longer than ${MAX_TYPE_BYTES} bytes.`);
    }
    // Each size is a safe integer, so a sum past 2^53 - 1 shows as one (it cannot round back down).
    sum += file.size;
    if (sum > Number.MAX_SAFE_INTEGER) throw new ManifestError('The file sizes add up to more than 2^53 - 1.');
    const entry = { path: file.path, size: file.size, type: file.type };
    if (Object.hasOwn(file, 'fragments')) entry.fragments = checkFragments(file.fragments, file.size, where);
    files.push(entry);
  }
  if (sum !== value.total) {
    throw new ManifestError(`The file sizes add up to ${sum}, not to "total" (${value.total}).`);
  }
  const manifest = { v: 1, piece_size: pieceSize, total: value.total, files };
  if (utf8Length(JSON.stringify(manifest)) > MANIFEST_MAX_BYTES) {
    throw new ManifestError(`The manifest is larger than ${MANIFEST_MAX_BYTES} bytes.`);
  }
  return manifest;
}

/** The manifest's JSON bytes, deterministic: member order as validateManifest returns it. */
export function manifestBytes(manifest) {
  return encoder.encode(JSON.stringify(validateManifest(manifest)));
}

/**
 * sealed = N || AES-GCM(K, N, manifest JSON, AAD label) || Ed25519 signature of label || N || M,
 * N a fresh random nonce for every seal: sealing two manifests under one K (a sender that takes
 * its share up again, a newer page) never uses a nonce twice.
 */
export async function sealManifest(contentKey, signingKey, manifest) {
  return sealManifestBytes(contentKey, signingKey, manifestBytes(manifest));
}

/** Seals exactly these plaintext bytes, checked by nobody: what a hostile owner can send (tests). */
export async function sealManifestBytes(contentKey, signingKey, plaintext) {
  plaintext = bytes(plaintext, 'manifest');
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
  const encrypted = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: MANIFEST_LABEL }, contentKey, plaintext));
  const body = concat(iv, encrypted);
  const signature = new Uint8Array(await subtle.sign('Ed25519', signingKey, concat(MANIFEST_LABEL, body)));
  return concat(body, signature);
}

/**
 * Verifies, decrypts and validates a sealed manifest. Throws IntegrityError when the signature or
 * the tag fails (for a receiver: the link is wrong or the data was altered), ManifestError when
 * the manifest breaks a rule.
 */
export async function openManifest(contentKey, verifyKey, sealed) {
  sealed = bytes(sealed, 'sealed manifest');
  if (sealed.length < SEALED_MANIFEST_OVERHEAD) {
    throw new IntegrityError('The sealed manifest is too short to hold a nonce, a tag and a signature.');
  }
  if (sealed.length > SEALED_MANIFEST_MAX_BYTES) {
    throw new ManifestError(`The manifest is larger than ${MANIFEST_MAX_BYTES} bytes.`);
  }
  const body = sealed.subarray(0, sealed.length - SIGNATURE_LENGTH);
  const signature = sealed.subarray(sealed.length - SIGNATURE_LENGTH);
  const signed = await subtle.verify('Ed25519', verifyKey, signature, concat(MANIFEST_LABEL, body));
  if (!signed) {
    throw new IntegrityError('The manifest signature does not verify: the link is wrong or the manifest was altered.');
  }
  let plaintext;
  try {
    plaintext = await subtle.decrypt(
      { name: 'AES-GCM', iv: body.subarray(0, NONCE_LENGTH), additionalData: MANIFEST_LABEL },
      contentKey,
      body.subarray(NONCE_LENGTH),
    );
  } catch (error) {
    throw new IntegrityError('The manifest does not decrypt: the link is wrong.', { cause: error });
  }
  let text;
  try {
    // Strict: invalid UTF-8 is refused, and a byte order mark is left in so that JSON.parse refuses it.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(plaintext);
  } catch (error) {
    throw new ManifestError('The manifest is not valid UTF-8.', { cause: error });
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestError('The manifest is not valid JSON.', { cause: error });
  }
  const repeated = repeatedMember(text);
  if (repeated !== null) throw new ManifestError(`The manifest gives the member "${repeated}" twice.`);
  return validateManifest(value);
}

// ---------------------------------------------------------------------------------------------
// File names (docs/protocol.md part 3, "File names"): one rule set, the same as
// src/sd_manifest.c's; tests/vectors/names.json holds both to the same answers. A name that passes
// holds no character Windows refuses and no reserved device name, does not end in '.' or ' ', and
// shows as what it is: no bidi override makes "a\u202Egnp.exe" read as an image, no look-alike
// slash or drive letter makes a name pose as a folder. No two paths of a manifest name the same
// file, or a file and a folder, on a case-insensitive or normalising file system (pathKey). The
// owner's signature proves who wrote a manifest, not that its names are safe: a receiver refuses
// one that breaks a rule (ManifestError 'bad-name'); a sender maps what was picked to names that
// pass (shareablePaths), so that every real file still shares.

// Characters no path holds, by rule.
const NAME_CHARACTERS = {
  control: '\\u0000-\\u001f\\u007f-\\u009f', // Unicode's Cc: C0, DEL, C1
  bidi: '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069',
  invisible: '\\u200b-\\u200d\\u2060\\ufeff', // zero-width characters and the byte order mark
  backslash: '\\\\',
  colon: ':', // a drive ("C:evil") or an NTFS stream ("a:b")
  'windows-character': '<>"|?*', // the other characters Windows refuses in a name
  'slash-lookalike': '\\u2044\\u2215\\u2216\\u29f8\\u29f9\\uff0f\\uff3c',
};
const NAME_CHARACTER_TESTS = Object.entries(NAME_CHARACTERS).map(([rule, set]) => [rule, new RegExp(`[${set}]`)]);
const ANY_NAME_CHARACTER = new RegExp(`[${Object.values(NAME_CHARACTERS).join('')}]`, 'g');
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Windows's device names, in any case (ASCII letters only: without the u flag, /i never matches a
// non-ASCII letter to an ASCII one), alone or before an extension, spaces before the '.' too
// ("CON", "con.txt", "Lpt1.tar.gz", "nul .txt"); COM and LPT with 0-9 and the superscripts 1-3.
const RESERVED_NAME = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]) *(\.|$)/i;

/** Every rule a path can break, as ManifestError.rule names them. */
export const NAME_RULES = Object.freeze([
  'not-text', 'length', 'depth', ...Object.keys(NAME_CHARACTERS), 'dot-segment', 'trailing-dot-space', 'reserved',
  'segment-length', 'duplicate', 'file-folder',
]);

/** The first rule of "File names" that `path` breaks (a NAME_RULES entry), or null if it passes. */
export function pathProblem(path) {
  if (typeof path !== 'string' || !isWellFormed(path)) return 'not-text';
  const length = utf8Length(path);
  if (length < 1 || length > MAX_PATH_BYTES) return 'length';
  for (const [rule, pattern] of NAME_CHARACTER_TESTS) if (pattern.test(path)) return rule;
  const segments = path.split('/');
  if (segments.length > MAX_PATH_SEGMENTS) return 'depth';
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') return 'dot-segment';
    if (segment.endsWith('.') || segment.endsWith(' ')) return 'trailing-dot-space';
    if (RESERVED_NAME.test(segment)) return 'reserved';
    if (utf8Length(segment) > MAX_SEGMENT_BYTES) return 'segment-length';
  }
  return null;
}

const NAME_RULE_TEXT = {
  'not-text': 'is not valid Unicode text',
  length: `must be 1 to ${MAX_PATH_BYTES} bytes`,
  depth: `must have at most ${MAX_PATH_SEGMENTS} segments`,
  control: 'must not contain control characters',
  bidi: 'must not contain bidirectional controls',
  invisible: 'must not contain zero-width characters or a byte order mark',
  backslash: 'must not contain \\',
  colon: 'must not contain :',
  'windows-character': 'must not contain < > " | ? or *',
  'slash-lookalike': 'must not contain characters that look like / or \\',
  'dot-segment': 'must not start with / or have an empty, . or .. segment',
  'trailing-dot-space': 'must not have a segment ending in . or a space',
  reserved: 'must not use a reserved device name (CON, PRN, AUX, NUL, CONIN$, CONOUT$, COM0-9, LPT0-9)',
  'segment-length': `must not have a segment over ${MAX_SEGMENT_BYTES} bytes`,
};

function checkPath(path, file) {
  if (typeof path !== 'string') throw new ManifestError(`File ${file}: "path" must be a string.`, { rule: 'not-text', file });
  const rule = pathProblem(path);
  if (rule) throw new ManifestError(`File ${file}: "path" ${NAME_RULE_TEXT[rule]}.`, { rule, file });
}

/**
 * What a path is on a case-insensitive, normalising file system (NTFS, APFS, HFS+): NFC, then each
 * character replaced by the lowercase of its uppercase, one character for one (the simple
 * mappings, as glib's g_unichar_toupper and g_unichar_tolower in src/sd_manifest.c). So
 * "README.txt" and "readme.TXT", "é" as one character and as e + U+0301, "Σ" "σ" "ς", "ı" "I" "i"
 * have one key. Two paths of a manifest must not share a key.
 */
export function pathKey(path) {
  return path.normalize('NFC').replace(/[^\0-@[-\u007f]/gu, foldCharacter);
}

const foldedCharacters = new Map(); // a cache, bounded: a manifest can hold any characters
function foldCharacter(character) {
  let folded = foldedCharacters.get(character);
  if (folded === undefined) {
    // toUpperCase and toLowerCase give the full mappings: where one is several characters
    // ("ß" -> "SS", "İ" -> "i̇"), the simple one is the character itself, or the first of them.
    const upper = character.toUpperCase();
    folded = [...([...upper].length === 1 ? upper : character).toLowerCase()][0];
    if (foldedCharacters.size < 4096) foldedCharacters.set(character, folded);
  }
  return folded;
}

// The keys of a manifest's paths so far and of their folders: add(path) tells how a new path
// clashes with them ('duplicate', 'file-folder') or null. A path of n segments costs n keys'
// worth of hashing, at most 32 times the manifest's size.
class PathKeys {
  files = new Set();
  folders = new Set();

  add(path) {
    const key = pathKey(path);
    const folders = folderKeys(key);
    let clash = null;
    if (this.files.has(key)) clash = 'duplicate';
    else if (this.folders.has(key) || folders.some((folder) => this.files.has(folder))) clash = 'file-folder';
    this.files.add(key);
    for (const folder of folders) this.folders.add(folder);
    return clash;
  }
}

/**
 * The sender's side of "File names": picked paths (in order) -> paths that pass every rule and
 * whose keys (pathKey) differ from each other and from every folder's. Forbidden characters become
 * '_', empty segments go, a reserved name or a segment ending in '.' or ' ' gets a '_', a long
 * segment is cut keeping its extension, a path too deep has its last segments joined, and a file
 * whose key is taken, by an earlier file or by a folder of any file, gets " (2)", " (3)"...
 * ("readme (2).TXT" after "README.txt"; a file "a" beside "a/b" becomes "a (2)"). A path that
 * passes is kept as it is unless so taken; no mapped path takes its name.
 */
export function shareablePaths(paths) {
  const wanted = paths.map(shareablePath);
  const folders = new Set();
  for (const path of wanted) for (const folder of folderKeys(pathKey(path))) folders.add(folder);
  const kept = new Set(wanted.filter((path, i) => path === paths[i]).map(pathKey));
  const taken = new Set();
  return wanted.map((path, i) => {
    const free = (name, key) => !taken.has(key) && !folders.has(key) && (name === paths[i] || !kept.has(key));
    let unique = path;
    for (let n = 2; !free(unique, pathKey(unique)); n++) unique = numbered(path, n);
    taken.add(pathKey(unique));
    return unique;
  });
}

// The keys of the folders a path's key lies in: "a/b/c" -> "a", "a/b".
function folderKeys(key) {
  const folders = [];
  for (let at = key.indexOf('/'); at !== -1; at = key.indexOf('/', at + 1)) folders.push(key.slice(0, at));
  return folders;
}

function shareablePath(path) {
  if (pathProblem(path) === null) return path;
  const text = String(path).replace(LONE_SURROGATE, '_').replace(ANY_NAME_CHARACTER, '_');
  let segments = text.split('/').filter((segment) => segment !== '');
  if (segments.length === 0) segments = ['_'];
  if (segments.length > MAX_PATH_SEGMENTS) {
    segments = [...segments.slice(0, MAX_PATH_SEGMENTS - 1), segments.slice(MAX_PATH_SEGMENTS - 1).join('_')];
  }
  segments = segments.map((segment) => fitSegment(segment, MAX_SEGMENT_BYTES));
  // 32 segments of 255 bytes can be longer than a path may be: halve the longest until it fits.
  while (utf8Length(segments.join('/')) > MAX_PATH_BYTES) {
    const longest = segments.reduce((best, segment, i) => (utf8Length(segment) > utf8Length(segments[best]) ? i : best), 0);
    segments[longest] = fitSegment(segments[longest], Math.ceil(utf8Length(segments[longest]) / 2));
  }
  return segments.join('/');
}

// "name (n).ext" for a path taken already, the name cut to keep the number within the limits of a
// segment and of the path (the extension dropped, then the name, where there is no room).
function numbered(path, n) {
  const cut = path.lastIndexOf('/') + 1;
  const max = Math.min(MAX_SEGMENT_BYTES, MAX_PATH_BYTES - utf8Length(path.slice(0, cut)));
  const suffix = ` (${n})`;
  let { stem, extension } = splitExtension(path.slice(cut));
  if (utf8Length(suffix) + utf8Length(extension) >= max) [stem, extension] = [path.slice(cut), ''];
  const room = max - utf8Length(suffix) - utf8Length(extension);
  return path.slice(0, cut) + (room >= 1 ? `${cutUtf8(stem, room)}${suffix}${extension}` : String(n));
}

// One segment within `max` bytes (max >= 2) that passes the segment rules.
function fitSegment(segment, max) {
  let fitted = segment;
  if (utf8Length(fitted) > max) {
    const { stem, extension } = splitExtension(fitted);
    const room = max - 1 - utf8Length(extension); // one byte spare for the '_' below
    fitted = room >= 1 ? cutUtf8(stem, room) + extension : cutUtf8(fitted, max - 1);
  }
  if (fitted === '.' || fitted === '..' || fitted.endsWith('.') || fitted.endsWith(' ')) fitted = `${fitted.slice(0, -1)}_`;
  if (RESERVED_NAME.test(fitted)) fitted = fitted.replace(/^[^.]*/, '$&_');
  return fitted;
}

// "movie.final.mp4" -> {stem: "movie.final", extension: ".mp4"}; an extension is short and
// never the whole name (".bashrc" has none).
function splitExtension(name) {
  const match = /^(.+?)(\.[^.]{1,16})$/su.exec(name);
  return match ? { stem: match[1], extension: match[2] } : { stem: name, extension: '' };
}

// The longest start of `text` of at most `max` UTF-8 bytes, never half a surrogate pair.
function cutUtf8(text, max) {
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    bytes += utf8Length(character);
    if (bytes > max) break;
    end += character.length;
  }
  return text.slice(0, end);
}

// ---------------------------------------------------------------------------------------------
// Signed hash batches

/** Signs the hashes of pieces first .. first + count - 1 (hashes: count * 32 bytes). */
export async function signHashes(signingKey, first, hashes) {
  const message = hashesMessage(first, hashes);
  if (!message) throw new RangeError('A hash batch needs a piece index and 1 or more 32-byte hashes.');
  return new Uint8Array(await subtle.sign('Ed25519', signingKey, message));
}

/** Whether `signature` signs exactly these hashes for pieces from `first` on. Never throws on bad input. */
export async function verifyHashes(verifyKey, first, hashes, signature) {
  const message = hashesMessage(first, hashes);
  if (!message || !(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false;
  return subtle.verify('Ed25519', verifyKey, signature, message);
}

// "swarmdrop/1 hashes" || u64be(first) || u32be(count) || hashes; null for input no batch can have.
function hashesMessage(first, hashes) {
  if (!Number.isSafeInteger(first) || first < 0) return null;
  if (!(hashes instanceof Uint8Array) || hashes.length === 0 || hashes.length % HASH_LENGTH !== 0) return null;
  const count = hashes.length / HASH_LENGTH;
  if (count > MAX_BATCH_COUNT) return null;
  const header = new Uint8Array(12);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(first));
  view.setUint32(8, count);
  return concat(HASHES_LABEL, header, hashes);
}

// ---------------------------------------------------------------------------------------------
// Base64 for JSON messages

const STANDARD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(data) {
  return encodeBase64(bytes(data, 'data'), STANDARD_ALPHABET, true);
}

/** The reverse of toBase64; throws SyntaxError on anything toBase64 could not have produced. */
export function fromBase64(text) {
  if (typeof text !== 'string') throw new SyntaxError('Base64 data must be a string.');
  return decodeBase64(text, STANDARD_ALPHABET, true);
}

function encodeBase64(data, alphabet, pad) {
  let out = '';
  let i = 0;
  for (; i + 2 < data.length; i += 3) {
    const n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = data.length - i;
  if (rest === 1) {
    const n = data[i] << 16;
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (data[i] << 16) | (data[i + 1] << 8);
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + (pad ? '=' : '');
  }
  return out;
}

const decodeTables = new Map();

// Strict: only the alphabet, padding exactly as RFC 4648 puts it (or none), zero leftover bits.
function decodeBase64(text, alphabet, padded) {
  let table = decodeTables.get(alphabet);
  if (!table) {
    table = new Int16Array(128).fill(-1);
    for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
    decodeTables.set(alphabet, table);
  }
  let length = text.length;
  if (padded) {
    if (length % 4 !== 0) throw new SyntaxError('Base64 data must be a multiple of 4 characters long.');
    if (text.endsWith('==')) length -= 2;
    else if (text.endsWith('=')) length -= 1;
  }
  if (length % 4 === 1) throw new SyntaxError('Base64 data has a stray last character.');
  const out = new Uint8Array(Math.floor((length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    const digit = code < 128 ? table[code] : -1;
    if (digit < 0) throw new SyntaxError(`Base64 data has a character outside its alphabet at ${i}.`);
    value = ((value << 6) | digit) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) throw new SyntaxError('Base64 data has nonzero leftover bits.');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers

// Whether two byte arrays hold the same bytes (a piece's hash against its signed one, a frame
// against another).
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// 4-byte big-endian domain, then the 8-byte big-endian counter.
function nonce(domain, counter) {
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(0, domain);
  view.setBigUint64(4, BigInt(counter));
  return iv;
}

function checkIndex(index, what) {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`Not a ${what}: ${index}.`);
}

// JSON.parse keeps the last of two equal member names silently; the format has exactly one of
// each (and the C side refuses repeats), so look for them. `text` is already known to be valid
// JSON, so strings are the only places where braces, brackets and commas are not structure.
function repeatedMember(text) {
  const stack = []; // per open container: a Set of member names for an object, null for an array
  let expectingName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const names = stack.at(-1);
      if (names && expectingName) {
        const name = JSON.parse(text.slice(i, end + 1)); // decoded: "a" and "\u0061" are the same
        if (names.has(name)) return name;
        names.add(name);
        expectingName = false;
      }
      i = end;
    } else if (c === '{') {
      stack.push(new Set());
      expectingName = true;
    } else if (c === '[') {
      stack.push(null);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectingName = stack.at(-1) != null;
    }
  }
  return null;
}

// A file's fragment index (docs/protocol.md part 3): [[time_ms, offset], ...], 1 to MAX_FRAGMENTS
// entries, times non-decreasing, offsets strictly increasing from above 0 and below the file's size.
// Returns a copy.
function checkFragments(fragments, size, where) {
  if (!Array.isArray(fragments)) throw new ManifestError(`${where}: "fragments" must be an array.`);
  if (fragments.length < 1 || fragments.length > MAX_FRAGMENTS) {
    throw new ManifestError(`${where}: "fragments" must have 1 to ${MAX_FRAGMENTS} entries.`);
  }
  const copy = [];
  let lastTime = 0;
  let lastOffset = 0;
  for (let k = 0; k < fragments.length; k++) { // not forEach: a hole counts too
    const fragment = fragments[k];
    const at = `${where}: fragment ${k}`;
    if (!Array.isArray(fragment) || fragment.length !== 2) {
      throw new ManifestError(`${at} must be an array of two integers [time_ms, offset].`);
    }
    const [time, offset] = fragment;
    if (!Number.isSafeInteger(time) || time < 0) throw new ManifestError(`${at}: time_ms must be an integer from 0 to 2^53 - 1.`);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new ManifestError(`${at}: offset must be an integer from 0 to 2^53 - 1.`);
    if (time < lastTime) throw new ManifestError(`${at}: time_ms goes back (${time} after ${lastTime}).`);
    if (offset <= lastOffset) {
      throw new ManifestError(k === 0
        ? `${at}: the first offset must be above 0 (the init segment comes first).`
        : `${at}: offsets must increase (${offset} after ${lastOffset}).`);
    }
    if (offset >= size) throw new ManifestError(`${at}: offset ${offset} is not inside the file (${size} bytes).`);
    lastTime = time;
    lastOffset = offset;
    copy.push([time, offset]);
  }
  return copy;
}

// `optional`: names that may be there too.
function exactMembers(object, names, where, optional = []) {
  const keys = Object.keys(object);
  for (const key of keys) {
    if (!names.includes(key) && !optional.includes(key)) throw new ManifestError(`${where} has an unknown member "${key}".`);
  }
  for (const name of names) {
    if (!Object.hasOwn(object, name)) throw new ManifestError(`${where} lacks the member "${name}".`);
  }
}

function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// A lone surrogate has no UTF-8 form (TextEncoder would silently turn it into U+FFFD).
function isWellFormed(text) {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

function utf8Length(text) {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      length += 4; // a surrogate pair (well-formedness is checked separately)
      i++;
    } else length += 3;
  }
  return length;
}

function bytes(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`The ${what} must be bytes (a Uint8Array).`);
}

function exactBytes(value, length, what) {
  value = bytes(value, what);
  if (value.length !== length) throw new RangeError(`The ${what} must be ${length} bytes, not ${value.length}.`);
  return value;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
