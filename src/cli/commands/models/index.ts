// `pixtral models <command>`: the model manager (src/models/) on the command line, one file per
// command. Results go to stdout, progress to stderr.
import type { CliGroup } from '../../command';
import { downloadCommand } from './download';
import { listCommand } from './list';
import { rmCommand } from './rm';
import { tokenizerCommand } from './tokenizer';
import { verifyCommand } from './verify';

export const modelsGroup: CliGroup = {
  name: 'models',
  summary: 'list, download, verify or remove Pixtral checkpoints',
  description: 'Find, download, check and remove Pixtral checkpoints.',
  commands: [listCommand, downloadCommand, verifyCommand, rmCommand, tokenizerCommand],
};
