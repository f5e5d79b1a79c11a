// Hovers over references to image files (Markdown images, <img src>, string literals naming an
// image) show a thumbnail and "Explain this chart"; once a chart has been explained with the
// current model and settings, the hover shows the explanation itself, from the cache.
import * as vscode from 'vscode';
import { COMMANDS } from '../command-ids';
import { isImagePath, MAX_IMAGE_BYTES } from '../images/image-input';
import type { Settings } from '../settings';
import type { ChartExplainer } from './chart-explainer';
import { imageReferenceAt, isLocalTarget, stripQuery } from './image-reference';

export class ChartHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly settings: Settings,
    private readonly explainer: ChartExplainer,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    if (!this.settings.current.hoversEnabled) return undefined;
    const line = document.lineAt(position.line).text;
    const ref = imageReferenceAt(line, position.character);
    if (!ref || !isLocalTarget(ref.target)) return undefined;
    const uri = await resolveImage(document, stripQuery(ref.target));
    if (!uri || token.isCancellationRequested) return undefined;
    const range = new vscode.Range(position.line, ref.start, position.line, ref.end);

    let explanation: string | undefined;
    try {
      const bytes = await vscode.workspace.fs.readFile(uri);
      explanation = await this.explainer.cached(bytes);
      const { hits, misses } = this.explainer.cacheCounts;
      const counts = `explanation cache: hits ${hits}, misses ${misses}`;
      if (explanation === undefined) this.log.debug(`hover ${uri.path}: not explained yet (${counts})`);
      else this.log.info(`hover ${uri.path}: explanation served from the cache (${counts})`);
    } catch (err) {
      // No model yet, or the file vanished: the hover still offers the thumbnail and the link.
      this.log.debug(`hover cache lookup for ${uri.toString()}: ${(err as Error).message}`);
    }

    const args = encodeURIComponent(JSON.stringify([uri.toString()]));
    const markdown = new vscode.MarkdownString();
    // Trust boundary: hover Markdown may run commands only from this list, and only through
    // links we write; the model's explanation is appended as Markdown with HTML disabled.
    markdown.isTrusted = { enabledCommands: [COMMANDS.explainChart, COMMANDS.askAboutImage] };
    markdown.supportHtml = false;
    markdown.appendMarkdown(`![${escapeAlt(uri.path.split('/').pop() ?? '')}](${uri.toString()}|width=240)\n\n`);
    if (explanation !== undefined) {
      markdown.appendMarkdown(`[Open explanation](command:${COMMANDS.explainChart}?${args}) · [Ask about this image](command:${COMMANDS.askAboutImage}?${args})\n\n---\n\n`);
      markdown.appendMarkdown(explanation);
    } else {
      markdown.appendMarkdown(`[$(sparkle) Explain this chart](command:${COMMANDS.explainChart}?${args}) · [Ask about this image](command:${COMMANDS.askAboutImage}?${args})`);
      markdown.supportThemeIcons = true;
    }
    return new vscode.Hover(markdown, range);
  }
}

/** The image file a reference names: relative to the document, or to the workspace for "/x". */
async function resolveImage(document: vscode.TextDocument, target: string): Promise<vscode.Uri | undefined> {
  if (!isImagePath(target)) return undefined;
  let decoded = target;
  try {
    decoded = decodeURIComponent(target);
  } catch {
    // Not percent-encoded: use as written.
  }
  const candidates: vscode.Uri[] = [];
  if (/^file:/i.test(decoded)) candidates.push(vscode.Uri.parse(decoded));
  else if (/^([a-z]:[\\/]|\\\\)/i.test(decoded)) candidates.push(vscode.Uri.file(decoded));
  else {
    const folder = vscode.workspace.getWorkspaceFolder(document.uri)?.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    if (decoded.startsWith('/')) {
      if (folder) candidates.push(vscode.Uri.joinPath(folder, decoded));
      candidates.push(vscode.Uri.file(decoded));
    } else {
      if (!document.isUntitled) candidates.push(vscode.Uri.joinPath(document.uri, '..', decoded));
      if (folder) candidates.push(vscode.Uri.joinPath(folder, decoded));
    }
  }
  for (const uri of candidates) {
    const stat = await Promise.resolve(vscode.workspace.fs.stat(uri)).catch(() => undefined);
    if (stat && stat.type & vscode.FileType.File && stat.size <= MAX_IMAGE_BYTES) return uri;
  }
  return undefined;
}

function escapeAlt(text: string): string {
  return text.replace(/[\\[\]]/g, '\\$&');
}
