// Composition root of the VS Code extension: builds the services and features and hands every one
// to the context that disposes them. Activation does no work beyond wiring: the model is looked
// up and the worker process started on the first request (backend-factory.ts).
import * as vscode from 'vscode';
import { AskPanel } from './extension/ask/ask-panel';
import { ASK_VIEW_TYPE } from './extension/ask/protocol';
import { BackendFactory } from './extension/backend-factory';
import { registerCommands } from './extension/commands';
import { PixtralContext } from './extension/context';
import { GenerationRunner } from './extension/generation-runner';
import { ChartExplainer } from './extension/hovers/chart-explainer';
import { ChartHoverProvider } from './extension/hovers/chart-hover-provider';
import { ExplanationCache } from './extension/hovers/explanation-cache';
import { HtmlGenerator } from './extension/html/html-generator';
import { ModelCommands } from './extension/model-commands';
import { PreviewPanel } from './extension/preview/preview-panel';
import { PREVIEW_VIEW_TYPE } from './extension/preview/protocol';
import { Settings } from './extension/settings';
import { SKETCH_VIEW_TYPE } from './extension/sketch/protocol';
import { SketchPanel } from './extension/sketch/sketch-panel';
import { StatusBar } from './extension/status-bar';
import { TableCommands } from './extension/table-commands';

let root: PixtralContext | undefined;

export function activate(extension: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Pixtral', { log: true });
  const ctx = new PixtralContext(extension, log);
  root = ctx;
  ctx.own(log);
  extension.subscriptions.push(ctx);

  const settings = ctx.own(new Settings());
  const status = ctx.own(new StatusBar());
  const backends = ctx.own(new BackendFactory(settings, extension.secrets, log));
  ctx.own(
    backends.onDidChangeIdentity((identity) => {
      status.setModel(identity?.label ?? 'model not loaded');
      if (!identity) status.setBackend(undefined);
    }),
  );
  ctx.own(backends.onDidLoad((loadedOn) => status.setBackend(loadedOn)));
  const runner = new GenerationRunner(backends, status, log);

  const preview = ctx.own(new PreviewPanel(extension.extensionUri));
  const html = ctx.own(new HtmlGenerator(runner, settings, preview));
  const sketch = ctx.own(new SketchPanel(extension.extensionUri, html, log));
  const ask = ctx.own(new AskPanel(extension.extensionUri, runner, settings, log));
  const explainer = new ChartExplainer(runner, backends, settings, new ExplanationCache(vscode.Uri.joinPath(extension.globalStorageUri, 'explanations').fsPath));

  // Panels VS Code restores after a restart come back with their webview state (the drawing, the chat).
  ctx.own(vscode.window.registerWebviewPanelSerializer(SKETCH_VIEW_TYPE, { deserializeWebviewPanel: async (panel) => sketch.revive(panel) }));
  ctx.own(vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, { deserializeWebviewPanel: async (panel) => preview.revive(panel) }));
  ctx.own(vscode.window.registerWebviewPanelSerializer(ASK_VIEW_TYPE, { deserializeWebviewPanel: async (panel, state) => ask.revive(panel, state) }));

  ctx.own(vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: 'vscode-notebook-cell' }], new ChartHoverProvider(settings, explainer, log)));

  registerCommands(ctx, {
    settings,
    runner,
    html,
    sketch,
    preview,
    explainer,
    ask,
    tables: new TableCommands(runner, settings, backends),
    models: new ModelCommands(settings, extension.secrets, log),
  });
  log.info(`Pixtral ${extension.extension.packageJSON.version} activated`);
}

export function deactivate(): void {
  root?.dispose();
  root = undefined;
}
