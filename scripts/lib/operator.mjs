// What the operator's commands (swarmdrop-publish, swarmdrop-stats) share: Node's WebSocket, the
// admin key and a minimal Janus session on the plugin over Janus's WebSocket API.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Node 20 has WebSocket behind a flag (22 and later by default): runs the command again with it.
export function ensureWebSocket() {
  if (typeof WebSocket !== 'undefined') return;
  const again = spawnSync(process.execPath, ['--experimental-websocket', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

// The admin key: the one given, else $SWARMDROP_ADMIN_KEY, else the one scripts/serve.sh made.
export function adminKey(given) {
  if (given) return given;
  if (process.env.SWARMDROP_ADMIN_KEY) return process.env.SWARMDROP_ADMIN_KEY;
  const keyFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'run', 'admin_key');
  try {
    return readFileSync(keyFile, 'utf8').trim();
  } catch {
    throw new Error(`no admin key: pass --key, set SWARMDROP_ADMIN_KEY, or start the server with scripts/run.sh (${keyFile})`);
  }
}

// A minimal Janus session: one handle on janus.plugin.swarmdrop, answers by transaction, the
// plugin's other events to onEvent's listeners.
export function janusSession(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'janus-protocol');
    const waiting = new Map();
    const listeners = [];
    let counter = 0;
    const send = (message) => new Promise((done, fail) => {
      const transaction = `t${++counter}`;
      waiting.set(transaction, { done, fail });
      ws.send(JSON.stringify({ ...message, transaction }));
    });
    ws.onerror = () => reject(new Error(`cannot reach Janus at ${url}: is swarmdrop running?`));
    ws.onclose = () => {
      for (const { fail } of waiting.values()) fail(new Error('Janus closed the connection'));
    };
    ws.onmessage = ({ data }) => {
      const message = JSON.parse(data);
      if (message.janus === 'ack') return;
      const pending = waiting.get(message.transaction);
      if (pending) {
        waiting.delete(message.transaction);
        if (message.janus === 'error') pending.fail(new Error(message.error?.reason ?? 'Janus error'));
        else pending.done(message);
      } else if (message.janus === 'event') {
        for (const listener of listeners) listener(message.plugindata?.data ?? {});
      }
    };
    ws.onopen = async () => {
      try {
        const session = (await send({ janus: 'create' })).data.id;
        const keepalive = setInterval(() => send({ janus: 'keepalive', session_id: session }).catch(() => {}), 25_000);
        const handle = (await send({ janus: 'attach', session_id: session, plugin: 'janus.plugin.swarmdrop' })).data.id;
        resolve({
          request: async (body) => (await send({ janus: 'message', session_id: session, handle_id: handle, body })).plugindata.data,
          onEvent: (listener) => listeners.push(listener),
          close: () => {
            clearInterval(keepalive);
            ws.close();
          },
        });
      } catch (error) {
        reject(error);
      }
    };
  });
}
