// Earlier page versions as read-only documents (pixtral-version:/v3.html) and the diff between two
// of them in VS Code's own diff editor.
import * as vscode from 'vscode';
import type { PageVersion, VersionStore } from './versions';

export const VERSION_SCHEME = 'pixtral-version';

export class VersionDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly registration: vscode.Disposable;

  constructor(private readonly store: VersionStore) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(VERSION_SCHEME, this);
  }

  static uri(version: PageVersion): vscode.Uri {
    return vscode.Uri.from({ scheme: VERSION_SCHEME, path: `/v${version.number}.html` });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const number = Number(/^\/v(\d+)\.html$/.exec(uri.path)?.[1]);
    return this.store.get(number)?.html ?? '';
  }

  async diff(older: PageVersion, newer: PageVersion): Promise<void> {
    await vscode.commands.executeCommand(
      'vscode.diff',
      VersionDocuments.uri(older),
      VersionDocuments.uri(newer),
      `Pixtral: v${older.number} ↔ v${newer.number} (${newer.label})`,
    );
  }

  dispose(): void {
    this.registration.dispose();
  }
}
