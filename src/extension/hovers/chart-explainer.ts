// "Explain this chart": streams the explanation of a chart image (src/prompts/chart-explain.ts)
// into a Markdown document beside the editor, and caches it (explanation-cache.ts) so that the
// same chart, model and settings answer instantly the next time, in the hover itself.
import * as vscode from 'vscode';
import { chartExplain } from '../../prompts';
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
    return explanationKey({ image, model: identity.key, prompt: chartExplain, tokenBudget: this.settings.current.hoverTokenBudget });
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
    const request = toGenerationRequest(chartExplain.build({ image: { data: image } }), samplingFor(chartExplain, settings), settings.hoverTokenBudget);
    const result = await this.runner.run({ title: `Explaining ${name}`, request, onText: (text) => editor.push(text) });
    await editor.finish();
    // A stopped answer is incomplete: keep it on screen, never in the cache.
    if (result.stopReason !== 'cancelled' && result.text.trim()) await this.cache.set(key, result.text);
  }
}
