// Captures a region of the screen the user selects, with whichever tool this system has:
// macOS `screencapture -i`, Windows' Snipping Tool (ms-screenclip, then the clipboard), on Linux
// `grim` + `slurp` (Wayland), `gnome-screenshot -a`, or ImageMagick's `import` (X11).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findExecutable, runTool, type Environment } from './system-tools';

/** How long the user may take to select a region. */
const SELECT_TIMEOUT_MS = 120_000;

interface CaptureMethod {
  /** Shown to the user and in the log. */
  name: string;
  /** Programs that must all be on PATH. */
  needs: string[];
  /** Writes the selected region as PNG to `file`; leaves no file when the user cancelled. */
  capture(file: string, exe: Record<string, string>, environment: Environment): Promise<void>;
}

const WINDOWS_SNIP = [
  // Opens the Snipping Tool's region selection, then waits for the image it puts on the clipboard.
  'Add-Type -AssemblyName System.Windows.Forms;',
  '[System.Windows.Forms.Clipboard]::Clear();',
  'Start-Process "ms-screenclip:";',
  '$deadline = (Get-Date).AddSeconds(110);',
  'while ((Get-Date) -lt $deadline) {',
  '  Start-Sleep -Milliseconds 300;',
  '  $img = [System.Windows.Forms.Clipboard]::GetImage();',
  '  if ($img) { $img.Save($env:PIXTRAL_CAPTURE_FILE, [System.Drawing.Imaging.ImageFormat]::Png); break }',
  '}',
].join(' ');

const METHODS: Record<'darwin' | 'win32' | 'linux', CaptureMethod[]> = {
  darwin: [{ name: 'screencapture', needs: ['screencapture'], capture: (file, exe, environment) => run(exe.screencapture, ['-i', '-x', file], environment.env) }],
  win32: [
    {
      name: 'Snipping Tool',
      needs: ['powershell'],
      capture: (file, exe, environment) => run(exe.powershell, ['-NoProfile', '-STA', '-Command', WINDOWS_SNIP], { ...environment.env, PIXTRAL_CAPTURE_FILE: file }),
    },
  ],
  linux: [
    {
      name: 'grim and slurp',
      needs: ['grim', 'slurp'],
      capture: async (file, exe, environment) => {
        const region = await runTool(exe.slurp, [], { timeoutMs: SELECT_TIMEOUT_MS, env: environment.env });
        const geometry = region.stdout.toString('utf8').trim();
        if (region.code !== 0 || !geometry) return; // selection cancelled
        await run(exe.grim, ['-g', geometry, file], environment.env);
      },
    },
    { name: 'gnome-screenshot', needs: ['gnome-screenshot'], capture: (file, exe, environment) => run(exe['gnome-screenshot'], ['-a', '-f', file], environment.env) },
    { name: 'ImageMagick import', needs: ['import'], capture: (file, exe, environment) => run(exe.import, [file], environment.env) },
  ],
};

/**
 * Runs a tool in the environment it was chosen for: the display variables that picked it
 * (DISPLAY, WAYLAND_DISPLAY) are the ones it must connect to.
 */
async function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await runTool(file, args, { timeoutMs: SELECT_TIMEOUT_MS, env });
}

export interface CaptureTool {
  name: string;
  capture(): Promise<Buffer | undefined>;
}

/** The first capture method whose programs this system has (Wayland tools first under Wayland). */
export async function findCaptureTool(environment: Environment): Promise<CaptureTool | undefined> {
  const platform = environment.platform === 'darwin' || environment.platform === 'win32' ? environment.platform : 'linux';
  let methods = METHODS[platform];
  if (platform === 'linux') {
    const wayland = !!environment.env.WAYLAND_DISPLAY;
    const x11 = !!environment.env.DISPLAY;
    // grim needs a Wayland compositor and import an X server; gnome-screenshot works on either.
    methods = methods.filter((m) => (m.needs.includes('grim') ? wayland : m.needs.includes('import') ? x11 : wayland || x11));
  }
  for (const method of methods) {
    const exe: Record<string, string> = {};
    for (const name of method.needs) {
      const found = await findExecutable(name, environment);
      if (found) exe[name] = found;
    }
    if (Object.keys(exe).length === method.needs.length) {
      return { name: method.name, capture: () => captureWith(method, exe, environment) };
    }
  }
  return undefined;
}

/** What to tell the user when no tool exists. */
export function noCaptureToolMessage(environment: Environment): string {
  switch (environment.platform) {
    case 'darwin':
      return 'Screen capture needs macOS\'s screencapture command, which was not found on PATH.';
    case 'win32':
      return 'Screen capture needs Windows PowerShell and the Snipping Tool.';
    default:
      return 'No screen capture tool found. Install one of: grim and slurp (Wayland), gnome-screenshot, or ImageMagick (its "import" command, X11). Or paste a screenshot with Ctrl+V.';
  }
}

async function captureWith(method: CaptureMethod, exe: Record<string, string>, environment: Environment): Promise<Buffer | undefined> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pixtral-capture-'));
  const file = path.join(dir, 'capture.png');
  try {
    await method.capture(file, exe, environment);
    const png = await readFile(file).catch(() => undefined);
    return png && png.length > 0 ? png : undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
