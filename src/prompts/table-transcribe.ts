// Task prompt: transcribe a screenshot or photo of a table into an HTML <table> or a Markdown table,
// cell for cell, with nothing around it so it can be inserted into a document as it is.
import { type TaskConversation, type TaskInfo, TRANSCRIPTION_TEMPERATURE, userTurn } from './task';

export type TableMarkup = 'html' | 'markdown';

export interface TableTranscribeInput<I> {
  image: I;
  format: TableMarkup;
}

const ROLE = 'You transcribe tables from images exactly.';

const OUTPUT_FORMAT: Record<TableMarkup, string> = {
  html: [
    'Output format: reply with one HTML <table> element and nothing else: no <html> or <body>, no CSS, no explanations and no Markdown code fences.',
    '- Put header rows in <thead> with <th> cells and the data in <tbody>; add a <caption> if the table has a title.',
    '- Keep merged cells merged with colspan and rowspan.',
  ].join('\n'),
  markdown: [
    'Output format: reply with one GitHub-flavoured Markdown table and nothing else: no explanations before or after it.',
    '- The first row is the header row. Markdown has no merged cells: repeat a merged cell\'s text in every cell it spans.',
    '- Write a "|" inside a cell as "\\|".',
  ].join('\n'),
};

const EXACTNESS = 'Copy the text of every cell exactly as written, including numbers, units, signs and footnote marks, and keep the order of rows and columns. Leave empty cells empty.';

export const tableTranscribe = {
  id: 'table-transcribe',
  version: 1,
  title: 'Table image to HTML or Markdown',
  sampling: { temperature: TRANSCRIPTION_TEMPERATURE, maxTokens: 4096 },
  build<I>(input: TableTranscribeInput<I>): TaskConversation<I> {
    const text = input.format === 'html' ? 'Transcribe this table as HTML.' : 'Transcribe this table as Markdown.';
    return {
      systemPrompt: [ROLE, OUTPUT_FORMAT[input.format], EXACTNESS].join('\n\n'),
      messages: [userTurn([input.image], text)],
    };
  },
} satisfies TaskInfo;
