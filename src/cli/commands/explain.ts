// `pixtral explain <chart image>`: a structured Markdown explanation of a chart (what it shows,
// how to read it, key values as a table, trends, caveats), streamed to stdout.
import { chartExplain } from '../../prompts/index';
import type { CliCommand } from '../command';
import { imageArguments, runTask, TASK_OPTIONS, TASK_USAGE } from '../generation-runner';

export const explainCommand: CliCommand = {
  name: 'explain',
  summary: 'Explain a chart image: what it shows, how to read it, key values, trends, caveats',
  usage: `usage: pixtral explain <chart image> [--focus TEXT] [options]

Streams a Markdown explanation to stdout; progress and speed go to stderr.

options:
  --focus TEXT           what to pay particular attention to
${TASK_USAGE}`,
  options: { ...TASK_OPTIONS, focus: { type: 'string' } },
  operands: { name: 'chart image', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const [image] = imageArguments(positionals);
    return runTask(values, io, {
      task: chartExplain,
      conversation: chartExplain.build({ image, focus: values.focus as string | undefined }),
    });
  },
};
