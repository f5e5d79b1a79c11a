// The live preview's messages, both ways. Imported by preview-panel.ts and webview/preview/.

export type PreviewToHost = { type: 'ready' };

export type PreviewToWebview =
  /** Sent once per page load: the bundled Tailwind browser build, run inside the preview frame. */
  | { type: 'tailwind'; source: string }
  /** The page so far (`final` once generation ended). */
  | { type: 'render'; html: string; final: boolean };

export interface PreviewState {
  width: 'desktop' | 'mobile';
}

export const PREVIEW_VIEW_TYPE = 'pixtral.preview';
