// `pixtral serve` over real HTTP on 127.0.0.1, with the real worker on the fixture model:
// models list, JSON and SSE answers with usage, queueing of concurrent clients, disconnect as
// cancel, bounded bodies, malformed JSON, image URL policy, context overflow, API key, a worker
// killed mid-stream.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '../../src/service/serve';
import { WorkerClient } from '../../src/service/worker-client';
import { fixtureDir } from '../support/fixtures';

const IMAGE_FILE = path.join(fixtureDir, 'images', 'vision_single.png'); // a 3x5 patch grid: 18 tokens
const IMAGE_BYTES = readFileSync(IMAGE_FILE);
const DATA_URL = `data:image/png;base64,${IMAGE_BYTES.toString('base64')}`;
const MAX_BODY = 256 * 1024;

function chat(overrides: Record<string, unknown> = {}, imageUrl = DATA_URL): Record<string, unknown> {
  return {
    model: 'pixtral-test',
    messages: [
      { role: 'system', content: 'Answer briefly.' },
      { role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image_url', image_url: { url: imageUrl } }] },
    ],
    max_tokens: 8,
    temperature: 0,
    ...overrides,
  };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The `data:` payloads of an SSE body, in order. */
function sseEvents(body: string): string[] {
  return body
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

interface StreamedAnswer {
  text: string;
  chunks: Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  done: boolean;
  firstAt: number;
  lastAt: number;
}

/** Reads an SSE answer as it arrives, noting when the first and last content came. */
async function readStream(response: Response): Promise<StreamedAnswer> {
  const answer: StreamedAnswer = { text: '', chunks: [], done: false, firstAt: 0, lastAt: 0 };
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    const end = buffer.lastIndexOf('\n\n');
    if (end < 0) continue;
    for (const data of sseEvents(buffer.slice(0, end + 2))) {
      if (data === '[DONE]') {
        answer.done = true;
        continue;
      }
      const chunk = JSON.parse(data);
      answer.chunks.push(chunk);
      const content = chunk.choices?.[0]?.delta?.content;
      if (content) {
        answer.text += content;
        answer.firstAt ||= performance.now();
        answer.lastAt = performance.now();
      }
    }
    buffer = buffer.slice(end + 2);
  }
  return answer;
}

/** Waits until `lines` holds a line matching `pattern` (the server logs each finished request). */
async function logLine(lines: string[], pattern: RegExp, timeoutMs = 5000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line;
    if (performance.now() > deadline) throw new Error(`no log line matching ${pattern} in:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('pixtral serve', () => {
  let backend: WorkerClient;
  let server: RunningServer;
  const log: string[] = [];

  before(async () => {
    backend = new WorkerClient({ model: fixtureDir, load: { contextLength: 4096 } });
    await backend.load();
    server = await startServer({ backend, modelId: 'pixtral-test', port: 0, maxBodyBytes: MAX_BODY, log: (line) => log.push(line) });
  });
  after(async () => {
    await server.close();
    await backend.dispose();
  });

  test('binds to 127.0.0.1 and lists its model', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const response = await fetch(`${server.url}/models`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { object: 'list', data: [{ id: 'pixtral-test', object: 'model', created: 0, owned_by: 'pixtral-local' }] });
  });

  test('a JSON answer with usage, and the same greedy text streamed as SSE', async () => {
    const response = await post(server.url, chat());
    assert.equal(response.status, 200);
    const completion = await response.json();
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'pixtral-test');
    const [choice] = completion.choices;
    assert.equal(choice.message.role, 'assistant');
    assert.ok(choice.message.content.length > 0);
    const { prompt_tokens, completion_tokens, total_tokens } = completion.usage;
    assert.ok(prompt_tokens > 18, `prompt_tokens ${prompt_tokens} include the 18 image tokens`);
    assert.ok(completion_tokens >= 1 && completion_tokens <= 8);
    assert.equal(total_tokens, prompt_tokens + completion_tokens);
    assert.equal(choice.finish_reason, completion_tokens === 8 ? 'length' : 'stop');

    const streamed = await post(server.url, chat({ stream: true, stream_options: { include_usage: true } }));
    assert.equal(streamed.status, 200);
    assert.match(streamed.headers.get('content-type') ?? '', /^text\/event-stream/);
    const answer = await readStream(streamed);
    assert.equal(answer.text, choice.message.content);
    assert.equal(answer.done, true, 'ends with [DONE]');
    assert.deepEqual(answer.chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    const finish = answer.chunks.at(-2);
    assert.equal(finish?.choices[0].finish_reason, choice.finish_reason);
    const usageChunk = answer.chunks.at(-1);
    assert.deepEqual(usageChunk?.choices, []);
    assert.deepEqual(usageChunk?.usage, completion.usage);
    assert.ok(answer.chunks.every((c) => c.id === answer.chunks[0].id && c.object === 'chat.completion.chunk'));
  });

  test('concurrent clients are queued: all answered, one after another', async () => {
    const answers = await Promise.all(
      [1, 2, 3].map(async (seed) => readStream(await post(server.url, chat({ stream: true, max_tokens: 6, temperature: 1, seed })))),
    );
    for (const answer of answers) {
      assert.equal(answer.done, true);
      assert.equal(answer.chunks.at(-1)?.choices[0].finish_reason, 'length');
    }
    const spans = answers.map((a) => [a.firstAt, a.lastAt]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], 'answers did not overlap in time');
  });

  test('a client that disconnects mid-stream cancels its generation', async () => {
    const body = JSON.stringify(chat({ stream: true, max_tokens: 3000, temperature: 1 }));
    const { port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' } });
      req.on('response', (res) => {
        res.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('"content":"') && !chunk.toString().includes('"content":""')) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end(body);
    });
    const line = await logLine(log, /client disconnected, cancelled prompt=\d+ completion=(\d+)/);
    const completion = Number(/completion=(\d+)/.exec(line)?.[1]);
    assert.ok(completion < 3000, `stopped after ${completion} tokens`);
    const next = await post(server.url, chat({ max_tokens: 2 }));
    assert.equal(next.status, 200);
  });

  test('an oversized body is refused with 413 before it is read, and the server carries on', async () => {
    const big = JSON.stringify(chat({ padding: 'x'.repeat(MAX_BODY) }));
    const response = await post(server.url, big);
    assert.equal(response.status, 413);
    const error = (await response.json()).error;
    assert.equal(error.code, 'request_too_large');
    assert.match(error.message, new RegExp(`larger than ${MAX_BODY} bytes`));

    // Without a Content-Length (chunked), the limit applies while reading.
    const { port } = new URL(server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let sent = 0; sent <= MAX_BODY; sent += 16 * 1024) req.write('x'.repeat(16 * 1024));
      req.end();
    });
    assert.equal(status, 413);
    assert.equal((await fetch(`${server.url}/models`)).status, 200);
  });

  test('malformed JSON and invalid requests get 400 with an OpenAI-style error', async () => {
    const cases: [string | Record<string, unknown>, RegExp][] = [
      ['{"model": "x", "messages": [', /not valid JSON/],
      ['[1, 2]', /must be a JSON object/],
      [{ model: 'x' }, /messages must be a non-empty array/],
      [{ messages: [{ role: 'robot', content: 'hi' }] }, /messages\[0\]\.role/],
      [chat({ max_tokens: -1 }), /max_tokens has an invalid value/],
      [chat({ n: 2 }), /n must be 1/],
      [chat({}, 'data:text/plain;base64,aGVsbG8='), /not an image/],
      [chat({}, 'file:///etc/passwd'), /unsupported image URL scheme/],
      [{ messages: [{ role: 'assistant', content: 'hi' }] }, /must be "user"/],
    ];
    for (const [body, message] of cases) {
      const response = await post(server.url, body);
      assert.equal(response.status, 400, `${JSON.stringify(body).slice(0, 60)} -> ${response.status}`);
      const { error } = await response.json();
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, message);
    }
    const json = await post(server.url, '{"model": "x", "messages": [');
    assert.equal((await json.json()).error.code, 'invalid_json');
  });

  test('unknown routes and methods', async () => {
    assert.equal((await fetch(`${server.url}/completions`)).status, 404);
    assert.equal((await fetch(`${server.url}/chat/completions`)).status, 405);
    assert.equal((await fetch(`${server.url}/models`, { method: 'POST' })).status, 405);
  });

  test('a request beyond the context window fails with 400, stating tokens needed and available', async () => {
    const response = await post(server.url, chat({ max_tokens: 5000 }));
    assert.equal(response.status, 400);
    const { error } = await response.json();
    assert.equal(error.code, 'context_length_exceeded');
    assert.match(error.message, /needs \d+ tokens .* plus 5000 to generate\) but the context window holds 4096/);
  });

  test('http(s) image URLs are refused unless the server allows them', async () => {
    const images = http.createServer((_req, res) => res.end(IMAGE_BYTES));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    const imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/chart.png`;
    const open = await startServer({ backend, modelId: 'pixtral-test', port: 0, allowRemoteImages: true });
    try {
      const refused = await post(server.url, chat({}, imageUrl));
      assert.equal(refused.status, 400);
      assert.match((await refused.json()).error.message, /remote image URLs are refused.*data: URI/);
      const allowed = await post(open.url, chat({}, imageUrl));
      assert.equal(allowed.status, 200);
      const local = await (await post(server.url, chat())).json();
      assert.equal((await allowed.json()).choices[0].message.content, local.choices[0].message.content, 'same image, same greedy answer');
    } finally {
      await open.close();
      images.close();
    }
  });

  test('with an API key, requests without it get 401', async () => {
    const guarded = await startServer({ backend, modelId: 'pixtral-test', port: 0, apiKey: 'sekret-123' });
    try {
      assert.equal((await fetch(`${guarded.url}/models`)).status, 401);
      assert.equal((await fetch(`${guarded.url}/models`, { headers: { authorization: 'Bearer wrong-key!' } })).status, 401);
      assert.equal((await fetch(`${guarded.url}/models`, { headers: { authorization: 'Bearer sekret-123' } })).status, 200);
    } finally {
      await guarded.close();
    }
  });

  test('beyond the queue bound, requests get 429', async () => {
    const tight = await startServer({ backend, modelId: 'pixtral-test', port: 0, maxQueued: 0 });
    const controller = new AbortController();
    try {
      const running = await fetch(`${tight.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(chat({ stream: true, max_tokens: 3000, temperature: 1 })),
        signal: controller.signal,
      });
      assert.equal(running.status, 200);
      const refused = await post(tight.url, chat());
      assert.equal(refused.status, 429);
      assert.match((await refused.json()).error.message, /busy/);
    } finally {
      controller.abort();
      await tight.close();
    }
  });

  test('a worker killed mid-stream: an error event ends the stream, the next request restarts it', async () => {
    const response = await post(server.url, chat({ stream: true, max_tokens: 3000, temperature: 1 }));
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let body = '';
    let killed = false;
    const victim = backend.pid!;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += new TextDecoder().decode(value);
      if (body.includes('"content":"') && !killed) killed = process.kill(victim, 'SIGKILL');
    }
    const last = JSON.parse(sseEvents(body).at(-1)!);
    assert.equal(last.error.code, 'worker_crashed');
    assert.match(last.error.message, /killed by SIGKILL/);
    const next = await post(server.url, chat({ max_tokens: 2 }));
    assert.equal(next.status, 200);
    assert.notEqual(backend.pid, victim);
  });
});
