// The bandwidth yardsticks of the benchmarks (cpu.ts, quant.ts): memcpy and a read-only stream,
// measured in a child process (bandwidth-child.ts) so that their GB-sized buffers stay out of the
// benchmark's RSS. Sampled several times in a run, beside the measurements they are a yardstick for.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface ProbeOptions {
  /** Buffer size of each probe. */
  bytes: number;
  threads: number;
  /** Passes over the buffer per sample. */
  iters: number;
}

const GB = 1e9;
const GiB = 2 ** 30;

export class BandwidthProbe {
  private readonly child: ChildProcess;
  /** Bytes copied per second, one per sample. */
  readonly memcpy: number[] = [];
  /** Bytes read per second, one per sample. */
  readonly read: number[] = [];

  constructor(
    private readonly o: ProbeOptions,
    private readonly log: (line: string) => void,
  ) {
    this.child = fork(path.join(__dirname, 'bandwidth-child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  }

  private request(kind: 'memcpy' | 'read'): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`bandwidth child exited with ${code}`));
      this.child.once('exit', onExit);
      this.child.once('message', (m: { bytesPerSecond: number }) => {
        this.child.off('exit', onExit);
        resolve(m.bytesPerSecond);
      });
      this.child.send({ kind, bytes: this.o.bytes, iters: this.o.iters, threads: this.o.threads });
    });
  }

  /** One sample of each probe. */
  async sample(): Promise<void> {
    const copy = await this.request('memcpy');
    const read = await this.request('read');
    this.memcpy.push(copy);
    this.read.push(read);
    this.log(`bandwidth, ${(this.o.bytes / GiB).toFixed(2)} GiB x ${this.o.iters}, ${this.o.threads} threads: memcpy ${(copy / GB).toFixed(2)} GB/s copied, read ${(read / GB).toFixed(2)} GB/s`);
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}
