// A counting semaphore with a FIFO queue whose waiters can give up (a deadline passing while queued).

/**
 * Runs at most `max` tasks at once; the rest wait in arrival order. `giveUp.signal` (or a function
 * making it, called only when the task has to wait) takes a waiter out of the queue unrun.
 */
export type Semaphore = <T>(
  task: () => Promise<T>,
  giveUp?: { signal: AbortSignal | (() => AbortSignal); onGiveUp: () => T },
) => Promise<T>;

export function createSemaphore(max: number): Semaphore {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task, giveUp) => {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (active >= max) {
      const signal = typeof giveUp?.signal === 'function' ? giveUp.signal() : giveUp?.signal;
      if (signal?.aborted) return giveUp!.onGiveUp();
      // A waiter whose signal fires leaves the queue without ever holding a slot.
      const gotSlot = await new Promise<boolean>((resolve) => {
        const onSlot = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        };
        const onAbort = () => {
          const i = waiting.indexOf(onSlot);
          if (i >= 0) waiting.splice(i, 1);
          resolve(false);
        };
        waiting.push(onSlot);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (!gotSlot) return giveUp!.onGiveUp();
    } else active++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
