// Task prompt: any question about zero or more images. The images come first, in the order the user
// gave them, then the question.
import { type TaskConversation, type TaskInfo, userTurn, WRITING_TEMPERATURE } from './task';

export interface FreeQuestionInput<I> {
  images: readonly I[];
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
  build<I>(input: FreeQuestionInput<I>): TaskConversation<I> {
    return { systemPrompt: SYSTEM_PROMPT, messages: [userTurn(input.images, input.question)] };
  },
} satisfies TaskInfo;
