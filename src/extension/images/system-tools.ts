// Finding and running the operating system's own programs (screenshot and clipboard tools).
// Programs are looked up on PATH and run without a shell, with fixed arguments: nothing the user
// or a workspace typed ever becomes part of a command line.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

export interface Environment {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
}

export const currentEnvironment = (): Environment => ({ platform: process.platform, env: process.env });

/** Full path of `name` on PATH (with PATHEXT on Windows), or undefined. */
export async function findExecutable(name: string, environment: Environment): Promise<string | undefined> {
  const dirs = (environment.env.PATH ?? environment.env.Path ?? '').split(path.delimiter).filter(Boolean);
  const suffixes = environment.platform === 'win32' ? (environment.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of dirs) {
    for (const suffix of suffixes) {
      const candidate = path.join(dir, name + suffix);
      if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
    }
  }
  return undefined;
}

export interface ToolResult {
  code: number | null;
  /** Bytes: some tools write an image to stdout. */
  stdout: Buffer;
  stderr: string;
}

/** Runs a program to its end; never throws for a non-zero exit (a cancelled selection is one). */
export function runTool(file: string, args: readonly string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs, env: options.env, windowsHide: true, encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(new Error(`${path.basename(file)} could not run: ${err.message}`));
        return;
      }
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString('utf8') });
    });
  });
}
