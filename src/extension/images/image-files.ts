// Choosing and reading image files from VS Code: the explorer's selection, the image open in the
// active tab, or an open dialog; bytes read through workspace.fs so remote and virtual
// workspaces work too.
import * as vscode from 'vscode';
import { UserError } from '../errors';
import { IMAGE_EXTENSIONS, isImagePath, MAX_IMAGE_BYTES } from './image-input';

/** The image a command acts on: its argument (explorer, hover), the active image tab, or a pick. */
export async function chooseImage(arg: unknown, title: string): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (tab instanceof vscode.TabInputCustom && isImagePath(tab.uri.path)) return tab.uri;
  const picked = await vscode.window.showOpenDialog({
    title,
    canSelectMany: false,
    filters: { Images: [...IMAGE_EXTENSIONS] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0];
}

/** Several images for one question: the explorer's multi-selection or a pick. */
export async function chooseImages(arg: unknown, selection: unknown, title: string): Promise<vscode.Uri[]> {
  if (Array.isArray(selection) && selection.every((u) => u instanceof vscode.Uri) && selection.length > 0) return selection as vscode.Uri[];
  if (arg instanceof vscode.Uri) return [arg];
  const picked = await vscode.window.showOpenDialog({ title, canSelectMany: true, filters: { Images: [...IMAGE_EXTENSIONS] } });
  return picked ?? [];
}

/** The file's bytes, after checking that it is an image of a sensible size. */
export async function readImageFile(uri: vscode.Uri): Promise<Uint8Array> {
  if (!isImagePath(uri.path)) throw new UserError(`${uri.path.split('/').pop()} is not an image file (${IMAGE_EXTENSIONS.join(', ')}).`);
  const stat = await vscode.workspace.fs.stat(uri);
  if (stat.size > MAX_IMAGE_BYTES) throw new UserError(`${uri.path.split('/').pop()} is larger than ${MAX_IMAGE_BYTES >> 20} MB.`);
  return vscode.workspace.fs.readFile(uri);
}
