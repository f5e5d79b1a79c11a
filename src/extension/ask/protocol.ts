// The "Ask about this image" chat's messages, both ways, and its state. Imported by the host
// (ask-panel.ts) and the webview app (webview/ask/).

export interface AskImage {
  name: string;
  /** data:image/...;base64,... */
  dataUrl: string;
}

export interface AskTurn {
  question: string;
  images: AskImage[];
  /** Grows while the answer streams. */
  answer: string;
  /** The answer was stopped before its end (it stays visible but is not sent as context). */
  stopped?: boolean;
}

/** Everything the chat shows; also what the webview persists for VS Code restarts. */
export interface AskState {
  turns: AskTurn[];
  busy: boolean;
  stage: string;
  error: string | undefined;
}

export type AskToHost =
  | { type: 'ready' }
  | { type: 'ask'; question: string; images: AskImage[] }
  | { type: 'stop' }
  | { type: 'newConversation' }
  /** Opens a file dialog on the host; chosen images come back as `addImages`. */
  | { type: 'pickImages' }
  | { type: 'dropUris'; uris: string[] };

export type AskToWebview =
  | { type: 'state'; state: AskState }
  /** The next piece of the last turn's answer (the full state is not resent per token). */
  | { type: 'answer'; text: string }
  | { type: 'addImages'; images: AskImage[] };

export const ASK_VIEW_TYPE = 'pixtral.ask';
