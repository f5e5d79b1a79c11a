// "Chart → Data Table" and "Table Screenshot → HTML/Markdown": one image in, the transcription
// streamed into a new editor in the chosen format (src/prompts/chart-to-table.ts, table-transcribe.ts).
// The small built-in sketch model writes charts as CSV only: a Markdown table is made from its CSV.
import * as vscode from 'vscode';
import { chartToTable, tableTranscribe, type TaskConversation, type TaskInfo } from '../prompts';
import { csvRows, markdownTable } from '../service/chart-csv';
import { samplingFor, toGenerationRequest } from '../service/task-request';
import type { BackendFactory } from './backend-factory';
import type { GenerationRequest, ImageRef } from '../worker/protocol';
import { EditorStream } from './editor-stream';
import type { GenerationRunner } from './generation-runner';
import { readImageFile } from './images/image-files';
import type { Settings } from './settings';

/** An output format the user can pick, and the editor language that shows it. */
interface FormatChoice<F extends string> {
  label: string;
  format: F;
  language: string;
}

/** A one-image task whose input is the image and the chosen format (a function property, so
 * that its parameter is checked strictly: a choice the task does not know is a type error). */
type TranscriptionTask<F extends string> = TaskInfo & { build: (input: { image: ImageRef; format: F }) => TaskConversation<ImageRef> };

export class TableCommands {
  constructor(
    private readonly runner: GenerationRunner,
    private readonly settings: Settings,
    private readonly backends: BackendFactory,
  ) {}

  async chartToTable(uri: vscode.Uri): Promise<void> {
    await this.transcribe(uri, chartToTable, 'Chart → Data Table', `Reading the data of ${name(uri)}`, [
      { label: 'CSV', format: 'csv', language: 'csv' },
      { label: 'Markdown table', format: 'markdown', language: 'markdown' },
    ]);
  }

  async tableToMarkup(uri: vscode.Uri): Promise<void> {
    await this.transcribe(uri, tableTranscribe, 'Table Screenshot → HTML/Markdown', `Transcribing the table in ${name(uri)}`, [
      { label: 'HTML <table>', format: 'html', language: 'html' },
      { label: 'Markdown table', format: 'markdown', language: 'markdown' },
    ]);
  }

  /** Asks for the format, then streams the task's answer for the image at `uri`. */
  private async transcribe<F extends string>(uri: vscode.Uri, task: TranscriptionTask<F>, command: string, title: string, choices: FormatChoice<F>[]): Promise<void> {
    const choice = await vscode.window.showQuickPick(choices, { title: `${command}: format` });
    if (!choice) return;
    const image = { data: await readImageFile(uri) };
    const settings = this.settings.current;
    if (task === chartToTable && choice.format === 'markdown' && (await this.backends.identity()).builtIn) {
      const request = toGenerationRequest(chartToTable.build({ image, format: 'csv' }), samplingFor(task, settings), settings.imageTokenBudget);
      const editor = await EditorStream.open('markdown');
      try {
        const result = await this.runner.run({ title, request, onText: () => undefined });
        editor.push(`${markdownTable(csvRows(result.text))}\n`);
      } finally {
        await editor.finish();
      }
      return;
    }
    const request = toGenerationRequest(task.build({ image, format: choice.format }), samplingFor(task, settings), settings.imageTokenBudget);
    await this.stream(title, request, choice.language);
  }

  private async stream(title: string, request: GenerationRequest, language: string): Promise<void> {
    // "csv" is a language only with a CSV extension installed; plain text otherwise.
    const languages = await vscode.languages.getLanguages();
    const editor = await EditorStream.open(languages.includes(language) ? language : 'plaintext');
    try {
      await this.runner.run({ title, request, onText: (text) => editor.push(text) });
    } finally {
      await editor.finish();
    }
  }
}

function name(uri: vscode.Uri): string {
  return uri.path.split('/').pop() ?? 'the image';
}
