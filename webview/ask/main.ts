// The "Ask about this image" chat app: shows the conversation the host sends (answers rendered
// from Markdown as text nodes), collects the next question with its images (paste, drop, file
// dialog), and persists the conversation with setState for VS Code restarts.
import type { AskImage, AskState, AskToHost, AskToWebview } from '../../src/extension/ask/protocol';
import { droppedUris, imageFilesOf, readImageFile } from '../shared/image-files';
import { renderMarkdown } from '../shared/markdown';
import { Host } from '../shared/vscode-api';

const host = new Host<AskToHost, AskState>();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const turnsList = $<HTMLOListElement>('turns');
const attachments = $<HTMLUListElement>('attachments');
const question = $<HTMLTextAreaElement>('question');
const send = $<HTMLButtonElement>('send');
const stop = $<HTMLButtonElement>('stop');
const statusLine = $<HTMLParagraphElement>('status');
const errorLine = $<HTMLParagraphElement>('error');

let state: AskState = host.state ?? { turns: [], busy: false, stage: '', error: undefined };
let pending: AskImage[] = [];
/** A problem found in the page itself (an unreadable image, a first question without one); the host's come in `state.error`. */
let notice = '';
/** The answer element of the last turn, for streamed pieces. */
let lastAnswer: HTMLElement | undefined;

function thumbnails(images: AskImage[], removable: boolean): HTMLUListElement {
  const list = document.createElement('ul');
  list.className = 'thumbs';
  images.forEach((image, index) => {
    const li = document.createElement('li');
    const img = document.createElement('img');
    img.src = image.dataUrl;
    img.alt = image.name;
    img.title = image.name;
    li.append(img);
    if (removable) {
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Remove ${image.name}`);
      remove.addEventListener('click', () => {
        pending = pending.filter((_, i) => i !== index);
        renderAttachments();
        // The focused button went with its image: keep the keyboard user in the list, or on the question.
        const buttons = attachments.querySelectorAll('button');
        (buttons[Math.min(index, buttons.length - 1)] ?? question).focus();
      });
      li.append(remove);
    }
    list.append(li);
  });
  return list;
}

function renderAttachments(): void {
  attachments.replaceChildren(...Array.from(thumbnails(pending, true).children));
}

function renderTurns(): void {
  turnsList.replaceChildren(
    ...state.turns.map((turn) => {
      const li = document.createElement('li');
      li.className = 'turn';
      const q = document.createElement('div');
      q.className = 'question';
      q.textContent = turn.question;
      const a = document.createElement('div');
      a.className = 'answer';
      a.dataset.raw = turn.answer;
      a.append(renderMarkdown(turn.answer));
      if (turn.stopped) a.classList.add('stopped');
      li.append(thumbnails(turn.images, false), q, a);
      return li;
    }),
  );
  lastAnswer = turnsList.lastElementChild?.querySelector<HTMLElement>('.answer') ?? undefined;
}

function renderStatus(): void {
  send.disabled = state.busy;
  stop.disabled = !state.busy;
  statusLine.textContent = state.stage;
  const error = notice || state.error || '';
  errorLine.textContent = error;
  errorLine.hidden = !error;
  host.state = state;
}

function showNotice(text: string): void {
  notice = text;
  renderStatus();
}

function submit(): void {
  if (state.busy || !question.value.trim()) return;
  // The host refuses a first question without an image; refusing it here keeps what was typed.
  if (state.turns.length === 0 && pending.length === 0) {
    showNotice('Add at least one image to ask about: paste it, drop it here, or use Add Images….');
    return;
  }
  host.post({ type: 'ask', question: question.value, images: pending });
  question.value = '';
  pending = [];
  renderAttachments();
  showNotice('');
  // The Ask button is disabled until the answer ends; the next question is typed here.
  question.focus();
}

$<HTMLFormElement>('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  submit();
});
question.addEventListener('keydown', (e) => {
  // Enter sends, as in other chats; Shift+Enter starts a new line, and an Enter that confirms an
  // input method's composition (Japanese, Chinese, ...) belongs to the input method.
  if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});
stop.addEventListener('click', () => host.post({ type: 'stop' }));
$<HTMLButtonElement>('new').addEventListener('click', () => host.post({ type: 'newConversation' }));
$<HTMLButtonElement>('attach').addEventListener('click', () => host.post({ type: 'pickImages' }));

async function addFiles(files: File[]): Promise<void> {
  let problem = '';
  for (const file of files) {
    try {
      pending.push(await readImageFile(file));
    } catch (err) {
      problem = (err as Error).message; // the other images are still added
    }
  }
  renderAttachments();
  showNotice(problem);
}

document.addEventListener('paste', (e) => {
  const files = imageFilesOf(e.clipboardData);
  if (files.length === 0) return;
  e.preventDefault();
  void addFiles(files);
});
// On the document, not the body: the body is only as tall as the conversation, and a drop below
// it would otherwise be the browser's (which navigates to the file).
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  const files = imageFilesOf(e.dataTransfer);
  if (files.length > 0) void addFiles(files);
  else {
    const uris = droppedUris(e.dataTransfer);
    if (uris.length > 0) host.post({ type: 'dropUris', uris });
  }
});

host.onMessage((data) => {
  const message = data as AskToWebview;
  if (message.type === 'state') {
    state = message.state;
    renderTurns();
    renderStatus();
  } else if (message.type === 'answer' && lastAnswer) {
    const raw = (lastAnswer.dataset.raw ?? '') + message.text;
    lastAnswer.dataset.raw = raw;
    lastAnswer.replaceChildren(renderMarkdown(raw));
    const turn = state.turns.at(-1);
    if (turn) turn.answer = raw;
  } else if (message.type === 'addImages') {
    pending.push(...message.images);
    renderAttachments();
    showNotice('');
  }
});

renderTurns();
renderStatus();
host.post({ type: 'ready' });
