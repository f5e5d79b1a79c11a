// Puts one of our webview pages (webview/<name>/ bundled to dist/webview/<name>.js, styled by
// media/base.css and media/<name>.css) into a webview panel: what every panel host does the same
// way in `attach`, so the trust settings below are written once.
import * as vscode from 'vscode';
import { makeNonce, renderPage, type WebviewPage } from './webview-page';

export interface PanelPage extends Pick<WebviewPage, 'title' | 'body' | 'extra'> {
  /** The page's folder under webview/, which names its script and its stylesheet. */
  name: string;
}

export function showPage(webview: vscode.Webview, extensionUri: vscode.Uri, page: PanelPage): void {
  const media = vscode.Uri.joinPath(extensionUri, 'media');
  const scripts = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  // Trust boundary: the webview runs only our bundled script (nonce and policy: webview-page.ts)
  // and may load only our media and scripts, never workspace files.
  webview.options = { enableScripts: true, localResourceRoots: [media, scripts] };
  webview.html = renderPage({
    title: page.title,
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    styles: ['base.css', `${page.name}.css`].map((file) => webview.asWebviewUri(vscode.Uri.joinPath(media, file)).toString()),
    scripts: [webview.asWebviewUri(vscode.Uri.joinPath(scripts, `${page.name}.js`)).toString()],
    body: page.body,
    extra: page.extra,
  });
}
