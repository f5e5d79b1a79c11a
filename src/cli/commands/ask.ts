// `pixtral ask <image>… --prompt TEXT`: any question about one or more images.
import { freeQuestion } from '../../prompts/index';
import { CliError, type CliCommand } from '../command';
import { imageArguments, runTask, TASK_OPTIONS, TASK_USAGE } from '../generation-runner';

export const askCommand: CliCommand = {
  name: 'ask',
  summary: 'Ask a question about one or more images',
  usage: `usage: pixtral ask <image>... --prompt TEXT [options]

The images are shown to the model in the order given ("image 1", "image 2", ...), then the question.

options:
  --prompt TEXT          the question (required)
${TASK_USAGE}`,
  options: { ...TASK_OPTIONS, prompt: { type: 'string' } },
  operands: { name: 'image', min: 1, max: Infinity },
  async run({ values, positionals }, io) {
    const question = typeof values.prompt === 'string' ? values.prompt.trim() : '';
    if (!question) throw new CliError('needs --prompt TEXT', 2);
    return runTask(values, io, {
      task: freeQuestion,
      conversation: freeQuestion.build({ images: imageArguments(positionals), question }),
    });
  },
};
