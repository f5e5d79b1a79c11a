// `pixtral table <image>`: the data of a chart, or the cells of a table screenshot, as CSV or a
// Markdown (or HTML) table on stdout.
import { chartToTable, tableTranscribe } from '../../prompts/index';
import { CliError, type CliCommand } from '../command';
import { imageArguments, runTask, TASK_OPTIONS, TASK_USAGE } from '../generation-runner';

/** Formats each kind of image can be turned into; the first is the default. */
const FORMATS = { chart: ['csv', 'markdown'], table: ['markdown', 'html'] } as const;

export const tableCommand: CliCommand = {
  name: 'table',
  summary: 'Extract the data of a chart or table image as CSV or a Markdown table',
  usage: `usage: pixtral table <image> [--from chart|table] [--format FORMAT] [options]

options:
  --from chart|table     the image is a chart (default) or a table screenshot
  --format FORMAT        chart: csv (default) or markdown; table: markdown (default) or html
${TASK_USAGE}`,
  options: { ...TASK_OPTIONS, from: { type: 'string' }, format: { type: 'string' } },
  operands: { name: 'image', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const from = (values.from as string | undefined) ?? 'chart';
    if (from !== 'chart' && from !== 'table') throw new CliError(`--from must be chart or table, got "${from}"`, 2);
    const formats: readonly string[] = FORMATS[from];
    const format = (values.format as string | undefined) ?? formats[0];
    if (!formats.includes(format)) throw new CliError(`--format for a ${from} must be ${formats.join(' or ')}, got "${format}"`, 2);
    const [image] = imageArguments(positionals);
    return runTask(
      values,
      io,
      from === 'chart'
        ? { task: chartToTable, conversation: chartToTable.build({ image, format: format as 'csv' | 'markdown' }) }
        : { task: tableTranscribe, conversation: tableTranscribe.build({ image, format: format as 'markdown' | 'html' }) },
    );
  },
};
