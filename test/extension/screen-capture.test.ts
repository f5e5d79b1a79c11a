// Which screen capture tool is used on which system, found on a real PATH of real executables;
// the capture itself runs the tool and reads the PNG it wrote (here a stand-in `import` script
// that writes a PNG made with sharp, as ImageMagick's would after the user selects a region).
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { findCaptureTool, noCaptureToolMessage } from '../../src/extension/images/screen-capture';

let bin: string;

before(async () => {
  bin = await mkdtemp(path.join(tmpdir(), 'pixtral-bin-'));
  const png = path.join(bin, 'region.png');
  await sharp({ create: { width: 40, height: 30, channels: 3, background: '#09f' } }).png().toFile(png);
  // Like `import FILE`: writes the selected region to the file named by its last argument.
  for (const name of ['import', 'gnome-screenshot', 'grim', 'slurp']) {
    const script = name === 'slurp' ? '#!/bin/sh\necho "10,10 40x30"\n' : `#!/bin/sh\nfor last; do :; done\n/bin/cp "${png}" "$last"\n`;
    await writeFile(path.join(bin, name), script);
    await chmod(path.join(bin, name), 0o755);
  }
});

after(async () => {
  await rm(bin, { recursive: true, force: true });
});

const linux = (env: NodeJS.ProcessEnv) => ({ platform: 'linux' as const, env: { PATH: bin, ...env } });

test('Wayland prefers grim + slurp, X11 gnome-screenshot, then ImageMagick import', async () => {
  assert.equal((await findCaptureTool(linux({ WAYLAND_DISPLAY: 'wayland-0' })))?.name, 'grim and slurp');
  assert.equal((await findCaptureTool(linux({ DISPLAY: ':99' })))?.name, 'gnome-screenshot');
  assert.equal(await findCaptureTool(linux({})), undefined, 'no display, no capture');
});

test('a capture returns the PNG the tool wrote', async () => {
  const tool = await findCaptureTool({ platform: 'linux', env: { PATH: bin, DISPLAY: ':99' } });
  const png = await tool!.capture();
  const meta = await sharp(png!).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 40, 30]);
});

test('without any tool the message names what to install', async () => {
  const empty = await mkdtemp(path.join(tmpdir(), 'pixtral-empty-'));
  try {
    assert.equal(await findCaptureTool({ platform: 'linux', env: { PATH: empty, DISPLAY: ':0' } }), undefined);
    assert.match(noCaptureToolMessage({ platform: 'linux', env: {} }), /grim and slurp.*gnome-screenshot.*ImageMagick/);
    assert.equal(await findCaptureTool({ platform: 'darwin', env: { PATH: empty } }), undefined);
    assert.match(noCaptureToolMessage({ platform: 'darwin', env: {} }), /screencapture/);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
