// Where the model manager looks and what it talks to, derived from environment variables. The only
// reader of the environment in src/models: every other module gets a `ModelEnv` (tests build one
// from a plain object). Names and precedence follow huggingface_hub so that a cache or token set
// up for other tools is found here too.
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface ModelEnv {
  /** Hub base URL without trailing slash (HF_ENDPOINT, for mirrors and tests). */
  endpoint: string;
  /** The hub cache other tools write to, and where downloads go by default. */
  hubCache: string;
  /** Every hub cache worth searching, most specific first, without duplicates. */
  hubCaches: string[];
  /** Our own storage folder (PIXTRAL_MODELS_DIR or the platform's app-data folder). */
  storageDir: string;
  /** A token given directly in the environment (HF_TOKEN, or the legacy HUGGING_FACE_HUB_TOKEN). */
  envToken: string | undefined;
  /** The file `huggingface-cli login` writes the token to. */
  tokenFile: string;
  /** HF_HUB_OFFLINE=1: never touch the network. */
  offline: boolean;
  /** PIXTRAL_FIXTURES: the fixture folder that stands in as the embedded default model. */
  fixturesDir: string | undefined;
}

type Env = Record<string, string | undefined>;

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() !== '' ? value.trim() : undefined;
}

/** Reads the environment once; `platform` is a parameter so Windows paths can be unit-tested. */
export function modelEnv(env: Env = process.env, platform: NodeJS.Platform = process.platform): ModelEnv {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const home = nonEmpty(platform === 'win32' ? env.USERPROFILE : env.HOME) ?? os.homedir();
  const expand = (value: string) => (value === '~' || value.startsWith('~/') ? p.join(home, value.slice(1)) : value);
  const fromEnv = (name: string) => {
    const value = nonEmpty(env[name]);
    return value === undefined ? undefined : expand(value);
  };

  // huggingface_hub: HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
  // (on Windows ~ is %USERPROFILE%, so the same relative path applies).
  const xdgCache = fromEnv('XDG_CACHE_HOME') ?? p.join(home, '.cache');
  const hfHome = fromEnv('HF_HOME') ?? p.join(xdgCache, 'huggingface');
  const hubCache = fromEnv('HF_HUB_CACHE') ?? fromEnv('HUGGINGFACE_HUB_CACHE') ?? p.join(hfHome, 'hub');
  const candidates = [
    hubCache,
    fromEnv('HUGGINGFACE_HUB_CACHE'),
    p.join(hfHome, 'hub'),
    p.join(home, '.cache', 'huggingface', 'hub'),
  ].filter((dir): dir is string => dir !== undefined);

  return {
    endpoint: (nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    hubCache,
    hubCaches: [...new Set(candidates.map((dir) => p.resolve(dir)))],
    storageDir: fromEnv('PIXTRAL_MODELS_DIR') ?? defaultStorageDir(env, platform, home),
    envToken: nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN),
    tokenFile: fromEnv('HF_TOKEN_PATH') ?? p.join(hfHome, 'token'),
    offline: ['1', 'true', 'yes', 'on'].includes((env.HF_HUB_OFFLINE ?? '').trim().toLowerCase()),
    fixturesDir: fromEnv('PIXTRAL_FIXTURES'),
  };
}

// The per-user application data folder of each platform.
function defaultStorageDir(env: Env, platform: NodeJS.Platform, home: string): string {
  if (platform === 'win32') {
    return path.win32.join(nonEmpty(env.LOCALAPPDATA) ?? path.win32.join(home, 'AppData', 'Local'), 'Pixtral', 'models');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Pixtral', 'models');
  return path.posix.join(nonEmpty(env.XDG_DATA_HOME) ?? path.posix.join(home, '.local', 'share'), 'pixtral', 'models');
}
