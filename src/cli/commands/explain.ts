// `pixtral explain <chart image>`: a structured Markdown explanation of a chart (what it shows,
// how to read it, key values as a table, trends, caveats), streamed to stdout.
import { chartExplain } from '../../prompts/index';
import { CliError, type CliCommand } from '../command';
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
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new CliError('pixtral explain takes exactly one chart image', 2);
    const [image] = imageArguments(positionals);
    return runTask(values, io, {
      task: chartExplain,
      conversation: chartExplain.build({ image, focus: values.focus as string | undefined }),
    });
  },
};
