// The webhook sender thread (webhook-sender.ts starts it): posts the messages the main thread
// hands it through its own checking dispatcher, one answer per message, in any order.
import { parentPort, workerData } from 'node:worker_threads';
import { createWebhookDispatcher } from './webhook-address.js';
import { type SenderSettings, type SendRequest, sendSigned } from './webhook-sender.js';

const settings = workerData as SenderSettings;
const dispatcher = createWebhookDispatcher(settings);
const port = parentPort!;

port.on('message', (m: { seq: number; req: SendRequest } | { close: true }) => {
  if ('close' in m) {
    // Nothing is in flight (the main thread waited for its answers): close and let the thread end.
    dispatcher.close().finally(() => port.close());
    return;
  }
  sendSigned(dispatcher, settings, m.req).then((outcome) => port.postMessage({ seq: m.seq, outcome }));
});
