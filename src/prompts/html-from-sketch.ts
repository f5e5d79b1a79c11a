// Task prompt: a sketch, wireframe or screenshot (or several of one page, such as a desktop and a
// mobile mockup) becomes one self-contained HTML page, plain CSS or Tailwind. Its system prompt and
// first user turn are reused by html-refine.ts for follow-ups.
import type { ChatMessage } from '../worker/chat-format';
import { type TaskConversation, type TaskInfo, userTurn, WRITING_TEMPERATURE } from './task';

export type HtmlTarget = 'html-css' | 'html-tailwind';

export interface HtmlFromSketchInput<I> {
  /** One or more images of the same page, e.g. a desktop and a mobile mockup of a responsive page. */
  images: readonly I[];
  target: HtmlTarget;
  /** Extra wishes typed by the user, added to the request. */
  notes?: string;
}

const ROLE = 'You are an expert front-end developer. You turn UI sketches, wireframes and screenshots into working web pages.';

const STYLING: Record<HtmlTarget, string> = {
  'html-css':
    'Styling: plain HTML and CSS. Put all CSS in one <style> element in the <head>. Use no external stylesheets, fonts, scripts or frameworks.',
  'html-tailwind':
    'Styling: Tailwind CSS utility classes. Load Tailwind with <script src="https://cdn.tailwindcss.com"></script> in the <head>; it is the only external resource allowed. Write no other CSS unless a utility cannot express it.',
};

const FIDELITY = [
  'Rules:',
  '- Reproduce the layout, the order of the elements, the visible text and the colours of the image as closely as you can.',
  '- In hand-drawn sketches, boxes are containers, wavy lines are text, and crossed-out boxes are images.',
  '- Use semantic elements (header, nav, main, section, footer, button, form, label, table) and make the page work on narrow screens.',
  '- Draw icons and pictures as inline SVG or as grey placeholder boxes; never link to files that do not exist.',
  '- If some text cannot be read, write short plausible text in its place.',
].join('\n');

/** The output contract shared with the refinement task: one whole file, code only. */
export function htmlOutputFormat(target: HtmlTarget): string {
  return [
    'Output format: reply with one complete, self-contained HTML file and nothing else. Start with <!DOCTYPE html> and end with </html>. Do not wrap the code in Markdown code fences and do not add any explanation before or after it.',
    STYLING[target],
  ].join('\n');
}

export function htmlSystemPrompt(target: HtmlTarget): string {
  return [ROLE, htmlOutputFormat(target), FIDELITY].join('\n\n');
}

/** The user's first turn: every image, in order, then the request to build the page. */
export function sketchRequest<I>(input: HtmlFromSketchInput<I>): ChatMessage<I> {
  const notes = input.notes?.trim();
  const text = notes ? `Build this page as HTML.\nAdditional instructions: ${notes}` : 'Build this page as HTML.';
  return userTurn(input.images, text);
}

export const htmlFromSketch = {
  id: 'html-from-sketch',
  version: 1,
  title: 'HTML from a sketch or screenshot',
  sampling: { temperature: WRITING_TEMPERATURE, maxTokens: 4096 },
  build<I>(input: HtmlFromSketchInput<I>): TaskConversation<I> {
    return { systemPrompt: htmlSystemPrompt(input.target), messages: [sketchRequest(input)] };
  },
} satisfies TaskInfo;
