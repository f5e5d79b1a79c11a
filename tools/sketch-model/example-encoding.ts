// Training-data stage 1: one example (image + target text) -> exactly what the product feeds the
// model for it: the prompt token ids with the image's [IMG]/[IMG_BREAK]/[IMG_END] block, the image
// at its final patch-grid size, and the target ids + EOS. Built from the product's own pieces (task
// prompts, request builder, image preprocessing, chat format, tokenizer), so the model is trained on
// the very prompts the CLI and the extension send.
import { chartToTable, htmlFromSketch } from '../../src/prompts/index';
import { samplingFor, toGenerationRequest } from '../../src/service/task-request';
import { buildChatPrompt, type ChatMessage } from '../../src/worker/chat-format';
import { DEFAULT_TOKEN_BUDGETS } from '../../src/worker/image/budgets';
import { CLIP_MEAN, CLIP_STD } from '../../src/worker/image/normalize';
import { prepareImage, type PreparedImage } from '../../src/worker/image/preprocess';
import type { GenerationRequest, ImageRef } from '../../src/worker/protocol';
import type { TekkenTokenizer } from '../../src/worker/tokenizer';

export type ExampleTask = 'sketch' | 'screenshot' | 'chart';

/** The vision geometry of the model (params.json vision_encoder), which bounds the grid. */
export interface VisionGeometry {
  imageSize: number;
  patchSize: number;
}

export interface EncodedExample {
  /** [BOS] … [/INST], as the worker builds it. */
  promptIds: number[];
  /** The target's ids followed by EOS. */
  targetIds: number[];
  /** Leading prompt ids shared by every example of the same prompt (up to the first [IMG]). */
  prefixLength: number;
  gridH: number;
  gridW: number;
  /** [16·gridH, 16·gridW, 3] RGB: the preprocessed image before normalisation, rounded to bytes. */
  rgb: Uint8Array;
}

/** The request the product sends for this task and image: the CLI's `html` and `table` commands. */
export function taskRequest(task: ExampleTask, image: ImageRef): GenerationRequest {
  if (task === 'chart') {
    return toGenerationRequest(chartToTable.build({ image, format: 'csv' }), samplingFor(chartToTable, {}));
  }
  const conversation = htmlFromSketch.build({ images: [image], target: 'html-css' });
  return toGenerationRequest(conversation, samplingFor(htmlFromSketch, {}), DEFAULT_TOKEN_BUDGETS.sketchToHtml);
}

/** The worker's steps for a request: preprocess every image, then the chat prompt over their grids. */
export async function workerPrompt(tokenizer: TekkenTokenizer, vision: VisionGeometry, request: GenerationRequest) {
  const images: PreparedImage[] = [];
  const messages = [] as ChatMessage<PreparedImage>[];
  for (const message of request.messages) {
    if (message.role === 'assistant' || typeof message.content === 'string') {
      messages.push(message as ChatMessage<PreparedImage>);
      continue;
    }
    const content = [];
    for (const part of message.content) {
      if (part.type === 'text') {
        content.push(part);
        continue;
      }
      const ref = part.image;
      const input = 'path' in ref ? ref.path : Buffer.from(ref.data);
      const prepared = await prepareImage(input, { maxImageSize: vision.imageSize, patchSize: vision.patchSize, tokenBudget: request.imageTokenBudget });
      images.push(prepared);
      content.push({ type: 'image' as const, image: prepared });
    }
    messages.push({ role: 'user', content });
  }
  return buildChatPrompt(tokenizer, messages, { systemPrompt: request.systemPrompt });
}

export async function encodeExample(
  tokenizer: TekkenTokenizer,
  vision: VisionGeometry,
  example: { task: ExampleTask; imagePath: string; target: string },
): Promise<EncodedExample> {
  const prompt = await workerPrompt(tokenizer, vision, taskRequest(example.task, { path: example.imagePath }));
  if (prompt.images.length !== 1) throw new Error(`expected one image in the prompt, got ${prompt.images.length}`);
  const [image] = prompt.images;
  return {
    promptIds: prompt.ids,
    targetIds: [...tokenizer.encode(example.target), tokenizer.eos],
    prefixLength: prompt.ids.indexOf(tokenizer.img),
    gridH: image.gridH,
    gridW: image.gridW,
    rgb: denormalize(image),
  };
}

/** Inverse of normalizeToChw, rounded and clamped to bytes: [3, H, W] normalised -> [H, W, 3] uint8.
 * The cubic resize's overshoot beyond 0…255 and its fractions are lost (≤ 0.5/255 per channel). */
export function denormalize(image: PreparedImage): Uint8Array {
  const plane = image.width * image.height;
  const out = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const scale = 255 * CLIP_STD[c];
    const offset = (CLIP_MEAN[c] / CLIP_STD[c]) * scale;
    for (let p = 0; p < plane; p++) {
      const v = Math.round(image.pixels[c * plane + p] * scale + offset);
      out[3 * p + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
