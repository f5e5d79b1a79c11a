// The README's main command, as the README writes it, on a machine with no model of the user's:
// the small built-in sketch model answers, and what it prints for the example sketch is one whole
// HTML page that parses without a single error and lays out a page (header, sections, text).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse, type DefaultTreeAdapterMap } from 'parse5';

const ROOT = path.resolve(__dirname, '..', '..');

type Element = DefaultTreeAdapterMap['element'];

/** The `node dist/cli.js …` part of the README's quick-start command. */
async function readmeCommand(): Promise<string[]> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => /^npm ci && node dist\/cli\.js /.test(l));
  assert.ok(line, 'the README gives the quick-start command');
  return line.split(' && ')[1].split(' ');
}

function elements(node: DefaultTreeAdapterMap['parentNode']): Element[] {
  const out: Element[] = [];
  for (const child of node.childNodes) {
    if ('tagName' in child) out.push(child, ...elements(child));
  }
  return out;
}

test('the README\'s main command writes a real page for the example sketch with the built-in model', async () => {
  const [node, ...args] = await readmeCommand();
  assert.equal(node, 'node');
  const home = await mkdtemp(path.join(tmpdir(), 'pixtral-readme-'));
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HF_|HUGGING|PIXTRAL_)/.test(k)));
    // --seed: the task samples (temperature 0.35); a fixed seed makes the check repeatable.
    const child = spawn(process.execPath, [...args, '--seed', '7'], { cwd: ROOT, env: { ...env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /answering with the small built-in sketch model/);

    const errors: string[] = [];
    const doc = parse(stdout, { onParseError: (e) => errors.push(`${e.code} at line ${e.startLine}`) });
    assert.deepEqual(errors, [], `the page parses cleanly:\n${stdout}`);
    assert.match(stdout, /^<!DOCTYPE html>/i);
    assert.match(stdout.trimEnd(), /<\/html>$/i);
    const all = elements(doc);
    const body = all.find((e) => e.tagName === 'body');
    assert.ok(body, 'a body');
    const inBody = elements(body);
    const tags = new Set(inBody.map((e) => e.tagName));
    assert.ok(tags.has('header') || tags.has('nav'), `a header or navigation among ${[...tags].join(', ')}`);
    assert.ok(inBody.length >= 8, `a page of elements, not a stub (${inBody.length})`);
    assert.ok(all.some((e) => e.tagName === 'style'), 'its own stylesheet');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
