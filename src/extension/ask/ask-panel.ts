// Host side of the "Ask about this image" chat: charts, tables, documents, screenshots; several
// images per question; follow-up questions in the same conversation (ask-conversation.ts). The
// host owns the conversation; the webview (webview/ask/) shows it and persists it, so VS Code
// restores it after a restart through the serializer registered in extension.ts.
import * as vscode from 'vscode';
import { describeError } from '../errors';
import type { GenerationRunner } from '../generation-runner';
import { readImageFile } from '../images/image-files';
import { decodeImageDataUrl, encodeImageDataUrl, IMAGE_EXTENSIONS, imageMediaType } from '../images/image-input';
import type { Settings } from '../settings';
import { showPage } from '../webview-panel';
import { askRequest, restoredTurns, type Exchange } from './ask-conversation';
import { askPageBody } from './ask-page';
import { ASK_VIEW_TYPE, type AskImage, type AskState, type AskToHost, type AskToWebview } from './protocol';

const EMPTY: AskState = { turns: [], busy: false, stage: '', error: undefined };

export class AskPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private state: AskState = EMPTY;
  /** The answer being generated, and the promise that settles once it has fully stopped. */
  private running: { controller: AbortController; done: Promise<void> } | undefined;
  /** Bumped by "New Conversation", so a run stopping late never writes into the new one. */
  private conversation = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly runner: GenerationRunner,
    private readonly settings: Settings,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Opens the chat (or brings it forward) with `uris` attached to the next question. */
  async open(uris: vscode.Uri[]): Promise<void> {
    if (this.panel) this.panel.reveal();
    else this.attach(vscode.window.createWebviewPanel(ASK_VIEW_TYPE, 'Pixtral: Ask', vscode.ViewColumn.Beside, {}), EMPTY);
    if (uris.length > 0) await this.post({ type: 'addImages', images: await Promise.all(uris.map(toAskImage)) });
  }

  /** Takes over the chat VS Code restored after a restart, with the conversation it showed. */
  revive(panel: vscode.WebviewPanel, saved: unknown): void {
    if (this.panel) {
      panel.dispose();
      return;
    }
    this.attach(panel, { ...EMPTY, turns: restoredTurns(saved) });
  }

  private attach(panel: vscode.WebviewPanel, state: AskState): void {
    this.panel = panel;
    this.state = state;
    // Trust boundary (webview-panel.ts): answers are model output and are rendered as text nodes
    // (webview/shared/markdown.ts).
    showPage(panel.webview, this.extensionUri, { name: 'ask', title: 'Pixtral: Ask', body: askPageBody() });
    const listener = panel.webview.onDidReceiveMessage((message: AskToHost) => this.onMessage(message));
    panel.onDidDispose(() => {
      listener.dispose();
      this.running?.controller.abort();
      this.panel = undefined;
    });
  }

  private async onMessage(message: AskToHost): Promise<void> {
    try {
      switch (message?.type) {
        case 'ready':
          return await this.publish();
        case 'ask':
          return await this.ask(String(message.question ?? ''), Array.isArray(message.images) ? message.images : []);
        case 'stop':
          this.running?.controller.abort();
          return;
        case 'newConversation':
          this.conversation++;
          this.running?.controller.abort();
          this.state = EMPTY;
          return await this.publish();
        case 'pickImages': {
          const picked = await vscode.window.showOpenDialog({ canSelectMany: true, filters: { Images: [...IMAGE_EXTENSIONS] } });
          if (picked?.length) await this.post({ type: 'addImages', images: await Promise.all(picked.map(toAskImage)) });
          return;
        }
        case 'dropUris': {
          const uris = (Array.isArray(message.uris) ? message.uris : []).slice(0, 16).map((u) => vscode.Uri.parse(String(u), true));
          await this.post({ type: 'addImages', images: await Promise.all(uris.map(toAskImage)) });
          return;
        }
      }
    } catch (err) {
      this.log.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      this.state = { ...this.state, busy: false, error: describeError(err).message };
      await this.publish();
    }
  }

  private async ask(question: string, images: AskImage[]): Promise<void> {
    // A stopped run may still be unwinding (e.g. right after New Conversation): wait for it instead
    // of dropping the question. The page blocks a second question while one really runs.
    if (this.running?.controller.signal.aborted) await this.running.done;
    if (this.running) return;
    if (!question.trim()) throw new Error('Type a question first.');
    if (this.state.turns.length === 0 && images.length === 0) throw new Error('Add at least one image to ask about.');
    const toRefs = (list: AskImage[]) => list.map((image) => ({ data: decodeImageDataUrl(image.dataUrl) }));
    const history: Exchange[] = this.state.turns.map((t) => ({ question: t.question, images: toRefs(t.images), answer: t.answer, stopped: t.stopped }));
    const request = askRequest(history, { question: question.trim(), images: toRefs(images) }, this.settings.current);

    const turn = { question: question.trim(), images, answer: '' };
    this.state = { turns: [...this.state.turns, turn], busy: true, stage: 'starting', error: undefined };
    await this.publish();
    const controller = new AbortController();
    const conversation = this.conversation;
    const current = () => conversation === this.conversation;
    let finished = () => {};
    this.running = { controller, done: new Promise<void>((resolve) => (finished = resolve)) };
    try {
      const result = await this.runner.run({
        title: 'Answering',
        request,
        signal: controller.signal,
        onStage: (stage) => void (current() && this.publish({ stage })),
        onText: (text) => {
          turn.answer += text;
          if (current()) void this.post({ type: 'answer', text });
        },
      });
      Object.assign(turn, { stopped: result.stopReason === 'cancelled' });
      if (current()) this.state = { ...this.state, busy: false, stage: result.stopReason === 'cancelled' ? 'Stopped.' : '' };
    } catch (err) {
      Object.assign(turn, { stopped: true });
      if (current()) throw err;
      this.log.warn(`a stopped answer of an earlier conversation failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.running = undefined;
      finished();
      if (current()) await this.publish({ busy: false });
    }
  }

  private async publish(change: Partial<AskState> = {}): Promise<void> {
    this.state = { ...this.state, ...change };
    await this.post({ type: 'state', state: this.state });
  }

  private async post(message: AskToWebview): Promise<void> {
    await this.panel?.webview.postMessage(message);
  }

  dispose(): void {
    this.running?.controller.abort();
    this.panel?.dispose();
  }
}

async function toAskImage(uri: vscode.Uri): Promise<AskImage> {
  return { name: uri.path.split('/').pop() ?? 'image', dataUrl: encodeImageDataUrl(await readImageFile(uri), imageMediaType(uri.path)) };
}
