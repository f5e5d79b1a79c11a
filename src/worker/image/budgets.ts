// Image preprocessing, the default token budgets per use. Kept apart from preprocess.ts, which
// loads sharp, so that the CLI and the extension host (which must never load sharp) can read them.
import { imageTokenCount } from './grid';

/**
 * Token budgets per use, overridable by the caller (settings).
 * - chartHover: a hover should answer in seconds, and the vision encoder's attention grows with
 *   the square of the patch count; a chart's marks and labels stay legible at 512 px on the
 *   longest edge, i.e. at most a 32x32 grid = 1056 tokens, a quarter of the full size.
 * - sketchToHtml: a screenshot's small text and thin lines need every pixel the model accepts,
 *   so the full 1024 px (64x64 grid = 4160 tokens), i.e. no cap below `maxImageSize`.
 */
export const DEFAULT_TOKEN_BUDGETS = {
  chartHover: imageTokenCount(32, 32),
  sketchToHtml: imageTokenCount(64, 64),
} as const;
