// What the page says when this browser lacks something swarmdrop needs (engine/support.js codes)
// or does without (Receiver state.lacks), and what is lost then.
import { formatBytes } from './format.js';

const USE_INSTEAD = 'Use a current Chromium, Firefox or Safari.';

const ESSENTIAL = {
  'insecure-context': 'This page came over plain http from an address other than localhost, and browsers withhold '
    + 'from such pages what swarmdrop needs (encryption, storage, background work). Open it over https, '
    + 'or as localhost on the computer that serves it.',
  'no-webcrypto': 'This browser lacks the Web Cryptography API, which encrypts every transfer end to end: '
    + `it can neither send nor receive here. ${USE_INSTEAD}`,
  'no-webrtc': 'This browser lacks WebRTC, which carries every transfer between browsers (and through the '
    + 'server’s relay): it can neither send nor receive here. A setting or an extension may have turned it '
    + `off. ${USE_INSTEAD}`,
};

// The message for a page that cannot start: its first (most telling) missing essential.
export function missingEssentialText(missing) {
  return ESSENTIAL[missing[0]];
}

// The receiver's notes on what it does without, as sentences; only those that matter for this
// share (a note on playing once it holds media, on the ZIP archive once it has several files).
export function lacksNotes(state) {
  const lacks = new Set(state.lacks);
  const media = state.media.some((entry) => entry.kind);
  const notes = [];
  if (lacks.has('disk-store')) {
    notes.push('This browser gives this page no disk storage (as in some private windows): the download is kept '
      + 'in memory, and starts over if the page is reloaded.');
  }
  if (media && lacks.has('service-worker')) {
    notes.push(lacks.has('media-source')
      ? 'This browser can neither stream files to its player here (no service worker) nor feed the player '
        + 'itself (no Media Source Extensions): videos, sounds and pictures show once saved, not while they download.'
      : 'This browser offers no service worker here (as in some private windows): only fragmented MP4 videos '
        + 'play while they download; other files show once saved.');
  } else if (media && lacks.has('media-source')) {
    notes.push('This browser lacks Media Source Extensions: files play through its service worker instead, and '
      + 'a fragmented MP4 may start only once most of it is here.');
  }
  if (state.files.length > 1 && lacks.has('service-worker')) {
    notes.push('Save the files one by one: a ZIP archive of them all needs a service worker, which this browser '
      + 'does not offer here.');
  }
  return notes;
}

// The error of a share over the memory cap where there is no disk store (errorDetail {total, cap}).
export function tooLargeForMemoryText({ total, cap }) {
  return `This browser gives this page no disk storage (as in some private windows), and the share (${formatBytes(total)}) `
    + `is larger than the ${formatBytes(cap)} it may hold in memory. Open the link in a normal (not private) window `
    + 'of a current Chromium, Firefox or Safari.';
}
