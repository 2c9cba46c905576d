// A system notification when a transfer finishes while its page is hidden (another tab, a phone's
// screen off), where the person allows them. Permission is asked only when the person clicks the
// view's "Notify me when it is done" button (browsers refuse or bury a request made without a
// click); the button shows while the answer is not yet given and a transfer this page saw
// unfinished goes on (not on an error page, a finished or stopped share). Reports in `status`:
// notification 'granted' | 'denied' | 'default' | 'unavailable' (no Notification API here);
// notified: the last one shown, {title, body}, or null.
const ICON = '/icons/icon-192.png';

export function doneNotice(status, button, win = window) {
  const api = win.Notification;
  let armed = false; // a transfer was seen unfinished on this page since the last notice
  let wasDone = false;
  status.notified = null;
  let running = false; // the last update's unfinished
  // The permission is read once and again only when it may have changed (the button's answer, the
  // browser's change event): reading it is not free, and updates come many times a second.
  const render = () => {
    button.hidden = status.notification !== 'default' || !running;
  };
  const refresh = () => {
    status.notification = api ? api.permission : 'unavailable';
    render();
  };
  refresh();
  button.addEventListener('click', () => {
    api.requestPermission().catch(() => {}).finally(refresh);
  });
  win.navigator.permissions?.query({ name: 'notifications' })
    .then((permission) => permission.addEventListener('change', refresh), () => {});

  const show = async ({ title, body }) => {
    // The path only (sw.js's notificationclick finds the page by it): the fragment is a secret.
    const options = { body, icon: ICON, tag: 'swarmdrop-done', data: { path: win.location.pathname } };
    try {
      const shown = new api(title, options);
      shown.onclick = () => {
        win.focus();
        shown.close();
      };
    } catch {
      // Chrome on Android has no page notifications, only the service worker's.
      const registration = await win.navigator.serviceWorker?.getRegistration();
      if (!registration) return;
      await registration.showNotification(title, options).catch(() => {});
    }
    status.notified = { title, body };
  };

  // unfinished: a transfer runs on this page, not done yet (false once it stopped or failed);
  // done: it has finished, words: {title, body} to say so (below). Notifies once as done becomes
  // true after a transfer was seen unfinished here (not for one that was done before this page
  // opened), if hidden then.
  return {
    update({ unfinished, done, words }) {
      running = unfinished;
      render();
      const finished = done && !wasDone;
      wasDone = done;
      if (unfinished) armed = true;
      if (!finished || !armed) return;
      armed = false;
      if (win.document.visibilityState === 'hidden' && status.notification === 'granted') show(words);
    },
  };
}

// name: the file's, or "N files" when there are several.
export function receivedWords(name, several) {
  return { title: `${name} ${several ? 'are' : 'is'} here`, body: 'swarmdrop has received it all.' };
}

export function sentWords(peer, name) {
  return { title: `Receiver ${peer.slice(0, 4)} has all of ${name}`, body: 'The share goes on while that receiver stays online.' };
}
