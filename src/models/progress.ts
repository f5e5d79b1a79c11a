// Progress of a model download as the CLI and the VS Code progress notification show it: what is
// happening, how far along, bytes per second over the last few seconds and the time left.

export interface DownloadProgress {
  /** 'downloading': fetching bytes; 'verifying': hashing a finished file before it is published. */
  phase: 'downloading' | 'verifying';
  /** Path in the repository of the file being worked on. */
  file: string;
  /** downloading: bytes of all selected files present so far (already cached, resumed, fetched);
   *  verifying: bytes of `file` hashed so far. */
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
  /** undefined until a rate is known. */
  etaSeconds: number | undefined;
}

export type ProgressCallback = (progress: DownloadProgress) => void;

/** Throughput over a sliding window, so a stall or a burst shows up within seconds. */
export class RateMeter {
  private samples: Array<[time: number, total: number]> = [];
  private total = 0;

  constructor(private readonly windowMs = 5000) {}

  add(bytes: number, now = Date.now()): void {
    this.total += bytes;
    this.samples.push([now, this.total]);
    while (this.samples.length > 2 && now - this.samples[1][0] > this.windowMs) this.samples.shift();
  }

  /** Bytes per second; 0 until at least a quarter second of data. */
  rate(now = Date.now()): number {
    if (this.samples.length === 0) return 0;
    const [t0, b0] = this.samples[0];
    const elapsed = now - t0;
    return elapsed < 250 ? 0 : ((this.total - b0) * 1000) / elapsed;
  }
}

/** Calls `callback` at most every `intervalMs`, but always on a new phase or file and when `force` is set. */
export function throttle(callback: ProgressCallback | undefined, intervalMs = 200): (p: DownloadProgress, force?: boolean) => void {
  let last = 0;
  let lastKey = '';
  return (p, force = false) => {
    const now = Date.now();
    const key = `${p.phase}\0${p.file}`;
    if (!callback || (!force && key === lastKey && now - last < intervalMs)) return;
    last = now;
    lastKey = key;
    callback(p);
  };
}

export function eta(remaining: number, bytesPerSecond: number): number | undefined {
  return bytesPerSecond > 0 ? remaining / bytesPerSecond : undefined;
}
