// Run by session.test.ts in a child process with --expose-gc: engines dropped and garbage-collected
// while a prefill or a generation runs, and memory()/position read from the JS thread throughout.
// Before the binding held its JS object for the length of a call this was a heap use-after-free
// ("corrupted size vs. prev_size"); now the process must finish and print "ok".
import { loadNative } from '../../src/engine/native';
import { fixtureDir } from '../support/fixtures';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const native = loadNative();
const prompt = Int32Array.from({ length: 1500 }, (_, i) => (i < 2 ? i + 1 : 1000 + ((i * 7919) % 5000)));

async function dropDuring(kind: 'prefill' | 'generate'): Promise<void> {
  let engine: InstanceType<typeof native.Engine> | undefined = new native.Engine();
  await engine.load(fixtureDir, { contextLength: 4096, maxChunk: 64 });
  if (kind === 'generate') await engine.prefill(prompt.subarray(0, 20));
  const running = kind === 'prefill' ? engine.prefill(prompt) : engine.generate({ maxTokens: 300, stopIds: [] }, () => {});
  const reads = setInterval(() => {
    // Reading while the call runs on another thread: must be safe.
    if (engine) void [engine.memory().scratchBytes, engine.position, engine.contextLength, engine.backend, engine.loaded];
  }, 1);
  await new Promise((r) => setTimeout(r, 30));
  engine = undefined;
  clearInterval(reads);
  gc!();
  await running.catch(() => undefined);
  gc!();
}

async function main(): Promise<void> {
  for (let round = 0; round < 4; round++) {
    await dropDuring('prefill');
    await dropDuring('generate');
  }
  await new Promise((r) => setTimeout(r, 50));
  gc!();
  console.log('ok');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
