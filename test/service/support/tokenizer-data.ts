// Test support: where the synthetic tekken tokenizer lives and the expected ids of
// ../shared/tokenizer/tekken-test.expected.json, for the tokenizer, chat, prompt and CLI tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChatMessage } from '../../../src/worker/chat-format';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const TOKENIZER_DIR = path.resolve(REPO_ROOT, '../shared/tokenizer');
export const TEST_TOKENIZER = path.join(TOKENIZER_DIR, 'tekken-test.json');

interface FileChunk {
  type: 'text' | 'image';
  text?: string;
  grid_hw?: [number, number];
}

export interface Expected {
  tokenizer_sha256: string;
  num_special_tokens: number;
  vocab_size: number;
  special_ids: Record<string, number>;
  encode_cases: { name: string; text: string; ids: number[] }[];
  chat_cases: {
    name: string;
    messages: ({ role: 'user'; content: FileChunk[] } | { role: 'assistant'; content: string })[];
    system_prompt: string | null;
    ids: number[];
  }[];
}

export const expected: Expected = JSON.parse(readFileSync(path.join(TOKENIZER_DIR, 'tekken-test.expected.json'), 'utf8'));

/** The expected file describes images as `grid_hw: [h, w]`; the product as `image: {gridH, gridW}`. */
export function toChatMessages(messages: Expected['chat_cases'][number]['messages']): ChatMessage[] {
  return messages.map((m) =>
    m.role === 'assistant'
      ? m
      : {
          role: 'user',
          content: m.content.map((c) =>
            c.type === 'text' ? { type: 'text', text: c.text! } : { type: 'image', image: { gridH: c.grid_hw![0], gridW: c.grid_hw![1] } },
          ),
        },
  );
}
