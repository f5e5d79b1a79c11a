// The embedded default model: what runs when the user has no checkpoint of their own. It is the
// small built-in sketch model shipped in models/pixtral-sketch-small (in the repository and in the
// VSIX): Pixtral's architecture, tokenizer schema and prompt format at ~11M parameters, trained on
// wireframe sketches, page screenshots and charts (tools/sketch-model/), so a new user gets real
// HTML offline at once. $PIXTRAL_FIXTURES replaces it with another folder: tests point it at the
// random-weight fixture model, which is recognised by the golden manifest it carries, and whose
// output callers call meaningless.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** How the UI and the CLI name the built-in model. */
export const BUILT_IN_MODEL_NAME = 'the small built-in sketch model';

/** What the user gains by picking Pixtral 12B over the built-in model, in one sentence. */
export const TWELVE_B_ADVANTAGE =
  'Pixtral 12B (pixtral models download, ~25 GB) also reads real screenshots, photos and any chart at up to 1024 px, follows extra instructions, explains charts in prose and answers free questions; the built-in model knows only simple wireframe-style pages and bar, line, pie and scatter charts.';

/** The built-in model's folder, relative to the repository or extension root. */
export const BUILT_IN_MODEL_PATH = path.join('models', 'pixtral-sketch-small');

/** The built-in model's folder on this installation, if it is there. */
export function builtInModelDir(): string | undefined {
  // From source (src/models/) the repository root is two levels up, from the bundle (dist/) one.
  const candidates = [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..')].map((root) => path.join(root, BUILT_IN_MODEL_PATH));
  return candidates.find((dir) => existsSync(path.join(dir, 'params.json')));
}

/** The folder to fall back on: $PIXTRAL_FIXTURES when set, else the built-in model. */
export function embeddedModelDir(fixturesEnv: string | undefined): string | undefined {
  if (fixturesEnv) {
    const dir = path.resolve(fixturesEnv);
    return existsSync(path.join(dir, 'params.json')) ? dir : undefined;
  }
  return builtInModelDir() ?? fixtureModelDir();
}

/** Until the trained weights are committed: the fixture folder beside the repository. */
function fixtureModelDir(): string | undefined {
  const candidates = [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..')].map((root) =>
    path.resolve(root, '..', 'shared', 'fixtures', 'pixtral-tiny'),
  );
  return candidates.find((dir) => existsSync(path.join(dir, 'params.json')));
}

/** True for the built-in sketch model's folder (by real path, so links to it count too). */
export function isBuiltInSketchModel(dir: string): boolean {
  const builtIn = builtInModelDir();
  if (!builtIn) return false;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(dir) === real(builtIn);
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
