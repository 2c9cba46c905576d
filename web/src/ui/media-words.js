// What the engine says about media (sniff.js, player.js codes) in the words the person reads.

const CODECS = {
  avc1: 'H.264', avc3: 'H.264', hvc1: 'HEVC', hev1: 'HEVC', vp8: 'VP8', vp9: 'VP9', vp09: 'VP9', av01: 'AV1',
  theora: 'Theora', mp4v: 'MPEG-4 Part 2', mpeg2: 'MPEG-2', mp3: 'MP3', opus: 'Opus', vorbis: 'Vorbis',
  flac: 'FLAC', 'ac-3': 'AC-3', 'ec-3': 'E-AC-3', dts: 'DTS', pcm: 'PCM',
};
const CONTAINERS = {
  mp4: 'MP4', quicktime: 'QuickTime', matroska: 'Matroska', webm: 'WebM', ogg: 'Ogg', wav: 'WAV', avi: 'AVI',
  'mpeg-ts': 'MPEG-TS', flac: 'FLAC', mp3: 'MP3', aac: 'AAC', heic: 'HEIC', avif: 'AVIF',
};

// 'HEVC', 'AAC', ... for an RFC 6381 codec string or short name; the string itself if unknown.
export function codecName(codec) {
  if (!codec) return 'unknown';
  const [family, objectType] = codec.split('.');
  if (family === 'mp4a') return objectType?.toLowerCase() === '6b' || objectType === '69' ? 'MP3' : 'AAC';
  return CODECS[family] ?? codec;
}

// Why a file cannot be played here, for the row of a file the sniffer judged: null if it can.
export function cannotPlayNote({ playable, reason, kind, codec, container }) {
  if (playable !== false || reason === 'not-media') return null;
  const noun = kind === 'image' ? 'picture' : kind;
  const verb = kind === 'image' ? 'show' : 'play';
  if (reason === 'codec') return `${codecName(codec)} ${noun}: this browser cannot ${verb} it; save it instead.`;
  return `${CONTAINERS[container] ?? container} ${noun}: this browser cannot ${verb} it; save it instead.`;
}

const PLAYER_ERRORS = {
  'no-streaming': 'This browser cannot play files while they download here (no service worker, as in some private windows); save it when it is here.',
  aborted: 'Playing was aborted.',
  network: 'The player lost the file’s data; press play again.',
  decode: 'The file could not be decoded: it may be damaged.',
  unsupported: 'This browser cannot play this file; save it instead.',
  read: 'The file’s data could not be read from this browser’s storage.',
};

// The player's error (player.js state.error) as a sentence; the download always goes on.
export function playerErrorText(error) {
  if (!error) return null;
  const text = ['codec', 'container'].includes(error.code)
    ? cannotPlayNote({ ...error, playable: false, reason: error.code })
    : PLAYER_ERRORS[error.code] ?? 'The file cannot be played.';
  return error.detail && ['decode', 'unsupported'].includes(error.code) ? `${text} (${error.detail})` : text;
}
