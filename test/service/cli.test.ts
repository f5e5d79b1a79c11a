// `pixtral html|explain|table|ask|serve` end to end as real processes on the fixture model (random
// weights, so the text is noise): exit codes, stdout carrying only the answer, progress and
// tokens/s on stderr, Ctrl-C (a real SIGINT) cancelling cleanly, --endpoint through a real server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { chartExplain } from '../../src/prompts/index';
import { startServer, type RunningServer } from '../../src/service/serve';
import { toGenerationRequest } from '../../src/service/task-request';
import { WorkerClient } from '../../src/service/worker-client';
import { paramsJson, PIXTRAL_12B, tensorList, writeSafetensors } from '../bench/synthetic-model';
import { fixtureDir } from '../support/fixtures';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CHART = path.join(fixtureDir, 'images', 'vision_single.png'); // 3x5 patches, 18 tokens
const OTHER = path.join(fixtureDir, 'images', 'vision_pair_0.png');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess, onStderr: (text: string) => void = () => {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => {
    stderr += t;
    onStderr(stderr);
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

const pixtral = (args: string[], env?: NodeJS.ProcessEnv) => finish(start(args, env));

describe('pixtral CLI', () => {
  test('explain: the answer on stdout, progress and tokens/s on stderr; same text as the backend gives', async () => {
    const run = await pixtral(['explain', CHART, '--model', fixtureDir, '--max-tokens', '8', '--temperature', '0']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^Explain a chart · local worker, model /m);
    assert.match(run.stderr, /^image 1\/1: 3×5 patches, 18 tokens$/m);
    assert.match(run.stderr, /^prefill: \d+ prompt tokens \(context \d+\)$/m);
    assert.match(run.stderr, /^\d+ tokens in [\d.]+ s \([\d.]+ tok\/s\); prompt \d+ tokens, prefill [\d.]+ s; total [\d.]+ s; (length|stop)$/m);

    const backend = new WorkerClient({ model: fixtureDir });
    try {
      const conversation = chartExplain.build({ image: { path: CHART } });
      let text = '';
      for await (const event of backend.generate(toGenerationRequest(conversation, { maxTokens: 8, temperature: 0 }))) {
        if (event.type === 'text') text += event.text;
      }
      assert.ok(text.length > 0);
      assert.equal(run.stdout, text, 'stdout is exactly the answer');
    } finally {
      await backend.dispose();
    }
  });

  test('a model that cannot fit in memory is refused before any load, with the numbers', async () => {
    // Pixtral 12B's width with 400 layers (250 GB): the safetensors file is headers and a hole,
    // enough for the engine's memory plan, which refuses it before anything is read or loaded.
    const dir = await mkdtemp(path.join(tmpdir(), 'pixtral-huge-'));
    try {
      const huge = { ...PIXTRAL_12B, nLayers: 400 };
      await writeFile(path.join(dir, 'params.json'), JSON.stringify(paramsJson(huge)));
      writeSafetensors(path.join(dir, 'consolidated.safetensors'), tensorList(huge), true);
      await symlink(path.join(fixtureDir, 'tekken.json'), path.join(dir, 'tekken.json'));
      const run = await pixtral(['explain', CHART, '--model', dir, '--max-tokens', '4']);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /does not fit: it needs [\d.]+ GB/);
      assert.doesNotMatch(run.stderr, /prefill|generating/, 'nothing was loaded or run');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('html on the random-weight test model: says so, and streams its raw text (no HTML to extract)', async () => {
    const run = await pixtral(['html', CHART, '--model', fixtureDir, '--max-tokens', '6', '--instruction', 'dark theme']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /test model with random weights: the pipeline is real, its text is meaningless/);
    assert.match(run.stderr, /output filtering is off for the test model/);
    assert.match(run.stderr, /^HTML from a sketch or screenshot/m);
    assert.ok(run.stdout.length > 0, 'the raw text is streamed');
  });

  test('html through --endpoint: only the fenced code reaches stdout, byte-identical; no HTML is an error', async () => {
    const code = '<!DOCTYPE html>\n<html lang="en">\n<head><style>body { color: #222; }</style></head>\n<body><h1>Sign up</h1></body>\n</html>\n';
    let answer = `Here is the page you asked for:\n\n\`\`\`html\n${code}\`\`\`\n\nIt uses plain CSS.`;
    // A real OpenAI-compatible endpoint on 127.0.0.1 replaying a recorded answer as SSE in small chunks.
    const server = createServer((req, res) => {
      req.resume().on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (let i = 0; i < answer.length; i += 7) {
          const delta = { choices: [{ index: 0, delta: { content: answer.slice(i, i + 7) }, finish_reason: null }] };
          res.write(`data: ${JSON.stringify(delta)}\n\n`);
        }
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 20 } })}\n\n`);
        res.end('data: [DONE]\n\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    try {
      const run = await pixtral(['html', CHART, '--endpoint', url]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, code);
      answer = 'I cannot draw that.';
      const refused = await pixtral(['html', CHART, '--endpoint', url]);
      assert.equal(refused.code, 1);
      assert.equal(refused.stdout, '');
      assert.match(refused.stderr, /pixtral: the answer contains no HTML document; the model's answer was:\nI cannot draw that\./);
    } finally {
      server.close();
    }
  });

  test('ask with several images; table; usage errors', async () => {
    const ask = await pixtral(['ask', CHART, OTHER, '--prompt', 'Compare them.', '--model', fixtureDir, '--max-tokens', '3', '-q']);
    assert.equal(ask.code, 0, ask.stderr);
    assert.match(ask.stderr, /^note: .* is a test model with random weights[^\n]*\n$/, '--quiet prints only the test-model warning');
    const table = await pixtral(['table', CHART, '--from', 'table', '--format', 'html', '--model', fixtureDir, '--max-tokens', '3', '--kv-cache', 'q8_0']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stderr, /^Table image to HTML or Markdown/m);

    const usage: [string[], RegExp][] = [
      [['ask', CHART, '--model', fixtureDir], /needs --prompt TEXT/],
      [['table', CHART, '--from', 'table', '--format', 'csv'], /--format for a table must be markdown or html, got "csv"/],
      [['explain', '--model', fixtureDir], /takes exactly one chart image/],
      [['explain', CHART, '--max-tokens', 'lots'], /--max-tokens must be an integer >= 1, got "lots"/],
      [['explain', CHART, '--kv-cache', 'q4_0'], /--kv-cache must be one of f16, bf16, f32, q8_0, got "q4_0"/],
      [['html', CHART, '--model', fixtureDir, '--endpoint', 'http://127.0.0.1:1/v1'], /either --model\/--backend\/--precision .* or --endpoint/],
    ];
    for (const [args, message] of usage) {
      // In-process through the same entry point: usage errors start no worker, so no need to spawn.
      let stderr = '';
      const sink = new PassThrough();
      const io = { stdin: process.stdin, stdout: sink, stderr: new PassThrough().on('data', (t: Buffer) => (stderr += t.toString())), signal: new AbortController().signal };
      const code = await main(args, io);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
    }
  });

  test('an unreadable image is a clear error', async () => {
    const run = await pixtral(['explain', 'no-such-chart.png', '--model', fixtureDir]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /pixtral: image 1 of 1: .*no-such-chart\.png/);
  });

  test('Ctrl-C cancels cleanly: partial answer kept, exit 130', async () => {
    const child = start(['explain', CHART, '--model', fixtureDir, '--max-tokens', '3000', '--temperature', '1']);
    let interruptedAt = 0;
    const run = await finish(child, (stderr) => {
      if (!interruptedAt && stderr.includes('generating…')) {
        interruptedAt = performance.now();
        setTimeout(() => child.kill('SIGINT'), 200);
      }
    });
    assert.equal(run.code, 130, run.stderr);
    assert.ok(performance.now() - interruptedAt < 5000);
    assert.match(run.stderr, /^\d+ tokens in .*; cancelled\ncancelled$/m);
    assert.ok(run.stdout.length > 0, 'what was streamed before the cancel stays on stdout');
  });

  describe('with a server', () => {
    let backend: WorkerClient;
    let server: RunningServer;
    before(async () => {
      backend = new WorkerClient({ model: fixtureDir });
      server = await startServer({ backend, modelId: 'pixtral-test', port: 0 });
    });
    after(async () => {
      await server.close();
      await backend.dispose();
    });

    test('--endpoint streams the same answer from an OpenAI-compatible server', async () => {
      const args = ['explain', CHART, '--max-tokens', '8', '--temperature', '0'];
      const [remote, localRun] = [await pixtral([...args, '--endpoint', server.url]), await pixtral([...args, '--model', fixtureDir])];
      assert.equal(remote.code, 0, remote.stderr);
      assert.match(remote.stderr, new RegExp(`^Explain a chart · pixtral-12b-2409 at ${server.url.replace(/\./g, '\\.')}$`, 'm'));
      assert.match(remote.stderr, /tok\/s/);
      assert.equal(remote.stdout, localRun.stdout);
    });
  });

  test('the esbuild bundle: dist/cli.js runs the worker from dist/worker.js', async () => {
    const bundle = ['cli.js', 'worker.js'].map((file) => path.join(REPO_ROOT, 'dist', file));
    const missing = bundle.filter((file) => !existsSync(file));
    assert.deepEqual(missing, [], 'build the bundles first with "npm run build" (npm test does)');
    const run = await finish(spawn(process.execPath, [bundle[0], 'explain', CHART, '--model', fixtureDir, '--max-tokens', '4', '--temperature', '0'], { cwd: REPO_ROOT }));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^image 1\/1: 3×5 patches, 18 tokens$/m);
    assert.match(run.stderr, /^4 tokens in .*; length$/m);
  });

  test('serve: loads, listens on 127.0.0.1, answers, and stops on Ctrl-C', async () => {
    const child = start(['serve', '--model', fixtureDir, '--port', '0', '--model-id', 'tiny']);
    let url = '';
    const listening = new Promise<void>((resolve) => {
      child.stderr!.setEncoding('utf8').on('data', function watch(text: string) {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(text);
        if (match) {
          url = match[1];
          child.stderr!.off('data', watch);
          resolve();
        }
      });
    });
    const exited = finish(child);
    await listening;
    const models = await (await fetch(`${url}/models`)).json();
    assert.equal(models.data[0].id, 'tiny');
    const answer = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 3 }),
    });
    assert.equal(answer.status, 200);
    assert.equal((await answer.json()).usage.completion_tokens, 3);
    child.kill('SIGINT');
    const run = await exited;
    assert.equal(run.code, 130);
    assert.match(run.stderr, /POST \/v1\/chat\/completions 200 length prompt=\d+ completion=3/);
    assert.match(run.stderr, /pixtral serve: stopping/);
  });
});
