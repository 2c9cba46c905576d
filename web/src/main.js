// Entry point: a share link (/s/<shareId>#<link secret>) opens the receiver view, any other path
// the sender view. The page's settings go down to the engine from here: the ICE servers a
// deployment or a test sets as window.swarmdropIceServers (an RTCIceServer[]) before this script
// runs (none: host candidates only, enough on one network), the relay-only choice, and the hooks
// an end-to-end test sets as window.swarmdropTestHooks (tests/e2e/harness.mjs).
import './style.css';
import { linkSecretFromHash, shareIdFromPath } from './engine/links.js';
import { missingEssentials } from './engine/support.js';
import { mountReceiverView } from './ui/receiver-view.js';
import { mountRelayOption } from './ui/relay-option.js';
import { mountSenderView } from './ui/sender-view.js';
import { mountUnsupportedView } from './ui/support-view.js';

const settings = {
  iceServers: window.swarmdropIceServers ?? [],
  relayOnly: mountRelayOption(document.getElementById('relay-only')),
  testHooks: window.swarmdropTestHooks ?? {},
};
const app = document.getElementById('app');
const shareId = shareIdFromPath(location.pathname);
// A browser without an essential gets a page that says so, and nothing starts.
const missing = missingEssentials();
let engine;
if (missing.length > 0) engine = mountUnsupportedView(app, missing);
else if (shareId === null) engine = mountSenderView(app, settings);
else engine = mountReceiverView(app, shareId, linkSecretFromHash(location.hash), settings);

// For automated tests: the engine's state object itself, which the engine updates in place.
window.swarmdrop = engine.state;
// For scripts and benchmarks: the page's metrics snapshot (docs/metrics.md), fresh on each call;
// null on the page of a browser that lacks an essential (nothing runs there).
window.swarmdropMetrics = () => engine.metrics();
