// The task prompts the product ships: one file per task, each with an id, a version, default
// sampling and a function that builds the conversation for src/worker/chat-format.ts.
// Prompts are TypeScript string constants rather than .md files so that the same import works
// under tsx (tests, CLI from source) and in the esbuild bundle without a text loader, and so that
// the compiler checks how they are assembled.
import { chartExplain } from './chart-explain';
import { chartToTable } from './chart-to-table';
import { freeQuestion } from './free-question';
import { htmlFromSketch } from './html-from-sketch';
import { htmlRefine } from './html-refine';
import { tableTranscribe } from './table-transcribe';
import type { TaskInfo } from './task';

export { chartExplain, chartToTable, freeQuestion, htmlFromSketch, htmlRefine, tableTranscribe };
export type { ChartExplainInput } from './chart-explain';
export type { ChartTableFormat, ChartToTableInput } from './chart-to-table';
export type { FreeQuestionInput } from './free-question';
export type { HtmlFromSketchInput, HtmlTarget } from './html-from-sketch';
export type { HtmlRefineInput } from './html-refine';
export type { TableMarkup, TableTranscribeInput } from './table-transcribe';
export type { Sampling, TaskConversation, TaskInfo } from './task';

export const TASKS: readonly TaskInfo[] = [htmlFromSketch, htmlRefine, chartExplain, chartToTable, tableTranscribe, freeQuestion];
