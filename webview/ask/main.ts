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
  errorLine.textContent = state.error ?? '';
  errorLine.hidden = !state.error;
  host.state = state;
}

function submit(): void {
  if (state.busy || !question.value.trim()) return;
  host.post({ type: 'ask', question: question.value, images: pending });
  question.value = '';
  pending = [];
  renderAttachments();
}

$<HTMLFormElement>('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  submit();
});
question.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    submit();
  }
});
stop.addEventListener('click', () => host.post({ type: 'stop' }));
$<HTMLButtonElement>('new').addEventListener('click', () => host.post({ type: 'newConversation' }));
$<HTMLButtonElement>('attach').addEventListener('click', () => host.post({ type: 'pickImages' }));

async function addFiles(files: File[]): Promise<void> {
  for (const file of files) pending.push(await readImageFile(file));
  renderAttachments();
}

document.addEventListener('paste', (e) => {
  const files = imageFilesOf(e.clipboardData);
  if (files.length === 0) return;
  e.preventDefault();
  void addFiles(files);
});
document.body.addEventListener('dragover', (e) => e.preventDefault());
document.body.addEventListener('drop', (e) => {
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
  }
});

renderTurns();
renderStatus();
host.post({ type: 'ready' });
