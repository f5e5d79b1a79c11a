// Task prompt: read the data behind a chart into CSV or a Markdown table, with nothing around it so
// the answer can be parsed or pasted as it is.
import { type TaskConversation, type TaskInfo, TRANSCRIPTION_TEMPERATURE, userTurn } from './task';

export type ChartTableFormat = 'csv' | 'markdown';

export interface ChartToTableInput<I> {
  image: I;
  format: ChartTableFormat;
}

const ROLE = 'You are a precise data-extraction assistant. You recover the data behind charts.';

const OUTPUT_FORMAT: Record<ChartTableFormat, string> = {
  csv: 'Output format: reply with the data as CSV and nothing else: no explanations and no Markdown code fences. Separate fields with commas and put a field in double quotes if it contains a comma.',
  markdown: 'Output format: reply with the data as one GitHub-flavoured Markdown table and nothing else: no explanations before or after it.',
};

const LAYOUT = [
  'Table layout:',
  '- The first row is the header row. The first column holds the categories or x values; then one column per data series, named as in the legend, with the unit in parentheses.',
  '- One row per category or x value, in the order they appear in the chart.',
  '- Write numbers as plain digits with "." as the decimal separator, without thousands separators or units.',
  '- When a value is not printed on the chart, estimate it from the axis. Leave the cell empty if it cannot be read at all.',
].join('\n');

export const chartToTable = {
  id: 'chart-to-table',
  version: 1,
  title: 'Chart to data table',
  sampling: { temperature: TRANSCRIPTION_TEMPERATURE, maxTokens: 2048 },
  build<I>(input: ChartToTableInput<I>): TaskConversation<I> {
    const text = input.format === 'csv' ? 'Extract the data of this chart as CSV.' : 'Extract the data of this chart as a Markdown table.';
    return {
      systemPrompt: [ROLE, OUTPUT_FORMAT[input.format], LAYOUT].join('\n\n'),
      messages: [userTurn([input.image], text)],
    };
  },
} satisfies TaskInfo;
