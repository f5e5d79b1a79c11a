// Static markup of the "Ask about this image" chat (pure, so the browser tests render the same page).

export function askPageBody(): string {
  return `    <main class="ask">
      <ol id="turns" class="turns" aria-label="Conversation" aria-live="polite"></ol>
      <p id="status" class="status" role="status"></p>
      <p id="error" class="error" role="alert" hidden></p>
      <form id="composer" class="composer">
        <ul id="attachments" class="attachments" aria-label="Images for the next question"></ul>
        <label for="question" class="visually-hidden">Question</label>
        <textarea id="question" rows="3" placeholder="Ask about the images (Enter to send, Shift+Enter for a new line). Paste or drop images here."></textarea>
        <div class="actions">
          <button type="button" id="attach">Add Images…</button>
          <button type="submit" id="send" class="primary">Ask</button>
          <button type="button" id="stop" disabled>Stop</button>
          <button type="button" id="new">New Conversation</button>
        </div>
      </form>
    </main>`;
}
