// The remote backend over real HTTP against our own `pixtral serve` (real worker, fixture model):
// the same events as the local worker, the API key from the environment, cancel, errors from the
// endpoint (before and during the stream), an endpoint that cannot be reached; and its SSE parser.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GenerationError, type GenerationEvent } from '../../src/service/generation-backend';
import { apiKeyFromEnv, RemoteBackend } from '../../src/service/remote-backend';
import { startServer, type RunningServer } from '../../src/service/serve';
import { parseSse } from '../../src/service/sse';
import { WorkerClient } from '../../src/service/worker-client';
import type { GenerationRequest } from '../../src/worker/protocol';
import { fixtureDir } from '../support/fixtures';

const API_KEY = 'test-key-8c1f';

function request(maxTokens: number, temperature = 0): GenerationRequest {
  return {
    systemPrompt: 'Answer briefly.',
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image', image: { path: path.join(fixtureDir, 'images', 'vision_single.png') } }] },
    ],
    sampling: { maxTokens, temperature, seed: 11 },
  };
}

async function collect(stream: AsyncIterable<GenerationEvent>, onText: (text: string) => void = () => {}) {
  let text = '';
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  for await (const event of stream) {
    if (event.type === 'text') {
      text += event.text;
      onText(text);
    }
    if (event.type === 'done') done = event;
  }
  return { text, done };
}

test('the SSE parser: CRLF or LF, events split at any byte, multi-line data, comments and other fields skipped', async () => {
  const stream = ': keep-alive\r\n\r\ndata: {"a":1}\r\n\r\nevent: x\nid: 3\ndata: line one\ndata:line two\n\ndata: é ✓\n\ndata: [DONE]\n\n';
  const bytes = new TextEncoder().encode(stream);
  for (let size = 1; size <= 7; size++) {
    const parts = async function* () {
      for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
    };
    const events: string[] = [];
    for await (const data of parseSse(parts())) events.push(data);
    assert.deepEqual(events, ['{"a":1}', 'line one\nline two', 'é ✓', '[DONE]'], `chunks of ${size} bytes`);
  }
});

describe('remote backend against pixtral serve', () => {
  let local: WorkerClient;
  let server: RunningServer;
  const log: string[] = [];
  const savedEnv = { PIXTRAL_API_KEY: process.env.PIXTRAL_API_KEY, MISTRAL_API_KEY: process.env.MISTRAL_API_KEY };

  before(async () => {
    local = new WorkerClient({ model: fixtureDir, load: { contextLength: 4096 } });
    await local.load();
    server = await startServer({ backend: local, modelId: 'pixtral-test', port: 0, apiKey: API_KEY, log: (line) => log.push(line) });
    process.env.PIXTRAL_API_KEY = API_KEY;
    delete process.env.MISTRAL_API_KEY;
  });
  after(async () => {
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await server.close();
    await local.dispose();
  });

  test('the API key comes from PIXTRAL_API_KEY, else MISTRAL_API_KEY', () => {
    assert.equal(apiKeyFromEnv({ PIXTRAL_API_KEY: ' a ', MISTRAL_API_KEY: 'b' }), 'a');
    assert.equal(apiKeyFromEnv({ MISTRAL_API_KEY: 'b' }), 'b');
    assert.equal(apiKeyFromEnv({ PIXTRAL_API_KEY: '' }), undefined);
  });

  test('streams the same greedy answer and usage as the local worker', async () => {
    const remote = new RemoteBackend({ baseUrl: server.url, model: 'pixtral-test' });
    const viaHttp = await collect(remote.generate(request(10)));
    const direct = await collect(local.generate(request(10)));
    assert.ok(viaHttp.text.length > 0);
    assert.equal(viaHttp.text, direct.text);
    assert.equal(viaHttp.done?.stopReason, direct.done?.stopReason);
    assert.equal(viaHttp.done?.usage.promptTokens, direct.done?.usage.promptTokens);
    assert.equal(viaHttp.done?.usage.completionTokens, direct.done?.usage.completionTokens);
  });

  test("Mistral's dialect (no stream_options, random_seed) is picked for api.mistral.ai and understood by serve", async () => {
    assert.equal(new RemoteBackend({ baseUrl: 'https://api.mistral.ai/v1', model: 'm' }).dialect, 'mistral');
    assert.equal(new RemoteBackend({ baseUrl: server.url, model: 'm' }).dialect, 'openai');
    const openai = await collect(new RemoteBackend({ baseUrl: server.url, model: 'pixtral-test' }).generate(request(6, 1)));
    const mistral = await collect(new RemoteBackend({ baseUrl: server.url, model: 'pixtral-test', dialect: 'mistral' }).generate(request(6, 1)));
    assert.equal(mistral.text, openai.text, 'random_seed reached the sampler');
    assert.equal(openai.done?.usage.completionTokens, 6);
    assert.equal(mistral.done?.usage.completionTokens, 0, 'without stream_options an OpenAI-style server sends no usage');
  });

  test('a wrong key is a clear error naming the status', async () => {
    const remote = new RemoteBackend({ baseUrl: server.url, model: 'pixtral-test', apiKey: 'wrong' });
    await assert.rejects(collect(remote.generate(request(2))), (err: GenerationError) => {
      assert.equal(err.code, 'remote');
      assert.match(err.message, /answered HTTP 401: missing or wrong API key/);
      return true;
    });
  });

  test('an error answer (context overflow) carries the server message', async () => {
    const remote = new RemoteBackend({ baseUrl: server.url, model: 'pixtral-test' });
    await assert.rejects(collect(remote.generate(request(5000))), (err: GenerationError) => {
      assert.equal(err.code, 'bad_request');
      assert.match(err.message, /HTTP 400: the request needs \d+ tokens .* holds 4096/);
      return true;
    });
  });

  test('abort cancels: the stream ends with cancelled and the server cancels its generation', async () => {
    const remote = new RemoteBackend({ baseUrl: server.url, model: 'pixtral-test' });
    const controller = new AbortController();
    const { done } = await collect(remote.generate(request(3000, 1), { signal: controller.signal }), () => controller.abort());
    assert.equal(done?.stopReason, 'cancelled');
    const deadline = performance.now() + 5000;
    while (!log.some((l) => /client disconnected, cancelled/.test(l)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(log.some((l) => /client disconnected, cancelled/.test(l)), log.join('\n'));
  });

  test('an error mid-stream keeps the text streamed before it', async () => {
    const remote = new RemoteBackend({ baseUrl: server.url, model: 'pixtral-test' });
    let received = '';
    let killed = false;
    await assert.rejects(
      collect(remote.generate(request(3000, 1)), (text) => {
        received = text;
        if (!killed) killed = process.kill(local.pid!, 'SIGKILL');
      }),
      (err: GenerationError) => {
        assert.equal(err.code, 'remote');
        assert.match(err.message, /reported an error mid-stream: .*killed by SIGKILL/);
        assert.equal(err.partialText, received);
        return true;
      },
    );
    assert.ok(received.length > 0);
  });

  test('an endpoint that cannot be reached', async () => {
    const closed = await startServer({ backend: local, modelId: 'x', port: 0 });
    await closed.close();
    const remote = new RemoteBackend({ baseUrl: closed.url, model: 'x' });
    await assert.rejects(collect(remote.generate(request(2))), (err: GenerationError) => err.code === 'remote' && /failed: ECONNREFUSED/.test(err.message));
  });

  test('an image that cannot be read fails before any request is sent', async () => {
    const remote = new RemoteBackend({ baseUrl: server.url, model: 'pixtral-test' });
    const bad: GenerationRequest = { messages: [{ role: 'user', content: [{ type: 'image', image: { path: '/nonexistent/chart.png' } }] }], sampling: { maxTokens: 2 } };
    const before = log.length;
    await assert.rejects(collect(remote.generate(bad)), (err: GenerationError) => err.code === 'bad_request' && /cannot read the image \/nonexistent\/chart\.png/.test(err.message));
    assert.equal(log.length, before);
  });
});
