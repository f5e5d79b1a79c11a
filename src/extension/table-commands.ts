// "Chart → Data Table" and "Table Screenshot → HTML/Markdown": one image in, the transcription
// streamed into a new editor in the chosen format (src/prompts/chart-to-table.ts, table-transcribe.ts).
import * as vscode from 'vscode';
import { chartToTable, tableTranscribe } from '../prompts';
import type { GenerationRequest } from '../worker/protocol';
import { EditorStream } from './editor-stream';
import type { GenerationRunner } from './generation-runner';
import { readImageFile } from './images/image-files';
import type { Settings } from './settings';
import { imageSlot, samplingFor, toGenerationRequest } from './task-request';

export class TableCommands {
  constructor(
    private readonly runner: GenerationRunner,
    private readonly settings: Settings,
  ) {}

  async chartToTable(uri: vscode.Uri): Promise<void> {
    const format = await vscode.window.showQuickPick(
      [
        { label: 'CSV', format: 'csv' as const, language: 'csv' },
        { label: 'Markdown table', format: 'markdown' as const, language: 'markdown' },
      ],
      { title: 'Chart → Data Table: format' },
    );
    if (!format) return;
    const image = imageSlot({ data: await readImageFile(uri) });
    const settings = this.settings.current;
    const request = toGenerationRequest(chartToTable.build({ image, format: format.format }), samplingFor(chartToTable, settings), settings.imageTokenBudget);
    await this.stream(`Reading the data of ${name(uri)}`, request, format.language);
  }

  async tableToMarkup(uri: vscode.Uri): Promise<void> {
    const format = await vscode.window.showQuickPick(
      [
        { label: 'HTML <table>', format: 'html' as const, language: 'html' },
        { label: 'Markdown table', format: 'markdown' as const, language: 'markdown' },
      ],
      { title: 'Table Screenshot → HTML/Markdown: format' },
    );
    if (!format) return;
    const image = imageSlot({ data: await readImageFile(uri) });
    const settings = this.settings.current;
    const request = toGenerationRequest(tableTranscribe.build({ image, format: format.format }), samplingFor(tableTranscribe, settings), settings.imageTokenBudget);
    await this.stream(`Transcribing the table in ${name(uri)}`, request, format.language);
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
