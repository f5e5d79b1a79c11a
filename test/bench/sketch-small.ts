// Speed of the built-in small model (models/pixtral-sketch-small) on the CPU, where fixed per-op and
// per-token costs dominate: load, vision encoder for one 384x384 image, prefill of a sketch-sized
// prompt (the image's tokens + text), then greedy decode of N tokens. Each round prints wall ms and
// the CPU ms our threads used (the machine may be shared: CPU ms moves less with load than wall ms);
// the summary is the median over rounds.
//
// Run:  node --import tsx test/bench/sketch-small.ts [--tokens N=256] [--rounds R=5] [--threads T]
import os from 'node:os';
import path from 'node:path';
import { loadNative, type ModelInfo } from '../../src/engine/native';
import { imageTokenIds } from '../../src/worker/chat-format';
import { mulberry32 } from '../support/random';

const arg = (flag: string, fallback: number): number => {
  const i = process.argv.indexOf(flag);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const tokens = arg('--tokens', 256), rounds = arg('--rounds', 5), threads = arg('--threads', os.cpus().length);
const dir = path.join(__dirname, '../../models/pixtral-sketch-small');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Wall ms and process CPU ms (user + system, all threads) of fn. */
async function timed(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage(), t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

async function main(): Promise<void> {
  const engine = new (loadNative().Engine)();
  let info: ModelInfo | undefined;
  const load = await timed(async () => void (info = await engine.load(dir, { threads })));
  const v = info!.config.vision!;
  const grid = v.imageSize / v.patchSize;
  const r = mulberry32(7);
  const image = { pixels: Float32Array.from({ length: 3 * v.imageSize * v.imageSize }, () => r() * 3.6 - 1.8), height: v.imageSize, width: v.imageSize };
  // The CLI's sketch prompt is 681 tokens: [BOS][INST], the image's tokens, then text.
  const imageIds = imageTokenIds(grid, grid, { img: v.imageTokenId, imgBreak: v.imageBreakTokenId, imgEnd: v.imageEndTokenId });
  const text = Array.from({ length: 681 - 2 - imageIds.length }, () => 1000 + Math.floor(r() * 4000));
  const ids = Int32Array.from([1, 3, ...imageIds, ...text]);
  console.log(`# ${os.cpus()[0].model}, ${threads} threads, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`load ${load.wall.toFixed(0)} ms (cpu ${load.cpu.toFixed(0)} ms)`);
  const rows: { prefill: number; prefillCpu: number; decode: number; decodeCpu: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    engine.reset();
    const prefill = await timed(() => engine.prefill(ids, { images: [image], reserve: tokens }));
    const decode = await timed(() => engine.generate({ maxTokens: tokens, temperature: 0, stopIds: [] }, () => {}));
    rows.push({ prefill: prefill.wall, prefillCpu: prefill.cpu, decode: decode.wall / tokens, decodeCpu: decode.cpu / tokens });
    console.log(`round ${round + 1}: prefill ${ids.length} tokens + image ${prefill.wall.toFixed(0)} ms (cpu ${prefill.cpu.toFixed(0)}), ` +
      `decode ${tokens} tokens ${(decode.wall / tokens).toFixed(2)} ms/token (cpu ${(decode.cpu / tokens).toFixed(2)})`);
  }
  // The minimum is the round least disturbed by other processes; the median, a typical one.
  for (const [name, pick] of [['median', median], ['min', (xs: number[]) => Math.min(...xs)]] as const) {
    const m = (k: keyof (typeof rows)[0]): string => pick(rows.map((x) => x[k])).toFixed(k.startsWith('decode') ? 2 : 0);
    console.log(`${name}: prefill ${m('prefill')} ms (cpu ${m('prefillCpu')}), decode ${m('decode')} ms/token (cpu ${m('decodeCpu')})`);
  }
  engine.unload();
}

void main();
