// The webview end of a panel's typed protocol: acquireVsCodeApi (injected by VS Code, callable
// once per page) wrapped so that messages and persisted state carry the protocol's types.

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export class Host<ToHost, State> {
  private readonly api = acquireVsCodeApi();

  post(message: ToHost): void {
    this.api.postMessage(message);
  }

  get state(): State | undefined {
    return (this.api.getState() as State | null) ?? undefined;
  }

  set state(state: State) {
    this.api.setState(state);
  }

  /**
   * Messages from the extension host. VS Code delivers them from its webview host frame, which
   * has this page's origin; a frame inside the page (the preview's sandboxed generated page) has
   * an opaque origin ("null") and is ignored, so it cannot pose as the host. (`event.source` is
   * no help: VS Code hides the real parent window from webview content.)
   */
  onMessage(handler: (message: unknown) => void): void {
    window.addEventListener('message', (event) => {
      if (event.origin !== window.origin) return;
      handler(event.data);
    });
  }
}
