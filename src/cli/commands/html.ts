// `pixtral html <image>`: a sketch, wireframe or screenshot becomes one self-contained HTML file on
// stdout, code only: prose and Markdown fences the model adds are filtered out as it streams.
import { htmlFromSketch } from '../../prompts/index';
import { HtmlExtractor } from '../../service/html-extract';
import { DEFAULT_TOKEN_BUDGETS } from '../../worker/image/budgets';
import type { CliCommand } from '../command';
import { imageArguments, runTask, TASK_OPTIONS, TASK_USAGE } from '../generation-runner';

export const htmlCommand: CliCommand = {
  name: 'html',
  summary: 'Turn a sketch or screenshot into a self-contained HTML file (streamed to stdout)',
  usage: `usage: pixtral html <image> [--instruction TEXT] [--tailwind] [options]

Streams one HTML file to stdout (code only, no Markdown fences); progress and speed go to stderr.
Example: pixtral html sketch.png > page.html

options:
  --instruction TEXT     extra wishes, e.g. "dark theme"
  --tailwind             style with Tailwind utility classes instead of plain CSS
${TASK_USAGE}`,
  options: { ...TASK_OPTIONS, instruction: { type: 'string' }, tailwind: { type: 'boolean' } },
  operands: { name: 'image', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const extractor = new HtmlExtractor();
    return runTask(values, io, {
      task: htmlFromSketch,
      conversation: htmlFromSketch.build({
        images: imageArguments(positionals),
        target: values.tailwind ? 'html-tailwind' : 'html-css',
        notes: values.instruction as string | undefined,
      }),
      imageTokenBudget: DEFAULT_TOKEN_BUDGETS.sketchToHtml,
      filter: {
        push: (text) => extractor.push(text),
        end: () => extractor.end(),
        problem: () => (extractor.found ? undefined : 'the answer contains no HTML document'),
      },
    });
  },
};
