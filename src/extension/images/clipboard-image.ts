// Reads an image from the system clipboard. The VS Code API reads clipboard text only, so this
// asks the platform: `wl-paste` (Wayland) or `xclip` (X11) on Linux, AppleScript on macOS,
// PowerShell on Windows. Undefined when the clipboard holds no image or no tool exists.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findExecutable, runTool, type Environment, type ToolResult } from './system-tools';

const TIMEOUT_MS = 10_000;

const MAC_SCRIPT = [
  'set f to (system attribute "PIXTRAL_CLIPBOARD_FILE")',
  'set png to (the clipboard as «class PNGf»)',
  'set h to open for access POSIX file f with write permission',
  'write png to h',
  'close access h',
].join('\n');

const WINDOWS_SCRIPT = [
  'Add-Type -AssemblyName System.Windows.Forms;',
  '$img = [System.Windows.Forms.Clipboard]::GetImage();',
  'if ($img) { $img.Save($env:PIXTRAL_CLIPBOARD_FILE, [System.Drawing.Imaging.ImageFormat]::Png) }',
].join(' ');

export type ClipboardResult = { kind: 'image'; png: Buffer } | { kind: 'empty' } | { kind: 'no-tool'; hint: string };

export async function readClipboardImage(environment: Environment): Promise<ClipboardResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pixtral-clipboard-'));
  const file = path.join(dir, 'clipboard.png');
  const env = { ...environment.env, PIXTRAL_CLIPBOARD_FILE: file };
  try {
    if (environment.platform === 'darwin') {
      const osascript = await findExecutable('osascript', environment);
      if (!osascript) return { kind: 'no-tool', hint: 'osascript was not found on PATH.' };
      await runTool(osascript, ['-e', MAC_SCRIPT], { timeoutMs: TIMEOUT_MS, env });
      return fromFile(file);
    }
    if (environment.platform === 'win32') {
      const powershell = await findExecutable('powershell', environment);
      if (!powershell) return { kind: 'no-tool', hint: 'Windows PowerShell was not found on PATH.' };
      await runTool(powershell, ['-NoProfile', '-STA', '-Command', WINDOWS_SCRIPT], { timeoutMs: TIMEOUT_MS, env });
      return fromFile(file);
    }
    const wlPaste = environment.env.WAYLAND_DISPLAY ? await findExecutable('wl-paste', environment) : undefined;
    if (wlPaste) return fromStdout(await runTool(wlPaste, ['--no-newline', '--type', 'image/png'], { timeoutMs: TIMEOUT_MS, env }));
    const xclip = environment.env.DISPLAY ? await findExecutable('xclip', environment) : undefined;
    if (xclip) return fromStdout(await runTool(xclip, ['-selection', 'clipboard', '-target', 'image/png', '-out'], { timeoutMs: TIMEOUT_MS, env }));
    return { kind: 'no-tool', hint: 'Install wl-clipboard (Wayland) or xclip (X11), or paste the image into the sketch panel with Ctrl+V.' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fromFile(file: string): Promise<ClipboardResult> {
  const png = await readFile(file).catch(() => undefined);
  return png && png.length > 0 ? { kind: 'image', png } : { kind: 'empty' };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

function fromStdout(result: ToolResult): ClipboardResult {
  const bytes = result.stdout;
  return result.code === 0 && bytes.subarray(0, 4).equals(PNG_SIGNATURE) ? { kind: 'image', png: bytes } : { kind: 'empty' };
}
