// The live preview app: renders each version of the generated page the host sends into the
// sandboxed frames, at desktop or mobile width (kept with setState).
import type { PreviewState, PreviewToHost, PreviewToWebview } from '../../src/extension/preview/protocol';
import { Host } from '../shared/vscode-api';
import { Frames } from './frames';
import { pageDocument } from './page-document';

const host = new Host<PreviewToHost, PreviewState>();
// The nonce this page was loaded with; the frames inherit the page's policy (page-document.ts).
const nonce = (document.currentScript as HTMLScriptElement | null)?.nonce ?? '';
const frames = new Frames(document.getElementById('stage')!);
const desktop = document.getElementById('desktop') as HTMLButtonElement;
const mobile = document.getElementById('mobile') as HTMLButtonElement;
const statusLine = document.getElementById('status')!;
let tailwind = '';
let state: PreviewState = host.state ?? { width: 'desktop' };

function applyWidth(): void {
  frames.setWidth(state.width === 'mobile' ? '390px' : '100%');
  desktop.setAttribute('aria-pressed', String(state.width === 'desktop'));
  mobile.setAttribute('aria-pressed', String(state.width === 'mobile'));
  host.state = state;
}

desktop.addEventListener('click', () => ((state = { width: 'desktop' }), applyWidth()));
mobile.addEventListener('click', () => ((state = { width: 'mobile' }), applyWidth()));

host.onMessage((data) => {
  const message = data as PreviewToWebview;
  if (message.type === 'tailwind') {
    tailwind = message.source;
  } else if (message.type === 'render') {
    statusLine.textContent = message.html ? (message.final ? '' : 'Generating…') : 'Nothing generated yet.';
    if (message.html) frames.show(pageDocument(message.html, { nonce, tailwind }));
  }
});

applyWidth();
host.post({ type: 'ready' });
