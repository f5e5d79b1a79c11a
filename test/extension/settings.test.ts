// The settings rules and the manifest that declares them: defaults agree, bad values fall back,
// every command is declared once under "Pixtral", and nothing activates at start-up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { COMMANDS } from '../../src/extension/command-ids';
import { DEFAULT_SETTINGS, parseSettings, SETTING_KEYS } from '../../src/extension/settings-values';
import { DEFAULT_TOKEN_BUDGETS } from '../../src/worker/image/budgets';

const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
const properties: Record<string, { default: unknown; enum?: string[] }> = manifest.contributes.configuration.properties;

test('package.json declares every setting with the default the extension assumes', () => {
  for (const [field, key] of Object.entries(SETTING_KEYS)) {
    const declared = properties[`pixtral.${key}`];
    assert.ok(declared, `pixtral.${key} is declared`);
    const expected = DEFAULT_SETTINGS[field as keyof typeof DEFAULT_SETTINGS];
    assert.deepEqual(declared.default ?? undefined, expected, `default of pixtral.${key}`);
  }
  assert.equal(Object.keys(properties).length, Object.keys(SETTING_KEYS).length);
  assert.deepEqual(properties['pixtral.backend'].enum, ['auto', 'cpu', 'cuda', 'webgpu', 'remote']);
});

test('image token budgets default to the image stage\'s budgets per use', () => {
  assert.equal(DEFAULT_SETTINGS.imageTokenBudget, DEFAULT_TOKEN_BUDGETS.sketchToHtml);
  assert.equal(DEFAULT_SETTINGS.hoverTokenBudget, DEFAULT_TOKEN_BUDGETS.chartHover);
});

test('parseSettings keeps good values and replaces wrong ones with defaults', () => {
  const raw: Record<string, unknown> = {
    'model.folder': '  /models/pixtral  ',
    backend: 'remote',
    'generation.maxTokens': 512,
    'generation.temperature': 0.7,
    'html.outputTarget': 'html-tailwind',
    'image.tokenBudget': 1000,
    'model.kvCache': 'q8_0',
  };
  const s = parseSettings((k) => raw[k]);
  assert.equal(s.modelFolder, '/models/pixtral');
  assert.equal(s.backend, 'remote');
  assert.equal(s.maxTokens, 512);
  assert.equal(s.temperature, 0.7);
  assert.equal(s.outputTarget, 'html-tailwind');
  assert.equal(s.imageTokenBudget, 1000);
  assert.equal(s.kvCache, 'q8_0');

  const bad: Record<string, unknown> = {
    backend: 'tpu',
    'generation.maxTokens': -3,
    'generation.temperature': 'hot',
    'generation.contextLength': 10.5,
    'html.outputTarget': 'react',
    'hovers.enabled': 'yes',
    'model.kvCache': 'q4_0',
  };
  const d = parseSettings((k) => bad[k]);
  assert.equal(d.backend, 'auto');
  assert.equal(d.maxTokens, undefined);
  assert.equal(d.temperature, undefined);
  assert.equal(d.contextLength, DEFAULT_SETTINGS.contextLength);
  assert.equal(d.outputTarget, 'html-css');
  assert.equal(d.hoversEnabled, true);
  assert.equal(d.kvCache, 'f16');
});

test('every command is declared once, in the Pixtral category, and wired', () => {
  const declared: { command: string; category: string }[] = manifest.contributes.commands;
  const ids = declared.map((c) => c.command).sort();
  assert.deepEqual(ids, Object.values(COMMANDS).sort());
  for (const c of declared) assert.equal(c.category, 'Pixtral', c.command);
  const source = readFileSync(path.join(__dirname, '..', '..', 'src', 'extension', 'commands.ts'), 'utf8');
  for (const key of Object.keys(COMMANDS)) assert.match(source, new RegExp(`COMMANDS\\.${key}\\b`), `${key} is registered`);
});

test('activation is lazy and untrusted workspaces are restricted', () => {
  const events: string[] = manifest.activationEvents;
  assert.ok(!events.includes('*') && !events.includes('onStartupFinished'), 'no start-up activation');
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  for (const key of ['pixtral.model.folder', 'pixtral.backend', 'pixtral.remote.endpoint']) {
    assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(key), key);
  }
  assert.match(manifest.engines.vscode, /^\^1\.(\d+)\./);
  assert.ok(Number(/^\^1\.(\d+)\./.exec(manifest.engines.vscode)![1]) <= 100);
});
