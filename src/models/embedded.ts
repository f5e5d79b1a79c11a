// The embedded default model: what runs when the user has no checkpoint yet. Until a trained
// default ships, it is the fixture model beside the repository (../shared/fixtures/pixtral-tiny,
// or $PIXTRAL_FIXTURES): random weights, so its text is meaningless, but the pipeline it exercises
// (preprocessing, vision encoder, decoder, streaming) is the real one. Such a folder is recognised
// by the golden manifest it carries, and callers say plainly that its output means nothing.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The fixture folder to fall back on, if there is one on this machine. */
export function embeddedModelDir(fixturesEnv: string | undefined): string | undefined {
  // From source (src/models/) the repository root is two levels up, from the bundle (dist/) one.
  const candidates = fixturesEnv
    ? [path.resolve(fixturesEnv)]
    : [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..')].map((root) =>
        path.resolve(root, '..', 'shared', 'fixtures', 'pixtral-tiny'),
      );
  return candidates.find((dir) => existsSync(path.join(dir, 'params.json')));
}

/** True for a folder of golden fixtures (random weights): it carries a manifest of test cases. */
export function isRandomWeightTestModel(dir: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { cases?: unknown; weights?: unknown };
    return typeof manifest.cases === 'object' && typeof manifest.weights === 'object';
  } catch {
    return false;
  }
}
