// Talking to the Hugging Face hub: the token, the repository listing (`/api/models/{repo}/revision/
// {rev}?blobs=true`: commit, file sizes, LFS sha256), file URLs (`/{repo}/resolve/{commit}/{path}`,
// which answer 302 to a CDN) and one error type whose message tells the user what to do. Redirects
// are followed here, not by fetch, so the token is only ever sent to the hub itself.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelEnv } from './env';
import { ModelError } from './errors';

export type HubErrorKind =
  | 'gated' // licence not accepted, or no/insufficient token, for a gated repository
  | 'unauthorized' // 401/403 on a repository that is not known to be gated
  | 'not-found'
  | 'rate-limited'
  | 'server'
  | 'network'
  | 'offline'
  | 'protocol'; // the server answered something we cannot use

export class HubError extends ModelError {
  override name = 'HubError';
  constructor(
    message: string,
    readonly kind: HubErrorKind,
    readonly status?: number,
  ) {
    super(message);
  }

  /** Worth trying again after a pause. */
  get retryable(): boolean {
    return this.kind === 'rate-limited' || this.kind === 'server' || this.kind === 'network';
  }
}

/** Supplies the hub token, e.g. from VS Code SecretStorage; undefined means anonymous. */
export type TokenProvider = () => Promise<string | undefined> | string | undefined;

/** HF_TOKEN (or the legacy name), else the file `huggingface-cli login` wrote. */
export function envTokenProvider(env: ModelEnv): TokenProvider {
  return async () => {
    if (env.envToken) return env.envToken;
    try {
      const token = (await readFile(env.tokenFile, 'utf8')).trim();
      return token || undefined;
    } catch {
      return undefined;
    }
  };
}

export interface HubContext {
  endpoint: string;
  token?: string;
  signal?: AbortSignal;
}

/** One file of a repository at a commit; `hash` names its blob in the HF cache. */
export interface RepoFile {
  path: string;
  size: number;
  /** LFS files: sha256 of the content; others: the git blob sha1 (what the hub's ETag carries). */
  hash: { algorithm: 'sha256' | 'git-sha1'; hex: string };
}

export interface RepoInfo {
  repo: string;
  commit: string;
  files: RepoFile[];
}

function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
}

/** The repository id a hub URL is about, for error messages. */
function repoOf(url: URL): string {
  const parts = url.pathname.split('/').filter(Boolean);
  const start = parts[0] === 'api' ? 2 : 0;
  return parts.slice(start, start + 2).map(decodeURIComponent).join('/');
}

const MAX_REDIRECTS = 10;

/**
 * GET (or HEAD) `url`, following redirects by hand: the Authorization header goes to the hub's own
 * origin only, never to the CDN a file redirects to. Returns the final 2xx response; anything else
 * becomes a HubError. `range` is an inclusive byte range.
 */
export async function hubFetch(
  url: string,
  ctx: HubContext,
  options: { range?: [number, number]; method?: 'GET' | 'HEAD' } = {},
): Promise<Response> {
  const hubOrigin = new URL(ctx.endpoint).origin;
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'User-Agent': 'pixtral-vscode', 'Accept-Encoding': 'identity' };
    if (ctx.token && current.origin === hubOrigin) headers.Authorization = `Bearer ${ctx.token}`;
    if (options.range) headers.Range = `bytes=${options.range[0]}-${options.range[1]}`;
    let res: Response;
    try {
      res = await fetch(current, { method: options.method ?? 'GET', headers, redirect: 'manual', signal: ctx.signal });
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      throw networkError(current, err);
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current);
      continue;
    }
    if (res.ok) return res;
    throw await statusError(res, current, ctx);
  }
  throw new HubError(`too many redirects fetching ${url}`, 'protocol');
}

function networkError(url: URL, err: unknown): HubError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (err as Error).message;
  return new HubError(
    `cannot reach ${url.host} (${detail}). Check the network connection, a proxy, or HF_ENDPOINT if you use a mirror.`,
    'network',
  );
}

async function statusError(res: Response, url: URL, ctx: HubContext): Promise<HubError> {
  const code = res.headers.get('x-error-code');
  const serverMessage = res.headers.get('x-error-message') ?? (await res.text().catch(() => '')).slice(0, 300);
  const repo = repoOf(url);
  const page = `${ctx.endpoint}/${repo}`;
  const suffix = serverMessage ? ` (hub: ${serverMessage.trim()})` : '';
  const status = res.status;

  if (code === 'GatedRepo') {
    const how = ctx.token
      ? `Your token has no access to it: log in at ${page} with the account that owns the token and accept the licence, and check that the token may read gated repositories (${ctx.endpoint}/settings/tokens).`
      : `Log in at ${page} and accept the licence, then create a read token at ${ctx.endpoint}/settings/tokens and give it to Pixtral: HF_TOKEN=hf_... for the CLI, or the token prompt in VS Code.`;
    return new HubError(`${repo} is a gated repository (HTTP ${status}). ${how}${suffix}`, 'gated', status);
  }
  if (status === 404 || code === 'RepoNotFound' || code === 'RevisionNotFound' || code === 'EntryNotFound') {
    return new HubError(`not found on the hub: ${url.pathname} (HTTP ${status}).${suffix}`, 'not-found', status);
  }
  if (status === 401 || status === 403) {
    const how = ctx.token
      ? 'Check that the token is valid and may read this repository.'
      : `The repository is private, gated or does not exist; if you have access, set a token (HF_TOKEN, or the token prompt in VS Code).`;
    return new HubError(`access to ${repo} refused (HTTP ${status}). ${how}${suffix}`, 'unauthorized', status);
  }
  if (status === 429) return new HubError(`the hub is rate-limiting requests (HTTP 429).${suffix}`, 'rate-limited', status);
  if (status >= 500 || status === 408) return new HubError(`the hub answered HTTP ${status} for ${url.pathname}.${suffix}`, 'server', status);
  return new HubError(`unexpected HTTP ${status} for ${url.href}.${suffix}`, 'protocol', status);
}

const API_TIMEOUT_MS = 30_000;
const API_ATTEMPTS = 3;

/** The commit a revision points to, and every file with its size and content hash. Retries transient failures. */
export async function fetchRepoInfo(repo: string, revision: string, ctx: HubContext): Promise<RepoInfo> {
  const url = `${ctx.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  for (let attempt = 1; ; attempt++) {
    const timeout = AbortSignal.timeout(API_TIMEOUT_MS);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
    try {
      const res = await hubFetch(url, { ...ctx, signal });
      let json: unknown;
      try {
        json = await res.json();
      } catch (err) {
        if (signal.aborted) throw err;
        throw new HubError(`the hub's answer for ${repo} is not JSON (${(err as Error).message})`, 'protocol');
      }
      return parseRepoInfo(repo, json);
    } catch (err) {
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      const failure = timeout.aborted ? new HubError(`the hub did not answer within ${API_TIMEOUT_MS / 1000} s (${url})`, 'network') : err;
      if (!(failure instanceof HubError) || !failure.retryable || attempt === API_ATTEMPTS) throw failure;
      await sleep(1000 * attempt, undefined, { signal: ctx.signal });
    }
  }
}

function parseRepoInfo(repo: string, json: unknown): RepoInfo {
  const bad = (what: string) => new HubError(`the hub's listing of ${repo} is unusable: ${what}`, 'protocol');
  const info = json as { sha?: unknown; siblings?: unknown };
  if (typeof info?.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha)) throw bad('no commit hash ("sha")');
  if (!Array.isArray(info.siblings)) throw bad('no file list ("siblings")');
  const files = info.siblings.map((entry): RepoFile => {
    const s = entry as { rfilename?: unknown; size?: unknown; blobId?: unknown; lfs?: { sha256?: unknown; size?: unknown } };
    if (typeof s.rfilename !== 'string' || s.rfilename === '' || s.rfilename.split('/').includes('..')) throw bad('a file without a valid name');
    const size = typeof s.lfs?.size === 'number' ? s.lfs.size : s.size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(`no size for ${s.rfilename} (does the endpoint support ?blobs=true?)`);
    if (typeof s.lfs?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(s.lfs.sha256)) {
      return { path: s.rfilename, size, hash: { algorithm: 'sha256', hex: s.lfs.sha256 } };
    }
    if (typeof s.blobId === 'string' && /^[0-9a-f]{40}$/.test(s.blobId)) {
      return { path: s.rfilename, size, hash: { algorithm: 'git-sha1', hex: s.blobId } };
    }
    throw bad(`no content hash for ${s.rfilename}`);
  });
  return { repo, commit: info.sha, files };
}
