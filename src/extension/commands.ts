// Every command in the palette ("Pixtral: …"), explorer and editor menus, wired to the feature that
// does the work. Registration goes through PixtralContext, so any failure becomes a message.
import * as vscode from 'vscode';
import type { AskPanel } from './ask/ask-panel';
import { COMMANDS } from './command-ids';
import type { PixtralContext } from './context';
import type { GenerationRunner } from './generation-runner';
import type { ChartExplainer } from './hovers/chart-explainer';
import type { HtmlGenerator } from './html/html-generator';
import { readClipboardImage } from './images/clipboard-image';
import { chooseImage, chooseImages, readImageFile } from './images/image-files';
import { currentEnvironment } from './images/system-tools';
import type { ModelCommands } from './model-commands';
import type { PreviewPanel } from './preview/preview-panel';
import type { Settings } from './settings';
import type { SketchPanel } from './sketch/sketch-panel';
import type { TableCommands } from './table-commands';

export interface Features {
  settings: Settings;
  runner: GenerationRunner;
  html: HtmlGenerator;
  sketch: SketchPanel;
  preview: PreviewPanel;
  explainer: ChartExplainer;
  ask: AskPanel;
  tables: TableCommands;
  models: ModelCommands;
}

/** A command argument naming a file: a Uri (menus) or its string form (hover command links). */
function uriArg(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return vscode.Uri.parse(arg, true);
  return undefined;
}

export function registerCommands(ctx: PixtralContext, f: Features): void {
  const command = (id: string, handler: (...args: unknown[]) => unknown) => ctx.registerCommand(id, handler);

  command(COMMANDS.openSketchPanel, () => f.sketch.createOrShow());

  command(COMMANDS.generateFromImage, async (arg, selection) => {
    const uris = await chooseImages(arg, selection, 'Generate HTML from image');
    if (uris.length === 0) return;
    const images = await Promise.all(uris.map(async (uri) => ({ data: await readImageFile(uri) })));
    await f.html.generate(images, '', f.settings.current.outputTarget);
  });

  command(COMMANDS.generateFromClipboard, async () => {
    const result = await readClipboardImage(currentEnvironment());
    if (result.kind === 'image') {
      await f.html.generate([{ data: new Uint8Array(result.png) }], '', f.settings.current.outputTarget);
      return;
    }
    // Without a clipboard tool the sketch panel can still take the image: webviews read pastes.
    f.sketch.createOrShow();
    const why = result.kind === 'empty' ? 'The clipboard holds no image.' : `The clipboard cannot be read here: ${result.hint}`;
    void vscode.window.showInformationMessage(`Pixtral: ${why} Paste an image into the sketch panel with Ctrl+V instead.`);
  });

  command(COMMANDS.refineHtml, async () => {
    if (!f.html.canRefine) throw new Error('There is no generated page to refine yet: generate one first.');
    const instruction = await vscode.window.showInputBox({ title: 'Refine the generated page', prompt: 'What should change?', ignoreFocusOut: true });
    if (instruction?.trim()) await f.html.refine(instruction);
  });

  command(COMMANDS.compareVersions, () => f.html.compare(true));
  command(COMMANDS.showPreview, () => f.preview.show());

  command(COMMANDS.explainChart, async (arg) => {
    const uri = uriArg(arg) ?? (await chooseImage(undefined, 'Explain a chart image'));
    if (uri) await f.explainer.explain(uri);
  });

  command(COMMANDS.chartToTable, async (arg) => {
    const uri = uriArg(arg) ?? (await chooseImage(undefined, 'Chart → data table'));
    if (uri) await f.tables.chartToTable(uri);
  });

  command(COMMANDS.tableToMarkup, async (arg) => {
    const uri = uriArg(arg) ?? (await chooseImage(undefined, 'Table screenshot → HTML/Markdown'));
    if (uri) await f.tables.tableToMarkup(uri);
  });

  command(COMMANDS.askAboutImage, async (arg, selection) => {
    const one = uriArg(arg);
    const uris = Array.isArray(selection) && selection.length > 0 ? await chooseImages(arg, selection, '') : one ? [one] : [];
    await f.ask.open(uris);
  });

  command(COMMANDS.cancel, () => {
    if (!f.runner.cancelAll()) void vscode.window.showInformationMessage('Pixtral: nothing is being generated.');
  });

  command(COMMANDS.selectModel, () => f.models.selectModel());
  command(COMMANDS.downloadModel, () => f.models.downloadModel());
  command(COMMANDS.switchBackend, () => f.models.switchBackend());
  command(COMMANDS.setRemoteApiKey, () => f.models.setRemoteApiKey());
  command(COMMANDS.showLog, () => ctx.log.show());
}
