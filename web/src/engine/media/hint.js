// Whether a file is likely video or audio by its name or the type its sender's browser gave it:
// a hint only, before its bytes are here (the sender's piece size, the receiver's first pieces);
// the receiver's page judges a file by its bytes (sniff.js).
const MEDIA_NAME = /\.(mp4|m4v|m4a|mov|mkv|webm|ogg|ogv|oga|opus|mp3|aac|flac|wav|ts)$/i;

export function looksLikeMedia(path, type) {
  return MEDIA_NAME.test(path) || /^(video|audio)\//.test(type);
}

// The file of a manifest a receiver's page will likely play first (ui/receiver-view.js plays the
// first playable file as soon as it is known): the first that looks like media, or -1.
export function likelyPlayed(files) {
  return files.findIndex(({ path, type }) => looksLikeMedia(path, type));
}
