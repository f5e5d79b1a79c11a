// The Linux screen capture end to end on a real X server: Xvfb with a known picture on its root
// window, the extension's capture path choosing and running ImageMagick's `import`, and a mouse
// (XTEST, test/support/x11-input.ts) dragging the selection rectangle the way a user would. The PNG
// that comes back must be the dragged region of that picture: its size, and the colours on either
// side of an edge the drag crosses.
//
// Needs Xvfb and ImageMagick (npm run setup installs them; requirements.ts: what their absence means).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { findCaptureTool } from '../../src/extension/images/screen-capture';
import { locate, requires } from '../support/requirements';
import { serverGrabbed, XPointer } from '../support/x11-input';

const SCREEN = { width: 800, height: 600 };
/** The picture on the root window: white, with a blue block. */
const BLOCK = { left: 200, top: 150, width: 400, height: 300 };
const BLUE = { r: 30, g: 144, b: 255 };
/** The drag: from the white margin into the block, so both sides of its top-left corner are in the capture. */
const FROM = { x: 150, y: 100 };
const TO = { x: 350, y: 280 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a failure after `ms` (the timer is cleared, so it keeps no test process alive). */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const tools = requires('Xvfb', 'import', 'display');

/** Starts Xvfb on the first free display (-displayfd: the server picks it and reports it when ready). */
async function startXvfb(): Promise<{ server: ChildProcess; display: number }> {
  const server = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${SCREEN.width}x${SCREEN.height}x24`, '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr!.on('data', (d) => (stderr += d));
  const display = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start within 15 s: ${stderr}`)), 15_000);
    server.stdio[3]!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(Number(out.trim()));
      }
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}): ${stderr}`));
    });
  }).catch(async (err) => {
    await stopXvfb(server);
    throw err;
  });
  return { server, display };
}

async function stopXvfb(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Runs a program to its end, with stderr for the failure message. */
function run(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

/** RGB at (x, y) of a decoded capture. */
function pixel(raw: { data: Buffer; info: sharp.OutputInfo }, x: number, y: number): { r: number; g: number; b: number } {
  const at = (y * raw.info.width + x) * raw.info.channels;
  return { r: raw.data[at], g: raw.data[at + 1], b: raw.data[at + 2] };
}

test('ImageMagick import captures the region dragged on an X server', { timeout: 90_000, ...tools.options }, async () => {
  tools.met();

  const { server, display } = await startXvfb();
  // A test runner that is stopped mid-test still takes its X server with it.
  const onExit = () => server.kill('SIGKILL');
  process.once('exit', onExit);
  let work: string | undefined;
  let pointer: XPointer | undefined;
  let capture: Promise<Buffer | undefined> | undefined;
  try {
    work = await mkdtemp(path.join(tmpdir(), 'pixtral-xvfb-'));
    const env = { ...process.env, DISPLAY: `:${display}`, WAYLAND_DISPLAY: '' };

    // The picture, set as the root window's background by ImageMagick's `display` (which exits
    // with status 1 after doing so; what counts is the capture below).
    const picture = path.join(work, 'screen.png');
    await sharp({ create: { ...SCREEN, channels: 3, background: '#ffffff' } })
      .composite([{ input: await sharp({ create: { width: BLOCK.width, height: BLOCK.height, channels: 3, background: BLUE } }).png().toBuffer(), left: BLOCK.left, top: BLOCK.top }])
      .png()
      .toFile(picture);
    const painted = await run('display', ['-window', 'root', picture], env);
    assert.ok(painted.code === 0 || painted.code === 1, `display -window root failed (${painted.code}): ${painted.stderr}`);

    // PATH holds only `import`, so the extension chooses it even where gnome-screenshot exists.
    const bin = path.join(work, 'bin');
    await mkdir(bin);
    await symlink(locate('import')!, path.join(bin, 'import'));
    const tool = await findCaptureTool({ platform: 'linux', env: { ...env, PATH: bin } });
    assert.equal(tool?.name, 'ImageMagick import');

    // The mouse connects before `import` grabs the server, which only it may then talk through.
    pointer = await XPointer.connect(display);
    let settled = false;
    capture = tool.capture().finally(() => (settled = true));
    // `import` is ready for the drag once it holds the server grab (an idle Xvfb that takes 300 ms
    // to answer is grabbed, not slow).
    const deadline = Date.now() + 20_000;
    while (!(await serverGrabbed(display, 300))) {
      assert.ok(!settled, 'import ended before waiting for a selection (could it open DISPLAY?)');
      assert.ok(Date.now() < deadline, 'import did not start its selection within 20 s');
      await sleep(50);
    }

    // The user's drag: press at one corner, move in steps, release at the other.
    await pointer.move(FROM.x, FROM.y);
    await pointer.press(1);
    for (let i = 1; i <= 10; i++) {
      await pointer.move(Math.round(FROM.x + ((TO.x - FROM.x) * i) / 10), Math.round(FROM.y + ((TO.y - FROM.y) * i) / 10));
      await sleep(10);
    }
    await pointer.release(1);

    const png = await within(capture, 20_000, 'import did not finish within 20 s of the drag');
    assert.ok(png, 'the capture returned an image');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    const raw = await sharp(png).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const [width, height] = [TO.x - FROM.x, TO.y - FROM.y];
    assert.ok(Math.abs(raw.info.width - width) <= 3 && Math.abs(raw.info.height - height) <= 3, `capture is ${raw.info.width}x${raw.info.height}, the drag ${width}x${height}`);

    // The block's corner sits at (50, 50) in the capture: white above and left of it, blue inside.
    const corner = { x: BLOCK.left - FROM.x, y: BLOCK.top - FROM.y };
    const white = { r: 255, g: 255, b: 255 };
    for (const [x, y, expected] of [
      [corner.x - 10, corner.y - 10, white],
      [corner.x + 40, corner.y - 10, white],
      [corner.x - 10, corner.y + 40, white],
      [corner.x + 10, corner.y + 10, BLUE],
      [width - 10, height - 10, BLUE],
    ] as const) {
      assert.deepEqual(pixel(raw, x, y), expected, `colour at (${x}, ${y}) of the capture`);
    }
  } finally {
    pointer?.close();
    await stopXvfb(server); // also ends an `import` still waiting for its drag
    await capture?.catch(() => undefined);
    process.removeListener('exit', onExit);
    if (work) await rm(work, { recursive: true, force: true });
  }
});
