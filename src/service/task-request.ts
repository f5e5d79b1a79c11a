// Task prompt (src/prompts/) -> GenerationRequest, on the client side (CLI, extension). The task
// builders are typed over images with a patch grid, which only the worker knows after
// preprocessing; here each image is an ImageSlot carrying its file or bytes, and its grid fields
// are placeholders the worker replaces (no task reads them).
import type { TaskConversation } from '../prompts/task';
import type { ImageGrid } from '../worker/chat-format';
import type { ChatMessage, ContentPart, GenerationRequest, ImageRef, SamplingParams } from '../worker/protocol';

export interface ImageSlot extends ImageGrid {
  ref: ImageRef;
}

export function imageSlot(ref: ImageRef): ImageSlot {
  return { gridH: 0, gridW: 0, ref };
}

export function toGenerationRequest(conversation: TaskConversation<ImageSlot>, sampling: SamplingParams, imageTokenBudget?: number): GenerationRequest {
  const messages = conversation.messages.map((message): ChatMessage => {
    if (message.role === 'assistant') return message;
    if (typeof message.content === 'string') return { role: 'user', content: message.content };
    return { role: 'user', content: message.content.map((chunk): ContentPart => (chunk.type === 'image' ? { type: 'image', image: chunk.image.ref } : chunk)) };
  });
  return { systemPrompt: conversation.systemPrompt, messages, sampling, imageTokenBudget };
}
