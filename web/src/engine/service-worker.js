// The page's side of the service worker (sw.js): registering it, and waiting until it controls
// this page, which is when its responses (a ZIP archive, a stream) reach the page's requests.
const SERVICE_WORKER_URL = '/sw.js';

export class ServiceWorkerError extends Error {}

// The worker controlling this page; ServiceWorkerError where there can be none (no service
// workers in this browser or window, an insecure origin).
export async function controllingWorker() {
  if (!navigator.serviceWorker) throw new ServiceWorkerError('this browser offers no service workers here');
  try {
    await navigator.serviceWorker.register(SERVICE_WORKER_URL, { type: 'module', scope: '/' });
  } catch (error) {
    throw new ServiceWorkerError(error.message);
  }
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    // The worker claims open pages when it activates; wait for that on a first visit.
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
  }
  return navigator.serviceWorker.controller;
}
