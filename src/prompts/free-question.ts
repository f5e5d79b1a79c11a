// Task prompt: any question about zero or more images. The images come first, in the order the user
// gave them, then the question.
import type { ImageGrid, UserChunk } from '../worker/chat-format';
import { type TaskConversation, type TaskInfo, WRITING_TEMPERATURE } from './task';

export interface FreeQuestionInput<I extends ImageGrid> {
  images: I[];
  question: string;
}

const SYSTEM_PROMPT = [
  'You are a helpful assistant who answers questions about images accurately.',
  'Output format: answer in Markdown. Give the direct answer first, then the details in the images that support it. When there are several images, call them "image 1", "image 2" and so on, in the order they were given. If the images do not show what is needed to answer, say so instead of guessing.',
].join('\n\n');

export const freeQuestion = {
  id: 'free-question',
  version: 1,
  title: 'Ask about images',
  sampling: { temperature: WRITING_TEMPERATURE, maxTokens: 1024 },
  build<I extends ImageGrid>(input: FreeQuestionInput<I>): TaskConversation<I> {
    const content: UserChunk<I>[] = input.images.map((image) => ({ type: 'image', image }));
    content.push({ type: 'text', text: input.question });
    return { systemPrompt: SYSTEM_PROMPT, messages: [{ role: 'user', content }] };
  },
} satisfies TaskInfo;
