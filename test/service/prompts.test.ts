// Golden token ids of every task prompt (src/prompts/) with the synthetic tekken-test tokenizer, so
// any change to a prompt's text or message layout is seen and must come with a version bump.
// After reviewing a deliberate change: UPDATE_GOLDEN=1 node --import tsx --test test/service/prompts.test.ts
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  chartExplain,
  chartToTable,
  freeQuestion,
  htmlFromSketch,
  htmlRefine,
  TASKS,
  tableTranscribe,
  type TaskConversation,
  type TaskInfo,
} from '../../src/prompts';
import { buildChatPrompt, type ImageGrid } from '../../src/worker/chat-format';
import { TekkenTokenizer } from '../../src/worker/tokenizer';
import { TEST_TOKENIZER } from './support/tokenizer-data';

const GOLDEN_FILE = path.join(__dirname, 'golden', 'prompts.tekken-test.json');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

interface GoldenCase {
  /** The prompt with special tokens by name, for reading diffs; the ids are what is pinned. */
  text: string;
  ids: number[];
}
type Golden = Record<string, { version: number; cases: Record<string, GoldenCase> }>;

const tok = TekkenTokenizer.fromFile(TEST_TOKENIZER);
const golden: Golden = existsSync(GOLDEN_FILE) ? JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) : {};
const updated: Golden = {};
after(() => {
  tok.dispose();
  // One line per id array keeps the file short and its diffs readable.
  const json = JSON.stringify(updated, null, 1).replace(/\[[\d,\s]*\]/g, (ids) => ids.replace(/\s+/g, ''));
  if (UPDATE) writeFileSync(GOLDEN_FILE, `${json}\n`);
});

const sketch: ImageGrid = { gridH: 2, gridW: 3 };
const chart: ImageGrid = { gridH: 3, gridW: 2 };
const page = '<!DOCTYPE html>\n<html>\n<head><style>button { color: red; }</style></head>\n<body><button>Buy</button></body>\n</html>';

// Example inputs per task; each case name is a key of the golden file.
const examples: [TaskInfo, Record<string, TaskConversation<ImageGrid>>][] = [
  [htmlFromSketch, {
    'html-css': htmlFromSketch.build({ images: [sketch], target: 'html-css' }),
    'html-tailwind-with-notes': htmlFromSketch.build({ images: [sketch], target: 'html-tailwind', notes: 'Dark theme, menu on the left.' }),
    'desktop-and-mobile': htmlFromSketch.build({ images: [sketch, { gridH: 3, gridW: 1 }], target: 'html-css' }),
  }],
  [htmlRefine, {
    'one-round': htmlRefine.build({ images: [sketch], target: 'html-css', initialHtml: page, instruction: 'Make the button blue.' }),
    'after-follow-ups': htmlRefine.build({
      images: [sketch],
      target: 'html-tailwind',
      initialHtml: page,
      followUps: [{ instruction: 'Make the button blue.', html: page.replace('red', 'blue') }],
      instruction: 'Add a footer.',
    }),
  }],
  [chartExplain, {
    plain: chartExplain.build({ image: chart }),
    'with-focus': chartExplain.build({ image: chart, focus: 'the 2020 dip' }),
  }],
  [chartToTable, {
    csv: chartToTable.build({ image: chart, format: 'csv' }),
    markdown: chartToTable.build({ image: chart, format: 'markdown' }),
  }],
  [tableTranscribe, {
    html: tableTranscribe.build({ image: chart, format: 'html' }),
    markdown: tableTranscribe.build({ image: chart, format: 'markdown' }),
  }],
  [freeQuestion, {
    'two-images': freeQuestion.build({ images: [sketch, { gridH: 1, gridW: 2 }], question: 'Which of these two designs is easier to read?' }),
    'no-image': freeQuestion.build({ images: [], question: 'What is a bar chart?' }),
  }],
];

test('every task has examples here', () => {
  assert.deepEqual(examples.map(([task]) => task.id).sort(), TASKS.map((t) => t.id).sort());
});

for (const [task, cases] of examples) {
  describe(`${task.id} v${task.version}`, () => {
    test('states its output format and its default sampling', () => {
      for (const conversation of Object.values(cases)) assert.match(conversation.systemPrompt, /Output format: /);
      const transcription = task.id === 'chart-to-table' || task.id === 'table-transcribe';
      assert.equal(task.sampling.temperature, transcription ? 0 : 0.35);
      assert.ok(task.sampling.maxTokens >= 1024);
    });

    for (const [name, conversation] of Object.entries(cases)) {
      test(`${name}: golden ids`, () => {
        const { ids, images } = buildChatPrompt(tok, conversation.messages, { systemPrompt: conversation.systemPrompt });
        checkStructure(ids, images, conversation);
        const actual: GoldenCase = { text: tok.decode(ids, { keepSpecial: true }), ids };
        if (UPDATE) {
          updated[task.id] ??= { version: task.version, cases: {} };
          updated[task.id].cases[name] = actual;
          return;
        }
        const pinned = golden[task.id];
        assert.ok(pinned, `no golden ids for ${task.id}; review the prompt, then rerun with UPDATE_GOLDEN=1`);
        assert.equal(task.version, pinned.version, `${task.id} is now v${task.version} but the golden ids are v${pinned.version}; review, then rerun with UPDATE_GOLDEN=1`);
        assert.deepEqual(actual, pinned.cases[name], `the prompt of ${task.id} changed without a version bump`);
      });
    }
  });
}

/** What must hold whatever the wording: the frame, the image count, the system prompt's place. */
function checkStructure(ids: number[], images: ImageGrid[], conversation: TaskConversation<ImageGrid>): void {
  assert.deepEqual(ids.slice(0, 2), [tok.bos, tok.inst]);
  assert.equal(ids.at(-1), tok.endInst);
  const imageTokens = images.reduce((n, i) => n + i.gridH * i.gridW, 0);
  assert.equal(ids.filter((id) => id === tok.img).length, imageTokens);
  const lastTurn = ids.slice(ids.lastIndexOf(tok.inst) + 1, -1);
  assert.ok(tok.decode(lastTurn).startsWith(`${conversation.systemPrompt}\n\n`), 'the system prompt opens the last user turn');
  assert.equal(ids.filter((id) => id === tok.eos).length, conversation.messages.filter((m) => m.role === 'assistant').length);
}
