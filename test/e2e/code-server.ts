// A real VS Code for the end-to-end test: code-server 4.100.3 (VS Code 1.100.3), which npm run setup
// installs into .vscode-test/ with the shared recipe, run with a fresh user data and extensions
// folder per run, serving one workspace folder on a free local port.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { locate } from '../support/requirements';

/** code-server's entry script; only called once requires('code-server') found it. */
const entry = () => locate('code-server')!;

export interface CodeServer {
  url: string;
  /** Everything code-server printed (for failures). */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function installExtension(vsix: string, extensionsDir: string): Promise<void> {
  execFileSync(process.execPath, [entry(), '--extensions-dir', extensionsDir, '--install-extension', vsix], { stdio: 'inherit' });
}

export async function writeUserSettings(userDataDir: string, settings: Record<string, unknown>): Promise<void> {
  await mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await writeFile(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
}

export async function startCodeServer(options: { workspace: string; extensionsDir: string; userDataDir: string }): Promise<CodeServer> {
  const port = await freePort();
  const args = [
    entry(),
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--extensions-dir', options.extensionsDir,
    '--user-data-dir', options.userDataDir,
    options.workspace,
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.workspace)}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${log}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`code-server did not answer within 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    output: () => log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(force);
    },
  };
}
