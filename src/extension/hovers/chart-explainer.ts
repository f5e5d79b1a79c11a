// "Explain this chart": streams the explanation of a chart image (src/prompts/chart-explain.ts)
// into a Markdown document beside the editor, and caches it (explanation-cache.ts) so that the
// same chart, model and settings answer instantly the next time, in the hover itself.
// The small built-in sketch model was trained to read charts as CSV only (chart-to-table.ts): with
// it, the explanation is its data as a table with a one-line summary of the extremes.
import * as vscode from 'vscode';
import { BUILT_IN_MODEL_NAME } from '../../models';
import { chartExplain, chartToTable } from '../../prompts';
import { csvRows, extremesSummary, markdownTable } from '../../service/chart-csv';
import { samplingFor, toGenerationRequest } from '../../service/task-request';
import type { BackendFactory } from '../backend-factory';
import { EditorStream } from '../editor-stream';
import type { GenerationRunner } from '../generation-runner';
import { readImageFile } from '../images/image-files';
import type { Settings } from '../settings';
import { explanationKey, type ExplanationCache } from './explanation-cache';

export class ChartExplainer {
  constructor(
    private readonly runner: GenerationRunner,
    private readonly backends: BackendFactory,
    private readonly settings: Settings,
    private readonly cache: ExplanationCache,
  ) {}

  /** The cache key of this image under the current model and settings. */
  async keyOf(image: Uint8Array): Promise<string> {
    const identity = await this.backends.identity();
    const prompt = identity.builtIn ? chartToTable : chartExplain;
    return explanationKey({ image, model: identity.key, prompt, tokenBudget: this.settings.current.hoverTokenBudget });
  }

  /** The cached explanation, if this chart was explained with the current model and settings. */
  async cached(image: Uint8Array): Promise<string | undefined> {
    return this.cache.get(await this.keyOf(image));
  }

  /** Cache lookups answered and not answered this session. */
  get cacheCounts(): Readonly<{ hits: number; misses: number }> {
    return this.cache.counts;
  }

  async explain(uri: vscode.Uri): Promise<void> {
    const image = await readImageFile(uri);
    const key = await this.keyOf(image);
    const name = uri.path.split('/').pop() ?? 'chart';
    const header = `# ${name}\n\n`;
    const known = await this.cache.get(key);
    const editor = await EditorStream.open('markdown');
    editor.push(header);
    if (known !== undefined) {
      editor.push(known);
      await editor.finish();
      return;
    }
    const settings = this.settings.current;
    if ((await this.backends.identity()).builtIn) {
      // The CSV is short: show the table once it is complete rather than streaming raw fields.
      const request = toGenerationRequest(chartToTable.build({ image: { data: image }, format: 'csv' }), samplingFor(chartToTable, settings), settings.hoverTokenBudget);
      const result = await this.runner.run({ title: `Reading the data of ${name}`, request, onText: () => undefined });
      const text = builtInExplanation(result.text);
      editor.push(text);
      await editor.finish();
      if (result.stopReason !== 'cancelled' && result.text.trim()) await this.cache.set(key, text);
      return;
    }
    const request = toGenerationRequest(chartExplain.build({ image: { data: image } }), samplingFor(chartExplain, settings), settings.hoverTokenBudget);
    const result = await this.runner.run({ title: `Explaining ${name}`, request, onText: (text) => editor.push(text) });
    await editor.finish();
    // A stopped answer is incomplete: keep it on screen, never in the cache.
    if (result.stopReason !== 'cancelled' && result.text.trim()) await this.cache.set(key, result.text);
  }
}

/** The built-in model's CSV as an explanation: a one-line summary, then the table. */
export function builtInExplanation(csv: string): string {
  const rows = csvRows(csv);
  return [
    extremesSummary(rows),
    '',
    markdownTable(rows),
    '',
    `_Data read by ${BUILT_IN_MODEL_NAME}; Pixtral 12B explains charts in prose (Pixtral: Download Model)._`,
    '',
  ].join('\n');
}
