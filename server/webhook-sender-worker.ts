// The webhook sender thread (webhook-sender.ts starts it): posts the messages the main thread
// hands it through its own checking dispatcher, one answer per message, in any order.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createWebhookDispatcher } from './webhook-address.js';
import { SENDER_NICE, type SenderSettings, type SendRequest, sendSigned } from './webhook-sender.js';

// Deliveries must never slow the install path: where two threads want one core, the scheduler
// favours the main thread (which serves installs). Linux keeps a nice value per thread, and
// setpriority() on this thread's id (from /proc/thread-self) lowers this one alone. Elsewhere the
// thread keeps the process's priority.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  // Relative to what the thread inherited: a service already started at nice 15 must not see its
  // sender rise above it (as root, an absolute 10 would do that).
  if (Number.isInteger(tid) && tid !== process.pid)
    setPriority(tid, Math.min(19, getPriority(tid) + SENDER_NICE));
} catch {
  // No /proc, or not allowed: deliveries share the CPU as before.
}

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
