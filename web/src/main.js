// Entry point: a share link (/s/<shareId>#<link secret>) opens the receiver view, any other path
// the sender view.
import './style.css';
import { linkSecretFromHash, shareIdFromPath } from './engine/links.js';
import { mountReceiverView } from './ui/receiver-view.js';
import { mountRelayOption } from './ui/relay-option.js';
import { mountSenderView } from './ui/sender-view.js';

mountRelayOption(document.getElementById('relay-only'));
const app = document.getElementById('app');
const shareId = shareIdFromPath(location.pathname);
const engine = shareId === null
  ? mountSenderView(app)
  : mountReceiverView(app, shareId, linkSecretFromHash(location.hash));

// For automated tests: the engine's state object itself, which the engine updates in place.
window.swarmdrop = engine.state;
