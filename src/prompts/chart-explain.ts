// Task prompt: explain a chart image in fixed Markdown sections, so the answer always has the same
// shape (the panel can rely on the headings) and the key numbers come out as a table.
import { type TaskConversation, type TaskInfo, userTurn, WRITING_TEMPERATURE } from './task';

export interface ChartExplainInput<I> {
  image: I;
  /** What the user wants to understand in particular, if anything. */
  focus?: string;
}

const SYSTEM_PROMPT = [
  'You are a data analyst who explains charts clearly to people who have not seen them before.',
  [
    'Output format: reply in Markdown with exactly these five sections, in this order, each starting with its level-2 heading:',
    '## What it shows',
    'One or two sentences: the kind of chart, its subject, the period or categories it covers, and its source if one is printed.',
    '## How to read it',
    'The axes with their units and scales (linear or logarithmic), what each colour, line, bar or marker stands for, and any annotations.',
    '## Key values',
    'A Markdown table of the most important values, with a header row and the units in the column headers. Mark values you estimated from the axes, rather than read from printed labels, with "≈".',
    '## Trends',
    'Bullet points on the main patterns, comparisons, peaks, dips and outliers, quoting numbers.',
    '## Caveats',
    'Bullet points on what the chart does not show or might make readers misjudge: truncated or broken axes, missing data, unclear labels, values that were hard to read.',
  ].join('\n'),
  'Describe only what is visible in the image and do not invent data. If the image is not a chart, say so in one sentence instead.',
].join('\n\n');

export const chartExplain = {
  id: 'chart-explain',
  version: 1,
  title: 'Explain a chart',
  sampling: { temperature: WRITING_TEMPERATURE, maxTokens: 1536 },
  build<I>(input: ChartExplainInput<I>): TaskConversation<I> {
    const focus = input.focus?.trim();
    const text = focus ? `Explain this chart. Pay particular attention to: ${focus}` : 'Explain this chart.';
    return { systemPrompt: SYSTEM_PROMPT, messages: [userTurn([input.image], text)] };
  },
} satisfies TaskInfo;
