// The page's side of the service worker (sw.js): registering it, and waiting until it controls
// this page, which is when its responses (a ZIP archive, a stream) reach the page's requests.
const SERVICE_WORKER_URL = '/sw.js';

export class ServiceWorkerError extends Error {}

// Registers the worker (a no-op when it is); ServiceWorkerError where there can be none (no
// service workers in this browser or window, an insecure origin). The sender's page registers it
// at once, so that the share sheet's next POST (share-inbox.js) finds it in control.
export async function registerWorker() {
  if (!navigator.serviceWorker) throw new ServiceWorkerError('this browser offers no service workers here');
  try {
    await navigator.serviceWorker.register(SERVICE_WORKER_URL, { type: 'module', scope: '/' });
  } catch (error) {
    throw new ServiceWorkerError(error.message);
  }
}

// The worker controlling this page, once it does; ServiceWorkerError as registerWorker.
export async function controllingWorker() {
  await registerWorker();
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    // The worker claims open pages when it activates; wait for that on a first visit.
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
  }
  return navigator.serviceWorker.controller;
}
