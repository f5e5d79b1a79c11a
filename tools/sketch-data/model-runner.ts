// Answers the evaluation examples with a model through the product's own path: the task prompts
// of src/prompts, the local worker (src/service/worker-client.ts) and, for pages, the same HTML
// extraction `pixtral html` applies. Greedy decoding, so a run is repeatable.
import path from 'node:path';
import type { WeightPrecision } from '../../src/engine/native';
import { chooseModelDir } from '../../src/models/index';
import { chartToTable, htmlFromSketch } from '../../src/prompts/index';
import { HtmlExtractor } from '../../src/service/html-extract';
import { toGenerationRequest } from '../../src/service/task-request';
import { WorkerClient } from '../../src/service/worker-client';
import type { Task } from './examples';

export interface ModelRun {
  model: string;
  answer(task: Task, image: string): Promise<string>;
  close(): Promise<void>;
}

export async function startModel(explicit: string | undefined, precision?: WeightPrecision): Promise<ModelRun> {
  const model = await chooseModelDir(explicit === undefined ? undefined : path.resolve(explicit), { includeEmbedded: true });
  if (!model) throw new Error('no usable model found: pass --model DIR');
  const client = new WorkerClient({ model });
  if (precision) client.usePrecision(precision);
  return {
    model: precision ? `${model} at ${precision}` : model,
    async answer(task, image) {
      const ref = { path: path.resolve(image) };
      const [conversation, maxTokens] =
        task === 'chart'
          ? [chartToTable.build({ image: ref, format: 'csv' }), chartToTable.sampling.maxTokens]
          : [htmlFromSketch.build({ images: [ref], target: 'html-css' }), htmlFromSketch.sampling.maxTokens];
      const extractor = task === 'chart' ? undefined : new HtmlExtractor();
      let raw = '';
      let code = '';
      for await (const event of client.generate(toGenerationRequest(conversation, { maxTokens, temperature: 0, seed: 0 }))) {
        if (event.type !== 'text') continue;
        raw += event.text;
        if (extractor) code += extractor.push(event.text);
      }
      if (!extractor) return raw;
      code += extractor.end();
      // An answer with no HTML document is scored as it is (it will not parse cleanly).
      return extractor.found ? code : raw;
    },
    close: () => client.dispose(),
  };
}
