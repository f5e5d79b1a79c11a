// The live preview of the page being generated: a webview that renders the HTML as it grows, in
// a sandboxed frame (webview/preview/), at desktop or mobile width. One panel per window.
import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { showPage } from '../webview-panel';
import { previewPageBody } from './preview-page';
import { PREVIEW_VIEW_TYPE, type PreviewToHost, type PreviewToWebview } from './protocol';

/** Re-rendering re-parses the whole page (and reruns Tailwind): a few times a second is enough. */
const RENDER_INTERVAL_MS = 400;

export class PreviewPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private html = '';
  private final = true;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private tailwind: Promise<string> | undefined;

  constructor(private readonly extensionUri: vscode.Uri) {}

  /** Shows the panel beside the editor (creating it if needed) without taking focus. */
  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    this.attach(
      vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, 'Pixtral Preview', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {}),
    );
  }

  /** Takes over a panel VS Code restored after a restart. */
  revive(panel: vscode.WebviewPanel): void {
    if (this.panel) {
      panel.dispose();
      return;
    }
    this.attach(panel);
  }

  /** The page so far; rendered at most every RENDER_INTERVAL_MS, and at once when `final`. */
  update(html: string, final: boolean): void {
    this.html = html;
    this.final = final;
    if (final) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.render();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, RENDER_INTERVAL_MS);
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    const webview = panel.webview;
    // Trust boundary: the generated page is untrusted content. The webview may run only our
    // script and read only our own media and scripts (no workspace files). The page itself runs
    // in a frame sandboxed without allow-same-origin (webview/preview/frame.ts), and it inherits
    // this policy, which allows no network at all: no connect-src, and images, styles and fonts
    // only from data: and our resource origin. Inline styles are allowed because generated pages
    // (and Tailwind) are made of them; they cannot run code.
    showPage(webview, this.extensionUri, { name: 'preview', title: 'Pixtral Preview', body: previewPageBody(), extra: { 'style-src': "'unsafe-inline'" } });
    webview.onDidReceiveMessage(async (message: PreviewToHost) => {
      if (message?.type !== 'ready') return;
      await this.post({ type: 'tailwind', source: await this.tailwindSource() });
      this.render();
    });
    panel.onDidDispose(() => {
      this.panel = undefined;
    });
  }

  private render(): void {
    void this.post({ type: 'render', html: this.html, final: this.final });
  }

  private async post(message: PreviewToWebview): Promise<void> {
    await this.panel?.webview.postMessage(message);
  }

  /** Tailwind's browser build ships inside the extension, so Tailwind pages preview offline. */
  private tailwindSource(): Promise<string> {
    this.tailwind ??= readFile(vscode.Uri.joinPath(this.extensionUri, 'node_modules', '@tailwindcss', 'browser', 'dist', 'index.global.js').fsPath, 'utf8').catch(
      () => '/* Tailwind is not bundled with this build */',
    );
    return this.tailwind;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.panel?.dispose();
  }
}
