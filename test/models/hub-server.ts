// A local stand-in for the Hugging Face hub, two real HTTP servers on 127.0.0.1:
//   hub: GET /api/models/{repo}/revision/{rev}[?blobs=true]  listing with sizes, blobId, lfs.sha256
//        GET|HEAD /{repo}/resolve/{rev}/{path}  small files served directly (ETag = git blob sha1),
//        LFS files answered 302 to the CDN with X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag;
//        gated repositories answer 401 (no token) / 403 (token without access) with
//        X-Error-Code: GatedRepo, as the hub does
//   cdn: GET /blobs/{sha256}  Range/206 and Content-Range
// Faults can be queued per file: a dropped connection after N bytes, a flipped byte, a stall,
// a slow trickle, an HTTP status. Every request is logged for assertions.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RepoFileContent } from './model-files';

export interface FakeRepo {
  id: string;
  commit: string;
  gated?: boolean;
  files: RepoFileContent[];
  /** Sizes the listing should claim instead of the real ones (to test the disk-space check). */
  claimedSizes?: Record<string, number>;
}

export type Fault =
  | { kind: 'drop'; afterBytes: number }
  | { kind: 'corrupt'; offset: number }
  | { kind: 'stall' }
  | { kind: 'slow'; chunkBytes: number; delayMs: number }
  | { kind: 'status'; status: number };

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

export interface FakeHub {
  endpoint: string;
  cdn: string;
  requests: LoggedRequest[];
  /** Applies `fault` to the next `times` content responses of `file` (a repository path). */
  addFault(file: string, fault: Fault, times?: number): void;
  close(): Promise<void>;
}

interface StoredFile {
  repo: FakeRepo;
  path: string;
  content: Buffer;
  lfs: boolean;
  sha256: string;
  blobId: string;
}

const gitBlobSha1 = (data: Buffer) => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');

// As on the hub: weights and anything large live in LFS, configs are plain git files.
const isLfs = (f: RepoFileContent) => f.path.endsWith('.safetensors') || f.content.length > 100_000;

function stored(repo: FakeRepo, f: RepoFileContent): StoredFile {
  const sha256 = createHash('sha256').update(f.content).digest('hex');
  const lfs = isLfs(f);
  const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${f.content.length}\n`);
  return { repo, path: f.path, content: f.content, lfs, sha256, blobId: gitBlobSha1(lfs ? pointer : f.content) };
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

export async function startFakeHub(options: { repos: FakeRepo[]; tokens?: string[] }): Promise<FakeHub> {
  const files = options.repos.flatMap((repo) => repo.files.map((f) => stored(repo, f)));
  const tokens = new Set(options.tokens ?? []);
  const faults = new Map<string, Fault[]>();
  const requests: LoggedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const log = (server: 'hub' | 'cdn', req: http.IncomingMessage) =>
    requests.push({ server, method: req.method ?? 'GET', url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization });

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const findRepo = (id: string) => options.repos.find((r) => r.id === id);
  const revisionMatches = (repo: FakeRepo, rev: string) => rev === 'main' || rev === repo.commit;

  function listing(repo: FakeRepo, blobs: boolean) {
    return {
      id: repo.id,
      sha: repo.commit,
      gated: repo.gated ? 'manual' : false,
      siblings: files
        .filter((f) => f.repo === repo)
        .map((f) => {
          if (!blobs) return { rfilename: f.path };
          const size = repo.claimedSizes?.[f.path] ?? f.content.length;
          return { rfilename: f.path, size, blobId: f.blobId, ...(f.lfs ? { lfs: { sha256: f.sha256, size, pointerSize: 134 } } : {}) };
        }),
    };
  }

  /** Serves `file` honouring Range, with the next queued fault applied. */
  function serveContent(req: http.IncomingMessage, res: http.ServerResponse, file: StoredFile, headers: Record<string, string>) {
    const size = file.content.length;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (req.headers.range) {
      if (!m || Number(m[1]) >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` });
        return res.end();
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      status = 206;
    }
    // A flipped byte waits for the response that carries its offset; other faults hit the next one.
    const queue = faults.get(file.path) ?? [];
    const next = queue[0];
    const fault = next && (next.kind !== 'corrupt' || (next.offset >= start && next.offset <= end)) ? queue.shift() : undefined;
    if (fault?.kind === 'status') {
      res.writeHead(fault.status);
      return res.end();
    }
    const body = Buffer.from(file.content.subarray(start, end + 1));
    if (fault?.kind === 'corrupt') body[fault.offset - start] ^= 0xff;
    res.writeHead(status, {
      ...headers,
      'Content-Length': String(body.length),
      'Accept-Ranges': 'bytes',
      ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') return res.end();
    if (fault?.kind === 'drop') {
      res.write(body.subarray(0, fault.afterBytes), () => res.socket?.destroy());
      return;
    }
    if (fault?.kind === 'stall') {
      res.flushHeaders();
      return; // never answers; the client gives up
    }
    if (fault?.kind === 'slow') {
      let pos = 0;
      const tick = () => {
        if (res.destroyed) return;
        res.write(body.subarray(pos, pos + fault.chunkBytes));
        pos += fault.chunkBytes;
        if (pos >= body.length) return res.end();
        const t = setTimeout(() => {
          timers.delete(t);
          tick();
        }, fault.delayMs);
        timers.add(t);
      };
      return tick();
    }
    res.end(body);
  }

  const hub = http.createServer((req, res) => {
    log('hub', req);
    const url = new URL(req.url ?? '/', 'http://hub');
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api) {
      const repo = findRepo(api[1]);
      if (!repo || !revisionMatches(repo, decodeURIComponent(api[2]))) return json(res, 401, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
      return json(res, 200, listing(repo, url.searchParams.get('blobs') === 'true'));
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = resolve && findRepo(resolve[1]);
    if (!resolve || !repo || !revisionMatches(repo, decodeURIComponent(resolve[2]))) {
      return json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    }
    if (repo.gated) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!token || !tokens.has(token)) {
        const message = token
          ? `Access to model ${repo.id} is restricted and you are not in the authorized list. Visit https://huggingface.co/${repo.id} to ask for access.`
          : `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
        return json(res, token ? 403 : 401, { error: message }, { 'X-Error-Code': 'GatedRepo', 'X-Error-Message': message });
      }
    }
    const file = files.find((f) => f.repo === repo && f.path === decodeURIComponent(resolve[3]));
    if (!file) return json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    if (!file.lfs) return serveContent(req, res, file, { ETag: `"${file.blobId}"`, 'X-Repo-Commit': repo.commit });
    res.writeHead(302, {
      Location: `${cdnOrigin}/blobs/${file.sha256}?X-Amz-Signature=${randomBytes(8).toString('hex')}`,
      'X-Repo-Commit': repo.commit,
      'X-Linked-Etag': `"${file.sha256}"`,
      'X-Linked-Size': String(file.content.length),
      ETag: `"${file.blobId}"`,
    });
    res.end();
  });

  const cdnServer = http.createServer((req, res) => {
    log('cdn', req);
    const sha = /^\/blobs\/([0-9a-f]{64})$/.exec(new URL(req.url ?? '/', 'http://cdn').pathname)?.[1];
    const file = files.find((f) => f.lfs && f.sha256 === sha);
    if (!file) {
      res.writeHead(403);
      return res.end('AccessDenied');
    }
    serveContent(req, res, file, { ETag: `"${file.sha256}"` });
  });

  const endpoint = await listen(hub);
  const cdnOrigin = await listen(cdnServer);
  return {
    endpoint,
    cdn: cdnOrigin,
    requests,
    addFault(file, fault, times = 1) {
      const list = faults.get(file) ?? [];
      for (let i = 0; i < times; i++) list.push(fault);
      faults.set(file, list);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const server of [hub, cdnServer]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}
