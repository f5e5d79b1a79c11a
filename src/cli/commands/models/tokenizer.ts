// `pixtral models tokenizer DIR`: puts tekken.json into a transformers-layout model folder (that
// layout comes without it; the Mistral layout download has it).
import { checkModelFolder, fetchTekken } from '../../../models/index';
import { CliError, type CliCommand } from '../../command';

export const tokenizerCommand: CliCommand = {
  name: 'tokenizer',
  summary: 'put tekken.json into a transformers-layout model folder',
  usage: `usage: pixtral models tokenizer DIR

Downloads tekken.json into DIR, a transformers-layout model folder (config.json and
model*.safetensors), so that Pixtral can load it.

environment: HF_TOKEN (the tokenizer comes from a gated repository), HF_ENDPOINT`,
  options: {},
  operands: { name: 'model folder', min: 1, max: 1 },
  async run({ positionals: [dir] }, io) {
    const check = await checkModelFolder(dir);
    if (check.layout !== 'hf') throw new CliError(`${dir} is not a transformers-layout model folder; tekken.json comes with the Mistral layout download`);
    io.stdout.write(`${await fetchTekken(dir, { signal: io.signal })}\n`);
    return 0;
  },
};
