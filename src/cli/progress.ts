// Progress on stderr while facts are fetched. On a terminal: a one-line bar from the first moment,
// redrawn as facts arrive (in any order) and every second, so a slow source shows as time passing
// rather than a frozen screen. Without a terminal (CI logs): nothing on short runs, then a line
// every few seconds, so a long run never looks hung.
import type { FactProgress } from '../engine/gather-facts.js';
import { formatInteger } from '../policy/format.js';

export interface Progress {
  update: (progress: FactProgress) => void;
  done: () => void;
}

export interface ProgressOptions {
  /** `bar` on a terminal, `lines` otherwise, `off` for none. */
  mode: 'bar' | 'lines' | 'off';
  /** Injected for tests. */
  now?: () => number;
  setInterval?: (fn: () => void, ms: number) => { unref?: () => void };
  clearInterval?: (handle: unknown) => void;
}

const WIDTH = 24;
const REDRAW_MS = 100;
const TICK_MS = 1000;
/** Without a terminal: the first line after this long, then one per interval. */
const FIRST_LINE_MS = 5000;
const LINE_INTERVAL_MS = 10_000;

export function createProgress(stream: NodeJS.WritableStream, opts: ProgressOptions): Progress {
  if (opts.mode === 'off') return { update: () => {}, done: () => {} };
  const now = opts.now ?? Date.now;
  const setTimer = opts.setInterval ?? setInterval;
  const clearTimer = opts.clearInterval ?? ((h: unknown) => clearInterval(h as NodeJS.Timeout));
  const started = now();
  let latest: FactProgress | undefined;
  let lastDraw = 0;
  let drawn = false;
  let nextLineAt = started + FIRST_LINE_MS;
  let finished = false;

  const elapsed = () => `${Math.floor((now() - started) / 1000)} s`;
  const detail = (p: FactProgress) =>
    p.lookups.length > 1
      ? ` (${p.lookups.map((l) => `${l.name} ${formatInteger(l.done)}/${formatInteger(l.total)}`).join(', ')})`
      : '';

  const draw = () => {
    if (finished || !latest) return;
    const p = latest;
    if (opts.mode === 'bar') {
      // The bar fills with every fact that arrives, not only with packages that are complete.
      const units = p.lookups.reduce((n, l) => n + l.total, 0);
      const unitsDone = p.lookups.reduce((n, l) => n + l.done, 0);
      const filled = units === 0 ? WIDTH : Math.round((unitsDone / units) * WIDTH);
      stream.write(
        `\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${formatInteger(p.done)}/${formatInteger(p.total)} packages${detail(p)} ${elapsed()}`,
      );
      drawn = true;
      lastDraw = now();
      return;
    }
    if (now() < nextLineAt) return;
    nextLineAt = now() + LINE_INTERVAL_MS;
    stream.write(
      `lockwarden: ${formatInteger(p.done)}/${formatInteger(p.total)} packages${detail(p)} after ${elapsed()}\n`,
    );
  };
  const timer = setTimer(draw, opts.mode === 'bar' ? TICK_MS : 1000);
  timer.unref?.();

  return {
    update(progress) {
      latest = progress;
      if (opts.mode === 'bar') {
        const complete = progress.done >= progress.total;
        if (!drawn || complete || now() - lastDraw >= REDRAW_MS) draw();
      } else draw();
    },
    done() {
      if (finished) return;
      finished = true;
      clearTimer(timer);
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
