// Host side of the sketch panel: creates or restores the webview (webview/sketch/), answers its
// messages (protocol.ts) and drives the HTML generator. One panel per window; VS Code restores it
// after a restart through the serializer registered in extension.ts, with the drawing the
// webview saved in its state.
import * as vscode from 'vscode';
import type { HtmlGenerator } from '../html/html-generator';
import { readImageFile } from '../images/image-files';
import { decodeImageDataUrl, encodeImageDataUrl, imageMediaType } from '../images/image-input';
import { currentEnvironment } from '../images/system-tools';
import { findCaptureTool, noCaptureToolMessage } from '../images/screen-capture';
import { describeError, isCancellation } from '../errors';
import { showPage } from '../webview-panel';
import { SKETCH_VIEW_TYPE, type SketchStatus, type SketchToHost, type SketchToWebview } from './protocol';
import { sketchPageBody } from './sketch-page';

export class SketchPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private running: AbortController | undefined;
  private status: SketchStatus = { busy: false, stage: '', error: undefined, canRefine: false, versions: 0 };
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly generator: HtmlGenerator,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(generator.onDidChange(() => this.setStatus({})));
  }

  createOrShow(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    this.attach(vscode.window.createWebviewPanel(SKETCH_VIEW_TYPE, 'Pixtral Sketch', vscode.ViewColumn.Active, {}));
  }

  /** Takes over the panel VS Code restored after a restart (its webview state holds the drawing). */
  revive(panel: vscode.WebviewPanel): void {
    if (this.panel) {
      panel.dispose();
      return;
    }
    this.attach(panel);
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    // Trust boundary (webview-panel.ts): the page loads no workspace files; images reach it as data: URLs.
    showPage(panel.webview, this.extensionUri, { name: 'sketch', title: 'Pixtral Sketch', body: sketchPageBody() });
    const listener = panel.webview.onDidReceiveMessage((message: SketchToHost) => this.onMessage(message));
    panel.onDidDispose(() => {
      listener.dispose();
      this.running?.abort();
      this.panel = undefined;
    });
  }

  private async onMessage(message: SketchToHost): Promise<void> {
    try {
      switch (message?.type) {
        case 'ready':
          return this.setStatus({});
        case 'generate':
          return await this.generate(message);
        case 'stop':
          this.running?.abort();
          return;
        case 'capture':
          return await this.capture();
        case 'dropUris':
          return await this.readDropped(message.uris);
        case 'compare':
          return await this.generator.compare(false);
        default:
          this.log.warn(`sketch panel: unknown message ${JSON.stringify((message as { type?: unknown })?.type)}`);
      }
    } catch (err) {
      this.log.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      this.setStatus({ busy: false, error: describeError(err).message });
    }
  }

  private async generate(message: Extract<SketchToHost, { type: 'generate' }>): Promise<void> {
    if (this.running) return; // one generation per panel; the button is disabled meanwhile
    const controller = new AbortController();
    this.running = controller;
    this.setStatus({ busy: true, stage: 'starting', error: undefined });
    const job = { signal: controller.signal, onStage: (stage: string) => this.setStatus({ stage }) };
    try {
      if (message.mode === 'refine') {
        await this.generator.refine(message.instruction, job);
      } else {
        if (!Array.isArray(message.images) || message.images.length === 0) throw new Error('Draw something or add an image first.');
        const images = message.images.map((image) => ({ data: decodeImageDataUrl(image?.dataUrl) }));
        await this.generator.generate(images, String(message.instruction ?? ''), message.target === 'html-tailwind' ? 'html-tailwind' : 'html-css', job);
      }
      this.setStatus({ busy: false, stage: controller.signal.aborted ? 'Stopped.' : 'Done.' });
    } catch (err) {
      if (!isCancellation(err)) throw err;
      this.setStatus({ busy: false, stage: 'Stopped.' });
    } finally {
      this.running = undefined;
    }
  }

  private async capture(): Promise<void> {
    const environment = currentEnvironment();
    const tool = await findCaptureTool(environment);
    if (!tool) return this.post({ type: 'notice', text: noCaptureToolMessage(environment) });
    this.log.info(`screen capture with ${tool.name}`);
    await this.post({ type: 'notice', text: `Select a region of the screen (${tool.name})…` });
    const png = await tool.capture();
    if (!png) return this.post({ type: 'notice', text: 'Screen capture cancelled.' });
    await this.post({ type: 'addImage', image: { name: 'screen capture.png', dataUrl: encodeImageDataUrl(png) } });
    await this.post({ type: 'notice', text: '' });
  }

  /** Files dropped from the explorer: only file URIs of images, read through workspace.fs. */
  private async readDropped(uris: unknown): Promise<void> {
    if (!Array.isArray(uris)) return;
    for (const text of uris.slice(0, 16)) {
      const uri = vscode.Uri.parse(String(text), true);
      const bytes = await readImageFile(uri);
      const name = uri.path.split('/').pop() ?? 'image';
      await this.post({ type: 'addImage', image: { name, dataUrl: encodeImageDataUrl(bytes, imageMediaType(uri.path)) } });
    }
  }

  private setStatus(change: Partial<SketchStatus>): void {
    this.status = { ...this.status, ...change, canRefine: this.generator.canRefine, versions: this.generator.versionCount };
    void this.post({ type: 'status', status: this.status });
  }

  private async post(message: SketchToWebview): Promise<void> {
    await this.panel?.webview.postMessage(message);
  }

  dispose(): void {
    this.running?.abort();
    this.panel?.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
