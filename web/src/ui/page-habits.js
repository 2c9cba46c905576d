// What people expect of a file-sharing page while a transfer runs: the screen stays awake (Screen
// Wake Lock), and closing the page asks first (beforeunload) while leaving would lose something.
// The views decide when (update); this module holds the lock, takes it again when the page is
// visible again (the browser releases it when the page is hidden), and reports in `status`:
// wakeLock 'held' | 'unavailable' (wanted, but the browser lacks the API or refused it: nothing
// else changes) | 'released' (not wanted, or released by the browser while hidden); leaveWarning.
export function pageHabits(status, win = window) {
  let awake = false;
  let lock = null;
  let asking = false;
  status.wakeLock = 'released';
  status.leaveWarning = false;

  const acquire = async () => {
    if (!awake || lock || asking || win.document.visibilityState !== 'visible') return;
    if (!win.navigator.wakeLock) {
      status.wakeLock = 'unavailable';
      return;
    }
    asking = true;
    try {
      const sentinel = await win.navigator.wakeLock.request('screen');
      if (!awake) {
        sentinel.release().catch(() => {});
        return;
      }
      lock = sentinel;
      status.wakeLock = 'held';
      sentinel.addEventListener('release', () => {
        if (lock !== sentinel) return;
        lock = null;
        status.wakeLock = 'released';
      });
    } catch {
      status.wakeLock = 'unavailable';
    } finally {
      asking = false;
    }
  };

  const release = () => {
    const held = lock;
    lock = null;
    status.wakeLock = 'released';
    held?.release().catch(() => {});
  };

  win.document.addEventListener('visibilitychange', () => acquire());
  win.addEventListener('beforeunload', (event) => {
    if (!status.leaveWarning) return;
    event.preventDefault();
    event.returnValue = ''; // what older Chromium needs to ask
  });

  // keepAwake: a transfer runs on this page; warnOnLeave: closing it now would lose something.
  return {
    update({ keepAwake, warnOnLeave }) {
      status.leaveWarning = warnOnLeave;
      if (keepAwake === awake) return;
      awake = keepAwake;
      if (awake) acquire();
      else release();
    },
  };
}
