// The receiver's page: what is coming, how far, how fast, how it ended, and a player for each
// file the browser can play (video, audio, pictures) while it downloads.
import { Receiver } from '../engine/receiver.js';
import { RECONNECTING_STATUS } from '../engine/state.js';
import {
  errorKindText, renderError, renderProgress, showTemplate,
} from './dom.js';
import { describeFile, formatSpeed, formatTimeLeft } from './format.js';
import { doneNotice, receivedWords } from './done-notice.js';
import { cannotPlayNote, playerErrorText } from './media-words.js';
import { mountMetricsPanel } from './metrics-panel.js';
import { refusedNameText } from './name-words.js';
import { pageHabits } from './page-habits.js';
import { lacksNotes, tooLargeForMemoryText } from './support-words.js';

const STATUS = {
  connecting: 'Connecting…',
  waiting: 'No one who has the files is online right now; waiting for the sender or another receiver.',
  transferring: 'Receiving…',
  elsewhere: 'This share is open in another tab of this browser: it downloads there, and its files play here too.',
  forgotten: 'Forgotten: this browser keeps nothing of this share any more. Open the link again to fetch it anew.',
  error: '', // the error box says it
};

const FORGET_IN_USE = 'Another tab of this browser has this share open: close it, then forget the share here.';

// Keys of a keyboard or a TV remote while something plays: seconds a seek key moves.
const SEEK_KEY_SECONDS = 10;

// Returns the Receiver engine the page drives; settings: the page's (main.js).
export function mountReceiverView(root, shareId, linkSecret, settings) {
  showTemplate(root, 'receiver-view');
  const receiver = new Receiver(shareId, linkSecret, settings);
  const view = {
    transfer: document.getElementById('transfer'),
    fileName: document.getElementById('file-name'),
    progress: document.getElementById('progress'),
    speed: document.getElementById('speed'),
    eta: document.getElementById('eta'),
    status: document.getElementById('status'),
    path: document.getElementById('path'),
    lacks: document.getElementById('lacks'),
    badPieces: document.getElementById('bad-pieces'),
    files: document.getElementById('files'),
    saveAgain: document.getElementById('save-again'),
    forget: document.getElementById('forget'),
    error: document.getElementById('error'),
    stage: document.getElementById('stage'),
    player: document.getElementById('player'),
    picture: document.getElementById('picture'),
    nowPlaying: document.getElementById('now-playing'),
    fullscreen: document.getElementById('fullscreen'),
    playerError: document.getElementById('player-error'),
    media: document.getElementById('media'),
    notify: document.getElementById('notify'),
  };
  const save = (path) => receiver.save(path).catch((error) => renderError(view.error, error.message));
  const play = (number) => {
    const { kind } = receiver.state.media[number];
    view.player.hidden = kind === 'image';
    view.picture.hidden = kind !== 'image';
    view.stage.hidden = false;
    if (kind === 'image') view.player.pause();
    receiver.play(number, kind === 'image' ? view.picture : view.player);
  };
  view.saveAgain.addEventListener('click', () => save());
  view.forget.addEventListener('click', () => {
    receiver.forget().catch((error) => renderError(view.error, error.code === 'in-use' ? FORGET_IN_USE : `Could not forget this share: ${error.message}`));
  });
  for (const list of [view.files, view.media]) {
    list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-path]');
      if (!button) return;
      if (button.dataset.action === 'play') play(Number(button.dataset.file));
      else save(button.dataset.path);
    });
  }
  view.fullscreen.addEventListener('click', () => toggleFullscreen(view.stage));
  document.addEventListener('keydown', (event) => mediaKeys(event, view));
  // The page's habits report in the engine's state object, which tests read (main.js).
  const habits = pageHabits(receiver.state);
  const notice = doneNotice(receiver.state, view.notify);
  let chosen = false;
  receiver.on('change', (state) => {
    render(view, state);
    const transferring = state.phase === 'transferring';
    habits.update({ keepAwake: transferring, warnOnLeave: transferring && !state.saved });
    notice.update({ unfinished: transferring, done: state.phase === 'done', words: receivedWords(state.fileName, state.files.length > 1) });
    // The first file the browser can play shows as soon as it is known, and plays while it
    // downloads; the others wait for their play button.
    const first = !chosen && state.media.find((media) => media.playable);
    if (first) {
      chosen = true;
      play(first.file);
    }
  });
  receiver.start();
  mountMetricsPanel(view.transfer.parentElement, () => receiver.metrics());
  return receiver;
}

function render(view, state) {
  const known = state.fileName !== null;
  const transferring = state.phase === 'transferring';
  const done = state.phase === 'done';
  // A link that led nowhere shows its message alone, no progress bar.
  view.transfer.hidden = !known && state.phase === 'error';
  view.fileName.textContent = known ? describeFile(state.fileName, state.total) : 'Waiting for the file’s details…';
  // The tab that has the share shows how far it is.
  view.progress.hidden = state.phase === 'elsewhere';
  renderProgress(view.progress, state.bytes, state.total, known);
  view.speed.textContent = transferring ? formatSpeed(state.bytesPerSecond) : '';
  view.eta.textContent = transferring ? formatTimeLeft(state.secondsLeft) : '';
  view.status.textContent = state.reconnecting ? RECONNECTING_STATUS : done ? doneStatus(state) : STATUS[state.phase];
  renderPath(view.path, state.peers);
  const notes = lacksNotes(state);
  view.lacks.hidden = notes.length === 0;
  view.lacks.textContent = notes.join(' ');
  renderBans(view.badPieces, state);
  const several = state.files.length > 1;
  // Without a service worker there is no ZIP archive: the files' own buttons save them.
  view.saveAgain.hidden = !done || (several && state.lacks.includes('service-worker'));
  view.forget.hidden = state.phase === 'forgotten' || state.phase === 'connecting';
  view.saveAgain.textContent = several ? 'Save all as ZIP' : state.saved ? 'Save again' : 'Save';
  renderFiles(view.files, several && done ? state.files : []);
  renderMedia(view.media, state);
  view.nowPlaying.textContent = state.player ? state.player.path : '';
  renderError(view.error, errorText(state));
  renderError(view.playerError, playerErrorText(state.player?.error ?? null));
}

// Whether the bytes come straight from the other browsers or via the server's relay.
function renderPath(element, peers) {
  const open = peers.filter((peer) => peer.phase === 'open');
  const relayed = open.filter((peer) => peer.path === 'relay').length;
  element.hidden = relayed === 0;
  element.textContent = relayed === open.length
    ? 'Via the server’s relay: the browsers could not connect directly. Still end-to-end encrypted.'
    : `${relayed} of ${open.length} connections go via the server’s relay (still end-to-end encrypted).`;
}

// Damaged pieces, and the peers the swarm disconnected for good (for them, for asking more than
// they may, or for breaking the protocol): what the swarm decided, as it decided it.
function renderBans(element, state) {
  const banned = state.peers.filter((peer) => peer.phase === 'banned');
  const damaging = banned.filter((peer) => peer.ban === 'bad-pieces').length;
  const flooding = banned.filter((peer) => peer.ban === 'requests').length;
  const faulty = banned.length - damaging - flooding;
  const parts = [];
  if (state.badPieces > 0) {
    parts.push(`${state.badPieces} damaged ${state.badPieces === 1 ? 'piece was' : 'pieces were'} refused and fetched again from another peer.`);
  }
  if (damaging > 0) parts.push(`${damaging} ${damaging === 1 ? 'peer that sent them was' : 'peers that sent them were'} disconnected for good.`);
  if (flooding > 0) parts.push(`${flooding} ${flooding === 1 ? 'peer was' : 'peers were'} disconnected for asking for more than the protocol allows.`);
  if (faulty > 0) parts.push(`${faulty} ${faulty === 1 ? 'peer was' : 'peers were'} disconnected for breaking the protocol.`);
  element.hidden = parts.length === 0;
  element.textContent = parts.join(' ');
}

function errorText(state) {
  if (state.errorKind === 'bad-name') return refusedNameText(state.errorDetail);
  if (state.errorKind === 'too-large-for-memory') return tooLargeForMemoryText(state.errorDetail);
  return errorKindText(state.errorKind) ?? state.error;
}

function doneStatus(state) {
  if (state.files.length > 1) {
    const all = state.lacks.includes('service-worker') ? '' : ', or all as a ZIP archive';
    return `Done: all ${state.files.length} files are here; save one${all}.`;
  }
  return state.saved
    ? `Done: saved as “${state.fileName}”.`
    : `Done: “${state.fileName}” is all here; save it with the button below.`;
}

function button(action, path, label, file = null) {
  const element = document.createElement('button');
  element.type = 'button';
  element.dataset.action = action;
  element.dataset.path = path;
  if (file !== null) element.dataset.file = String(file);
  element.textContent = label;
  // Beside each of several files: its name says which one to a screen reader.
  element.setAttribute('aria-label', `${label} ${path}`);
  return element;
}

// One row per file of a share of several, each with its own save button; built once.
function renderFiles(list, files) {
  list.hidden = files.length === 0;
  if (list.hidden || list.childElementCount === files.length) return;
  list.replaceChildren(...files.map(({ path, size }) => {
    const row = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = describeFile(path, size);
    row.append(name, button('save', path, 'Save'));
    return row;
  }));
}

// The media files (once sniffed): a play button for those this browser plays, a note for those it
// cannot. Shown when there is a choice to make or something to say: several media files, or one
// that cannot play.
function renderMedia(list, state) {
  const media = state.media.filter((entry) => entry.kind);
  list.hidden = !(media.length > 1 || media.some((entry) => entry.playable === false));
  if (list.hidden) return;
  const key = media.map((entry) => `${entry.file}:${entry.playable}:${state.player?.file === entry.file}:${state.phase === 'done'}`).join();
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...media.map((entry) => {
    const row = document.createElement('li');
    row.dataset.file = String(entry.file);
    if (state.player?.file === entry.file) row.dataset.playing = '';
    const name = document.createElement('span');
    name.textContent = describeFile(entry.path, entry.size);
    row.append(name);
    if (entry.playable) row.append(button('play', entry.path, entry.kind === 'image' ? 'Show' : 'Play', entry.file));
    if (state.phase === 'done') row.append(button('save', entry.path, 'Save'));
    const note = cannotPlayNote(entry);
    if (note) {
      const text = document.createElement('span');
      text.className = 'note';
      text.textContent = note;
      row.append(text);
    }
    return row;
  }));
}

function toggleFullscreen(stage) {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  else stage.requestFullscreen?.().catch(() => {});
}

// Space plays or pauses, the arrows seek, F goes full screen: what a keyboard and a TV remote
// offer. Keys typed into a form control keep their own meaning.
function mediaKeys(event, view) {
  if (view.stage.hidden || event.ctrlKey || event.altKey || event.metaKey) return;
  if (event.target.closest?.('input, textarea, select, button, video') && event.key === ' ') return;
  const video = view.player;
  const playing = !video.hidden;
  switch (event.key) {
    case ' ':
    case 'MediaPlayPause':
      if (!playing) return;
      if (video.paused) video.play().catch(() => {});
      else video.pause();
      break;
    case 'ArrowLeft':
    case 'ArrowRight':
      if (!playing) return;
      video.currentTime = Math.max(0, video.currentTime + (event.key === 'ArrowLeft' ? -SEEK_KEY_SECONDS : SEEK_KEY_SECONDS));
      break;
    case 'f':
    case 'F':
      toggleFullscreen(view.stage);
      break;
    default:
      return;
  }
  event.preventDefault();
}
