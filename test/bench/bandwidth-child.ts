// Child process of the benchmarks' bandwidth probe (bandwidth-probe.ts): the memory-bandwidth
// yardsticks, kept out of the benchmark's own RSS (their buffers are GBs). Two probes, each split
// across `threads`:
//  * memcpy: testing.memcpyBandwidth of the native addon, bytes copied per second (every byte is
//    read once and written once, so the memory traffic is twice the figure);
//  * read: Buffer.compare (glibc memcmp, vector loads) of two equal buffers on worker threads, bytes
//    read per second: a read-only stream like the decode matvec's.
// Protocol: the parent sends { kind, bytes, iters, threads } and gets back { bytesPerSecond }.
import { Worker } from 'node:worker_threads';
import { loadNativeTesting } from '../support/native-testing';

interface Request {
  kind: 'memcpy' | 'read';
  bytes: number;
  iters: number;
  threads: number;
}


// Plain JS (workers do not get the parent's TypeScript loader): compare the slice `iters` times per request.
const READ_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { a, b, offset, length } = workerData;
const x = Buffer.from(a, offset, length), y = Buffer.from(b, offset, length);
parentPort.on('message', (iters) => {
  for (let i = 0; i < iters; i++) if (Buffer.compare(x, y) !== 0) throw new Error('read probe buffers differ');
  parentPort.postMessage('done');
});
parentPort.postMessage('ready');
`;

/** Read probe: `threads` workers, each comparing its slice of two equal shared buffers. */
class ReadProbe {
  private readonly workers: Worker[] = [];
  /** Bytes per worker per buffer. */
  private readonly half: number;
  private constructor(readonly bytes: number, readonly threads: number) {
    this.half = Math.floor(bytes / 2 / threads / 64) * 64;
  }

  static async create(bytes: number, threads: number): Promise<ReadProbe> {
    const p = new ReadProbe(bytes, threads);
    const half = p.half;
    const a = new SharedArrayBuffer(half * threads), b = new SharedArrayBuffer(half * threads);
    new Uint8Array(a).fill(7); // equal contents: memcmp must scan to the end
    new Uint8Array(b).fill(7);
    for (let i = 0; i < threads; i++) {
      const w = new Worker(READ_WORKER, { eval: true, workerData: { a, b, offset: i * half, length: half } });
      await new Promise((resolve) => w.once('message', resolve)); // ready
      p.workers.push(w);
    }
    return p;
  }

  async run(iters: number): Promise<number> {
    const t = performance.now();
    await Promise.all(
      this.workers.map((w) => {
        const done = new Promise((resolve) => w.once('message', resolve));
        w.postMessage(iters);
        return done;
      }),
    );
    const seconds = (performance.now() - t) / 1000;
    return (this.half * 2 * this.threads * iters) / seconds;
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
  }
}

const { memcpyBandwidth } = loadNativeTesting();
let read: ReadProbe | undefined;
process.on('message', async (m: Request) => {
  let bytesPerSecond: number;
  if (m.kind === 'memcpy') {
    bytesPerSecond = memcpyBandwidth(m.bytes, m.iters, m.threads);
  } else {
    if (!read || read.bytes !== m.bytes || read.threads !== m.threads) {
      read?.close();
      read = await ReadProbe.create(m.bytes, m.threads);
      await read.run(1); // first touch
    }
    bytesPerSecond = await read.run(m.iters);
  }
  process.send?.({ bytesPerSecond });
});
process.on('disconnect', () => {
  read?.close();
  process.exit(0);
});
