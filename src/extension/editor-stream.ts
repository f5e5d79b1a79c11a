// Streams generated text into a new untitled editor, beside the panel that asked for it, in
// batched edits appended at the end (text-batcher.ts) so the editor stays responsive while the
// model writes. Edits go through the document, so they land even if the user switched tabs.
import * as vscode from 'vscode';
import { TextBatcher } from './text-batcher';

export class EditorStream {
  private readonly batcher: TextBatcher;

  private constructor(readonly document: vscode.TextDocument) {
    this.batcher = new TextBatcher((text) => this.append(text));
  }

  /** Opens an empty untitled document in `language` and shows it in `column`. */
  static async open(language: string, column: vscode.ViewColumn = vscode.ViewColumn.Beside): Promise<EditorStream> {
    const document = await vscode.workspace.openTextDocument({ language, content: '' });
    await vscode.window.showTextDocument(document, { viewColumn: column, preview: false, preserveFocus: true });
    return new EditorStream(document);
  }

  push(text: string): void {
    this.batcher.push(text);
  }

  /** Applies what is still pending; the document then holds the whole text. */
  finish(): Promise<void> {
    return this.batcher.flush();
  }

  private async append(text: string): Promise<void> {
    if (this.document.isClosed) return;
    const end = this.document.lineAt(this.document.lineCount - 1).range.end;
    const edit = new vscode.WorkspaceEdit();
    edit.insert(this.document.uri, end, text);
    await vscode.workspace.applyEdit(edit);
  }
}
