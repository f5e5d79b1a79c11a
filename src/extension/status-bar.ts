// The status bar item: which model answers, at which weight precision, on which backend, what it is doing, and how fast it
// generated last. Clicking it cancels while busy and picks a model otherwise.
import * as vscode from 'vscode';
import { describePrecision } from '../models/fit';
import type { LoadedOn } from './backend-factory';
import { BUSY_CONTEXT_KEY, COMMANDS } from './command-ids';

export type ActivityState = { kind: 'idle' } | { kind: 'busy'; detail: string } | { kind: 'error'; detail: string };

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('pixtral.status', vscode.StatusBarAlignment.Right, 100);
  private model = 'no model';
  private state: ActivityState = { kind: 'idle' };
  private tokensPerSecond: number | undefined;
  private loadedOn: LoadedOn | undefined;

  constructor() {
    this.item.name = 'Pixtral';
    this.render();
    this.item.show();
  }

  setModel(label: string): void {
    this.model = label;
    this.render();
  }

  setState(state: ActivityState): void {
    this.state = state;
    void vscode.commands.executeCommand('setContext', BUSY_CONTEXT_KEY, state.kind === 'busy');
    this.render();
  }

  /** The backend the local model runs on; undefined once that model is released. */
  setBackend(loadedOn: LoadedOn | undefined): void {
    this.loadedOn = loadedOn;
    this.render();
  }

  setSpeed(tokensPerSecond: number | undefined): void {
    this.tokensPerSecond = tokensPerSecond;
    this.render();
  }

  private render(): void {
    const speed = this.tokensPerSecond === undefined ? '' : ` · ${this.tokensPerSecond.toFixed(1)} tok/s`;
    const { state } = this;
    if (state.kind === 'busy') {
      this.item.text = `$(loading~spin) Pixtral: ${state.detail}${speed}`;
      this.item.tooltip = `Pixtral (${this.model}) is ${state.detail}. Click to cancel.`;
      this.item.command = COMMANDS.cancel;
      this.item.backgroundColor = undefined;
    } else if (state.kind === 'error') {
      this.item.text = `$(error) Pixtral: ${this.model}`;
      this.item.tooltip = `Last request failed: ${state.detail}\nClick to show the log.`;
      this.item.command = COMMANDS.showLog;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else {
      const on = this.loadedOn;
      const fallback = on?.model.backendFallback;
      const backend = on ? ` · ${on.model.precision} · ${on.model.backend}${fallback ? ` instead of ${on.requested}` : ''}` : '';
      this.item.text = `${fallback ? '$(warning)' : '$(eye)'} Pixtral: ${this.model}${backend}${speed}`;
      const weights = on ? `Weights: ${describePrecision(on.model.precision)} (setting pixtral.model.precision).\n` : '';
      this.item.tooltip = `${fallback ? `${fallback}\n` : ''}${weights}Pixtral is idle. Click to select a model.`;
      this.item.command = COMMANDS.selectModel;
      this.item.backgroundColor = fallback ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
