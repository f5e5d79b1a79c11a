// Two sandboxed frames shown in turn: the next version of the page loads in the hidden one and
// replaces the visible one only once loaded, so the preview does not flash while the page grows.
//
// Trust boundary: sandbox="allow-scripts" without allow-same-origin gives the page an opaque
// origin: its scripts cannot touch this webview's DOM, storage or VS Code API, and cannot open
// windows, submit forms or navigate the webview.

export class Frames {
  private readonly frames: [HTMLIFrameElement, HTMLIFrameElement];
  private visible = 0;
  private loading: number | undefined;

  constructor(stage: HTMLElement) {
    this.frames = [this.create(), this.create()];
    this.frames[1].hidden = true;
    stage.append(...this.frames);
  }

  show(srcdoc: string): void {
    const next = 1 - this.visible;
    const frame = this.frames[next];
    this.loading = next;
    frame.onload = () => {
      if (this.loading !== next) return; // a newer version started loading meanwhile
      this.loading = undefined;
      this.frames[this.visible].hidden = true;
      frame.hidden = false;
      this.visible = next;
    };
    frame.srcdoc = srcdoc;
  }

  setWidth(width: string): void {
    for (const frame of this.frames) frame.style.width = width;
  }

  private create(): HTMLIFrameElement {
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', 'allow-scripts');
    frame.title = 'Generated page';
    frame.className = 'page';
    return frame;
  }
}
