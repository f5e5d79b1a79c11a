// The sketch-to-HTML feature: starts a page from images, refines it with follow-up instructions
// (real multi-turn, conversation.ts), streams the code (never prose or Markdown fences, see
// src/service/html-extract.ts) into a new editor and the live preview, and keeps every version
// for diffs. Used by the sketch panel and by the "Generate HTML from …" commands.
import * as vscode from 'vscode';
import type { HtmlTarget } from '../../prompts';
import { HtmlExtractor } from '../../service/html-extract';
import type { GenerationRequest, ImageRef } from '../../worker/protocol';
import { EditorStream } from '../editor-stream';
import type { GenerationRunner } from '../generation-runner';
import type { PreviewPanel } from '../preview/preview-panel';
import type { Settings } from '../settings';
import { HtmlConversation } from './conversation';
import { VersionDocuments } from './version-documents';
import { VersionStore, type PageVersion } from './versions';

export interface HtmlJob {
  /** A panel's Stop button. */
  signal?: AbortSignal;
  onStage?(stage: string): void;
}

export class HtmlGenerator implements vscode.Disposable {
  private conversation: HtmlConversation | undefined;
  private thread = 0;
  /** The editor of the latest page: if the user edits it, refinements start from their version. */
  private editor: EditorStream | undefined;
  private readonly versions = new VersionStore();
  private readonly documents = new VersionDocuments(this.versions);
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a page was recorded or a new conversation started. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly runner: GenerationRunner,
    private readonly settings: Settings,
    private readonly preview: PreviewPanel,
  ) {}

  get canRefine(): boolean {
    return this.conversation?.started ?? false;
  }

  /** Versions of the current conversation. */
  get versionCount(): number {
    return this.versions.ofThread(this.thread).length;
  }

  /** A new page from `images` (the first is the main one); `notes` are the user's wishes. */
  async generate(images: ImageRef[], notes: string, target: HtmlTarget, job: HtmlJob = {}): Promise<void> {
    const conversation = new HtmlConversation(images, target, notes.trim());
    this.conversation = conversation;
    this.thread++;
    this.changed.fire();
    const request = conversation.firstRequest(this.settings.current);
    const label = `from ${images.length} image${images.length === 1 ? '' : 's'}${notes.trim() ? `: ${notes.trim()}` : ''}`;
    await this.stream('Generating HTML', request, job, (html) => conversation.record(html), label);
  }

  /** Applies `instruction` to the latest page of the conversation, as a follow-up turn. */
  async refine(instruction: string, job: HtmlJob = {}): Promise<void> {
    const conversation = this.conversation;
    if (!conversation?.started) throw new Error('There is no generated page to refine yet: generate one first.');
    if (!instruction.trim()) throw new Error('Type what should change in the page.');
    const current = this.editor && !this.editor.document.isClosed ? this.editor.document.getText() : undefined;
    const request = conversation.refineRequest(instruction.trim(), this.settings.current, current);
    await this.stream('Refining HTML', request, job, (html) => conversation.record(html, instruction.trim()), instruction.trim());
  }

  /** Diffs the last two versions of the current conversation, or lets the user pick two. */
  async compare(pick: boolean): Promise<void> {
    const all = pick ? [...this.versions.all] : this.versions.ofThread(this.thread);
    if (all.length < 2) throw new Error('Two versions are needed for a comparison: refine the page first.');
    if (!pick) return this.documents.diff(all[all.length - 2], all[all.length - 1]);
    const items = all.map((v) => ({ label: `v${v.number}`, description: v.label, detail: v.created.toLocaleTimeString(), version: v })).reverse();
    const newer = await vscode.window.showQuickPick(items, { title: 'Compare: the newer version' });
    if (!newer) return;
    const older = await vscode.window.showQuickPick(
      items.filter((i) => i.version.number < newer.version.number),
      { title: `Compare v${newer.version.number} with` },
    );
    if (older) await this.documents.diff(older.version, newer.version);
  }

  private async stream(
    title: string,
    request: GenerationRequest,
    job: HtmlJob,
    record: (html: string) => void,
    label: string,
  ): Promise<PageVersion | undefined> {
    const editor = await EditorStream.open('html');
    this.editor = editor;
    this.preview.show();
    this.preview.update('', false);
    const extractor = new HtmlExtractor();
    let html = '';
    const emit = (code: string) => {
      if (!code) return;
      html += code;
      editor.push(code);
      this.preview.update(html, false);
    };
    const result = await this.runner.run({ title, request, signal: job.signal, onStage: job.onStage, onText: (text) => emit(extractor.push(text)) });
    emit(extractor.end());
    if (!extractor.found && result.text.trim()) {
      // No HTML in the answer at all: show what the model said rather than an empty editor.
      emit(result.text);
      void vscode.window.showWarningMessage('Pixtral: the answer contained no HTML page; it is shown as it came.');
    }
    await editor.finish();
    this.preview.update(html, true);
    if (result.stopReason === 'cancelled' || !html) return undefined;
    record(html);
    const version = this.versions.add(this.thread, label, html);
    this.changed.fire();
    return version;
  }

  dispose(): void {
    this.documents.dispose();
    this.changed.dispose();
  }
}
