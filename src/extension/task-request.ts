// From a task prompt (src/prompts) to the request the backends take (src/worker/protocol.ts).
// The prompt builders are generic over the image type but ask for its patch grid, which only the
// worker's preprocessing knows; here an image travels as its reference with the grid left at 0,
// and the worker sizes it under `imageTokenBudget`.
import type { TaskConversation, TaskInfo } from '../prompts';
import type { ChatMessage as PromptMessage, ImageGrid, UserChunk } from '../worker/chat-format';
import type { ChatMessage, ContentPart, GenerationRequest, ImageRef } from '../worker/protocol';
import type { PixtralSettings } from './settings-values';

/** An image as the prompt builders carry it: its reference, grid unknown until preprocessing. */
export interface ImageSlot extends ImageGrid {
  ref: ImageRef;
}

export function imageSlot(ref: ImageRef): ImageSlot {
  return { ref, gridH: 0, gridW: 0 };
}

/** The user's generation settings override the task's defaults. */
export function samplingFor(task: Pick<TaskInfo, 'sampling'>, settings: Pick<PixtralSettings, 'maxTokens' | 'temperature'>): GenerationRequest['sampling'] {
  return {
    maxTokens: settings.maxTokens ?? task.sampling.maxTokens,
    temperature: settings.temperature ?? task.sampling.temperature,
  };
}

export function toGenerationRequest(
  conversation: TaskConversation<ImageSlot>,
  sampling: GenerationRequest['sampling'],
  imageTokenBudget: number,
): GenerationRequest {
  const messages = conversation.messages.map(toMessage);
  return { systemPrompt: conversation.systemPrompt, messages, sampling, imageTokenBudget };
}

/**
 * Puts more images in front of the first image of a one-image task's opening turn (a desktop and
 * a mobile mockup for one page): the model then sees all of them, in order, before the request.
 */
export function withExtraImages(conversation: TaskConversation<ImageSlot>, extra: readonly ImageSlot[]): TaskConversation<ImageSlot> {
  if (extra.length === 0) return conversation;
  const [first, ...rest] = conversation.messages;
  if (first?.role !== 'user' || typeof first.content === 'string') return conversation;
  const at = first.content.findIndex((chunk) => chunk.type === 'image');
  const content: UserChunk<ImageSlot>[] = [...first.content];
  content.splice(at < 0 ? 0 : at + 1, 0, ...extra.map((image) => ({ type: 'image' as const, image })));
  return { ...conversation, messages: [{ role: 'user', content }, ...rest] };
}

function toMessage(message: PromptMessage<ImageSlot>): ChatMessage {
  if (message.role === 'assistant' || typeof message.content === 'string') return { role: message.role, content: message.content } as ChatMessage;
  return { role: 'user', content: message.content.map(toPart) };
}

function toPart(chunk: UserChunk<ImageSlot>): ContentPart {
  return chunk.type === 'text' ? chunk : { type: 'image', image: chunk.image.ref };
}
