// `pixtral serve`: the OpenAI-compatible HTTP server (src/service/serve.ts) in front of the local
// worker (or, with --endpoint, a relay to another endpoint). Runs until Ctrl-C.
import { once } from 'node:events';
import { DEFAULT_REMOTE_MODEL } from '../../service/remote-backend';
import { startServer } from '../../service/serve';
import { WorkerClient } from '../../service/worker-client';
import { integerFlag, NO_OPERANDS, type CliCommand } from '../command';
import { BACKEND_OPTIONS, BACKEND_USAGE, createBackend } from '../generation-runner';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const API_KEY_VARIABLE = 'PIXTRAL_SERVE_API_KEY';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions)',
  usage: `usage: pixtral serve [--host HOST] [--port N] [options]

Endpoints: GET /v1/models, POST /v1/chat/completions (images as data: URIs in image_url parts,
"stream": true for server-sent events). Requests are served one at a time, the others queue.
Prints the base URL on stderr once the model is loaded. Ctrl-C stops the server.

options:
  --host HOST            interface to listen on (default 127.0.0.1: this machine only)
  --port N               port (default 8080; 0 picks a free one)
  --model-id NAME        model name reported to clients (default ${DEFAULT_REMOTE_MODEL})
  --max-body-mb N        largest request body in MiB (default 32)
  --max-queued N         requests that may wait; more get HTTP 429 (default 16)
  --max-tokens N         max_tokens when a request gives none (default 1024)
  --allow-remote-images  fetch http(s) image URLs (default: refused)
Requests must carry "Authorization: Bearer <key>" when ${API_KEY_VARIABLE} is set.

${BACKEND_USAGE}`,
  options: {
    ...BACKEND_OPTIONS,
    host: { type: 'string' },
    port: { type: 'string' },
    'model-id': { type: 'string' },
    'max-body-mb': { type: 'string' },
    'max-queued': { type: 'string' },
    'max-tokens': { type: 'string' },
    'allow-remote-images': { type: 'boolean' },
  },
  operands: NO_OPERANDS,
  async run({ values }, io) {
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    const apiKey = process.env[API_KEY_VARIABLE]?.trim() || undefined;
    if (!LOOPBACK.has(host) && !apiKey) {
      io.stderr.write(`warning: listening on ${host} without ${API_KEY_VARIABLE}: anyone who can reach this port can use the model\n`);
    }
    const { backend } = await createBackend(values, io);
    try {
      // Load before listening, so a broken model folder fails here and not on the first request.
      if (backend instanceof WorkerClient) {
        io.stderr.write(`loading ${backend.description}…\n`);
        await backend.load();
      }
      const maxBodyMb = integerFlag(values, 'max-body-mb');
      const server = await startServer({
        backend,
        modelId: (values['model-id'] as string | undefined) ?? DEFAULT_REMOTE_MODEL,
        host,
        port: integerFlag(values, 'port', 0) ?? 8080,
        maxBodyBytes: maxBodyMb && maxBodyMb * 1024 * 1024,
        maxQueued: integerFlag(values, 'max-queued', 0),
        defaultMaxTokens: integerFlag(values, 'max-tokens'),
        allowRemoteImages: values['allow-remote-images'] === true,
        apiKey,
        log: (line) => io.stderr.write(`${line}\n`),
      });
      io.stderr.write(`pixtral serve: listening on ${server.url}\n`);
      if (!io.signal.aborted) await once(io.signal, 'abort');
      io.stderr.write('pixtral serve: stopping\n');
      await server.close();
    } finally {
      await backend.dispose();
    }
    return 0;
  },
};
