// The worker protocol with a real worker process on the fixture model: streaming, queueing,
// cancel (running and queued), the context-window check, bad input, crash and restart (the
// process is killed for real), unload/stats, the plan at each weight precision and a load at the
// precision the fit check chose, and the version check on the raw IPC channel.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNative } from '../../src/engine/native';
import { assertFits, assessFit } from '../../src/models/fit';
import { dimsFromParams } from '../../src/models/model-config';
import { GenerationError, type GenerationEvent } from '../../src/service/generation-backend';
import { WorkerClient, workerEntry } from '../../src/service/worker-client';
import { PROTOCOL_VERSION, type GenerationRequest, type LoadOptions, type WorkerEvent, type WorkerStats } from '../../src/worker/protocol';
import { linkedModelFolder } from '../engine/quant-support';
import { fixtureDir } from '../support/fixtures';

const IMAGE = path.join(fixtureDir, 'images', 'vision_single.png'); // 48x80 px: a 3x5 patch grid

function request(maxTokens: number, overrides: Partial<GenerationRequest['sampling']> = {}): GenerationRequest {
  return {
    systemPrompt: 'Answer briefly.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image', image: { path: IMAGE } }] }],
    // Temperature 1 over a random model's 131k-token vocabulary practically never samples EOS,
    // so long requests really run to their cancel.
    sampling: { maxTokens, temperature: 1, seed: 7, ...overrides },
  };
}

interface Collected {
  events: GenerationEvent[];
  text: string;
  done: Extract<GenerationEvent, { type: 'done' }> | undefined;
}

async function collect(stream: AsyncIterable<GenerationEvent>, onEvent: (event: GenerationEvent, so: Collected) => void = () => {}): Promise<Collected> {
  const so: Collected = { events: [], text: '', done: undefined };
  for await (const event of stream) {
    so.events.push(event);
    if (event.type === 'text') so.text += event.text;
    if (event.type === 'done') so.done = event;
    onEvent(event, so);
  }
  return so;
}

/** The first text event, so a test can act while the answer is streaming. */
function afterFirstText(action: () => void): (event: GenerationEvent, so: Collected) => void {
  let fired = false;
  return (event) => {
    if (event.type === 'text' && !fired) {
      fired = true;
      action();
    }
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('worker process', () => {
  let client: WorkerClient;

  before(async () => {
    client = new WorkerClient({ model: fixtureDir, load: { contextLength: 4096 } });
    const model = await client.load();
    assert.equal(model.contextLength, 4096);
    assert.equal(model.layers, 2);
  });
  after(() => client.dispose());

  test('streams text, then done with usage; greedy is repeatable', async () => {
    const greedy = request(12, { temperature: 0 });
    const first = await collect(client.generate(greedy));
    const stages = first.events.flatMap((e) => (e.type === 'progress' ? [e.progress.stage] : []));
    assert.deepEqual(stages, ['image', 'prefill', 'decode']);
    const image = first.events.find((e) => e.type === 'progress' && e.progress.stage === 'image');
    assert.deepEqual(image, { type: 'progress', progress: { stage: 'image', index: 0, count: 1, gridH: 3, gridW: 5, tokens: 18 } });
    assert.ok(first.done, 'the stream ends with done');
    assert.equal(first.events.at(-1), first.done);
    const { usage, stopReason } = first.done;
    assert.equal(usage.imageTokens, 18);
    assert.ok(usage.promptTokens > 18 + 4, `prompt tokens ${usage.promptTokens}`);
    assert.ok(usage.completionTokens >= 1 && usage.completionTokens <= 12);
    assert.equal(stopReason, usage.completionTokens === 12 ? 'length' : 'stop');
    assert.ok(first.done.timings && first.done.timings.decodeMs > 0);
    assert.ok(first.text.length > 0);

    const second = await collect(client.generate(greedy));
    assert.equal(second.text, first.text);
    // The same prompt again: all of it but the last token comes from the KV cache.
    assert.deepEqual(second.done?.usage, { ...usage, cachedTokens: usage.promptTokens - 1 });
  });

  test('concurrent requests queue and are served one at a time, in call order', async () => {
    const order: string[] = [];
    const streams = [0, 1, 2].map((i) => collect(client.generate(request(6, { seed: i })), (e) => order.push(`${i}:${e.type}`)));
    const results = await Promise.all(streams);
    for (const r of results) assert.equal(r.done?.usage.completionTokens, 6);
    const owners = order.map((entry) => Number(entry.split(':')[0]));
    assert.deepEqual(owners, [...owners].sort(), `events interleaved: ${order.join(' ')}`);
    assert.deepEqual(order.filter((e) => e.endsWith(':done')), ['0:done', '1:done', '2:done']);
  });

  test('cancel stops a running generation within a step or two; the worker stays up', async () => {
    const pid = client.pid;
    const controller = new AbortController();
    let abortedAt = 0;
    const result = await collect(
      client.generate(request(3000), { signal: controller.signal }),
      afterFirstText(() => {
        abortedAt = performance.now();
        controller.abort();
      }),
    );
    const latency = performance.now() - abortedAt;
    assert.equal(result.done?.stopReason, 'cancelled');
    assert.ok(result.done.usage.completionTokens < 3000);
    assert.ok(latency < 1000, `done came ${latency.toFixed(0)} ms after the cancel`);
    assert.equal(client.pid, pid, 'no restart');
    const next = await collect(client.generate(request(3)));
    assert.equal(next.done?.stopReason, 'length');
  });

  test('leaving the loop early cancels too', async () => {
    for await (const event of client.generate(request(3000))) {
      if (event.type === 'text') break;
    }
    const started = performance.now();
    const next = await collect(client.generate(request(2)));
    assert.equal(next.done?.usage.completionTokens, 2);
    assert.ok(performance.now() - started < 2000, 'the abandoned request did not run to its 3000 tokens');
  });

  test('a queued request that is cancelled never runs', async () => {
    const running = new AbortController();
    const queued = new AbortController();
    const first = collect(client.generate(request(3000), { signal: running.signal }), afterFirstText(() => {
      queued.abort();
      running.abort();
    }));
    const second = collect(client.generate(request(50), { signal: queued.signal }));
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.done?.stopReason, 'cancelled');
    assert.deepEqual(b.events, [{ type: 'done', stopReason: 'cancelled', usage: { promptTokens: 0, completionTokens: 0, imageTokens: 0 } }]);
  });

  test('images and text beyond the context window fail before any compute, with both numbers', async () => {
    const small = new WorkerClient({ model: fixtureDir, load: { contextLength: 64 } });
    try {
      const events: GenerationEvent[] = [];
      await assert.rejects(
        collect(small.generate(request(100)), (e) => events.push(e)),
        (err: GenerationError) => {
          assert.equal(err.code, 'context_overflow');
          assert.match(err.message, /needs \d+ tokens \(prompt \d+, of which 18 for 1 image\(s\), plus 100 to generate\) but the context window holds 64/);
          return true;
        },
      );
      assert.ok(!events.some((e) => e.type === 'progress' && e.progress.stage !== 'image'), 'no prefill was started');
      const stats = await small.stats();
      assert.equal(stats?.requestsServed, 0);
    } finally {
      await small.dispose();
    }
  });

  test('bad input is a clear error and the worker carries on', async () => {
    const pid = client.pid;
    const missing = path.join(fixtureDir, 'images', 'no-such-image.png');
    const bad: GenerationRequest = { messages: [{ role: 'user', content: [{ type: 'image', image: { path: missing } }] }], sampling: { maxTokens: 4 } };
    await assert.rejects(collect(client.generate(bad)), (err: GenerationError) => err.code === 'bad_request' && err.message.includes('no-such-image.png'));
    const notAnImage: GenerationRequest = { messages: [{ role: 'user', content: [{ type: 'image', image: { data: new TextEncoder().encode('hello') } }] }], sampling: { maxTokens: 4 } };
    await assert.rejects(collect(client.generate(notAnImage)), (err: GenerationError) => err.code === 'bad_request' && /image 1 of 1/.test(err.message));
    const badTurns: GenerationRequest = { messages: [{ role: 'assistant', content: 'hi' }], sampling: { maxTokens: 4 } };
    await assert.rejects(collect(client.generate(badTurns)), (err: GenerationError) => err.code === 'bad_request' && /must be "user"/.test(err.message));
    await assert.rejects(collect(client.generate(request(0))), (err: GenerationError) => err.code === 'bad_request' && /maxTokens/.test(err.message));
    assert.equal(client.pid, pid);
  });

  test('a worker killed mid-stream: clear error, streamed text kept, restart on the next request', async () => {
    const victim = client.pid!;
    let received = '';
    let killed = false;
    await assert.rejects(
      collect(client.generate(request(3000)), (event) => {
        if (event.type !== 'text') return;
        received += event.text;
        if (received.length >= 4 && !killed) killed = process.kill(victim, 'SIGKILL');
      }),
      (err: GenerationError) => {
        assert.equal(err.code, 'worker_crashed');
        assert.match(err.message, new RegExp(`pid ${victim}\\) was killed by SIGKILL`));
        assert.match(err.message, /restarts on the next request/);
        assert.equal(err.partialText, received, 'the error carries exactly the text streamed before');
        return true;
      },
    );
    assert.ok(received.length >= 4);
    assert.equal(client.pid, undefined);
    const next = await collect(client.generate(request(3)));
    assert.equal(next.done?.usage.completionTokens, 3);
    assert.ok(client.pid !== undefined && client.pid !== victim, 'a fresh process');
  });

  test('stats answer mid-generation; unload frees the model and the next request loads it again', async () => {
    const controller = new AbortController();
    const statsDuring: WorkerStats[] = [];
    await collect(client.generate(request(3000), { signal: controller.signal }), afterFirstText(() => {
      void client.stats().then((s) => {
        if (s) statsDuring.push(s);
        controller.abort();
      });
    }));
    assert.equal(statsDuring.length, 1, 'stats answered while generating');
    const [during] = statsDuring;
    assert.equal(during.pid, client.pid);
    assert.equal(during.model?.dir, fixtureDir);
    assert.ok(during.kvCacheBytes > 0 && during.rssBytes > 0);

    await client.unload();
    assert.equal((await client.stats())?.model, null);
    const next = await collect(client.generate(request(2)));
    assert.equal(next.done?.usage.completionTokens, 2);
    assert.equal((await client.stats())?.model?.dir, fixtureDir);
  });

  test('dispose ends the worker process', async () => {
    const own = new WorkerClient({ model: fixtureDir });
    await own.load();
    const pid = own.pid!;
    assert.ok(isAlive(pid));
    await own.dispose();
    assert.equal(isAlive(pid), false);
  });
});

describe('backend choice', () => {
  async function loadOn(backend: LoadOptions['backend']) {
    const client = new WorkerClient({ model: fixtureDir, load: { backend, contextLength: 1024 } });
    try {
      return await client.load();
    } finally {
      await client.dispose();
    }
  }

  test('a GPU backend that cannot run here falls back to the CPU and says why; cpu and auto say nothing', async () => {
    for (const gpu of ['cuda', 'webgpu'] as const) {
      const model = await loadOn(gpu);
      if (model.backend.startsWith(gpu)) {
        assert.equal(model.backendFallback, undefined, `${gpu} runs: nothing to report`);
      } else {
        assert.match(model.backend, /^cpu-[\w-]+$/);
        const sentence = new RegExp(`^The ${gpu} backend cannot run because .*${gpu}.*; running on ${model.backend} instead\\.$`);
        assert.match(model.backendFallback ?? '', sentence);
      }
    }
    const cpu = await loadOn('cpu');
    assert.match(cpu.backend, /^cpu-[\w-]+$/);
    assert.equal(cpu.backendFallback, undefined);
    // auto takes the first backend that runs, without a word: the user asked for nothing in particular.
    const auto = await loadOn('auto');
    assert.ok(auto.backend.length > 0);
    assert.equal(auto.backendFallback, undefined);
  });
});

describe('weight precision', () => {
  test("plan answers the engine's plan at every precision; the fit check's choice is what loads", async () => {
    const folder = linkedModelFolder(fixtureDir);
    const client = new WorkerClient({ model: folder.dir, load: { backend: 'cpu', contextLength: 1024 } });
    try {
      const plans = await client.plan();
      assert.deepEqual(plans.map((p) => p.precision), ['bf16', 'q8_0', 'q4_0']);
      for (const { precision, plan } of plans) assert.deepEqual(plan, loadNative().planMemory(folder.dir, { precision, contextLength: 1024 }));
      // A machine with room for q8_0 but not for bf16: auto loads q8_0 (quantized now, beside the links).
      const [bf16, q8] = plans.map((p) => p.plan.weightBytes + p.plan.kvCacheBytes + p.plan.scratchBytes + 300e6);
      const free = Math.round((bf16 + q8) / 2);
      const verdict = assessFit({ dims: dimsFromParams(readFileSync(path.join(fixtureDir, 'params.json'), 'utf8')), plans, contextLength: 1024, devices: [{ backend: 'cpu', name: 'system memory', freeBytes: free, totalBytes: free }] });
      client.usePrecision(assertFits(verdict).precision);
      const model = await client.load();
      assert.equal(model.precision, 'q8_0');
      assert.equal(model.weightBytes, plans[1].plan.weightBytes);
      assert.ok(existsSync(path.join(folder.dir, 'pixtral-q8_0.safetensors')));
      const answer = await collect(client.generate(request(2)));
      assert.equal(answer.done?.usage.completionTokens, 2);
    } finally {
      await client.dispose();
      folder.remove();
    }
  });
});

describe('worker protocol on the raw channel', () => {
  test('ready first; a wrong version or unknown type is answered with a protocol error', async () => {
    const { script, execArgv } = workerEntry();
    const child = fork(script, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const messages: WorkerEvent[] = [];
    const next = () => new Promise<WorkerEvent>((resolve) => child.once('message', (m) => resolve(m as WorkerEvent)));
    try {
      messages.push(await next());
      assert.equal(messages[0].type, 'ready');
      child.send({ v: 999, type: 'stats', id: 5 });
      const wrongVersion = await next();
      const v = PROTOCOL_VERSION;
      assert.deepEqual(wrongVersion, { v, type: 'error', id: 5, error: { code: 'protocol', message: `protocol version 999 is not supported (expected ${v})` } });
      child.send({ v, type: 'explode', id: 6 });
      const unknown = await next();
      assert.equal(unknown.type === 'error' && unknown.error.code, 'protocol');
      child.send({ v, type: 'generate', id: 7, request: request(2) });
      const notLoaded = await next();
      assert.deepEqual(notLoaded, { v, type: 'error', id: 7, error: { code: 'not_loaded', message: 'no model is loaded: send "load" before "generate"' } });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    }
  });
});
