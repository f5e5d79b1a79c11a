// Static markup of the live preview panel (pure, so the browser tests render the same page).

export function previewPageBody(): string {
  return `    <main class="preview">
      <div class="toolbar" role="toolbar" aria-label="Preview width">
        <button type="button" id="desktop" aria-pressed="true">Desktop</button>
        <button type="button" id="mobile" aria-pressed="false">Mobile (390 px)</button>
        <span id="status" class="status" role="status" aria-live="polite"></span>
      </div>
      <div id="stage" class="stage"></div>
    </main>`;
}
