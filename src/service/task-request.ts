// Task prompt (src/prompts/) -> GenerationRequest, on the client side (CLI, extension). A task
// conversation over image references already is the request's message list: the worker
// preprocesses each image and sizes it under `imageTokenBudget`.
import type { Sampling, TaskConversation, TaskInfo } from '../prompts/task';
import type { GenerationRequest, ImageRef, SamplingParams } from '../worker/protocol';

/** The user's overrides (settings, command-line flags) win over the task's defaults. */
export function samplingFor(task: Pick<TaskInfo, 'sampling'>, overrides: Partial<Sampling>): Sampling {
  return {
    maxTokens: overrides.maxTokens ?? task.sampling.maxTokens,
    temperature: overrides.temperature ?? task.sampling.temperature,
  };
}

/** Our own conversations keep the system prompt in their first message, so each follow-up (refine,
 *  chat) finds the previous turn's KV cache as its prefix and prefills only what is new. */
export function toGenerationRequest(conversation: TaskConversation<ImageRef>, sampling: SamplingParams, imageTokenBudget?: number): GenerationRequest {
  return { systemPrompt: conversation.systemPrompt, systemPromptPlacement: 'first-user', messages: conversation.messages, sampling, imageTokenBudget };
}
