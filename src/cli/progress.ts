// A one-line progress bar on stderr while facts are fetched; silent when stderr is not a terminal.
export interface Progress {
  update: (done: number, total: number) => void;
  done: () => void;
}

const WIDTH = 24;
const REDRAW_MS = 100;

export function createProgress(stream: NodeJS.WritableStream, opts: { enabled: boolean }): Progress {
  if (!opts.enabled) return { update: () => {}, done: () => {} };
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const t = Date.now();
      if (t - last < REDRAW_MS && done < total) return;
      last = t;
      const filled = total === 0 ? WIDTH : Math.round((done / total) * WIDTH);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done}/${total} packages`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
