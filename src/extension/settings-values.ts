// What the "pixtral.*" settings mean, as plain values: parsed and bounded here so that every other
// module receives settings it can use without checking them again. Free of `vscode` so the rules
// are unit-tested; settings.ts is the one module that reads the configuration.
import { KV_CACHE_TYPES, PRECISION_SETTINGS, type PrecisionSetting } from '../models/fit';
import type { HtmlTarget } from '../prompts';
import { DEFAULT_TOKEN_BUDGETS } from '../worker/image/budgets';

export type BackendSetting = 'auto' | 'cpu' | 'cuda' | 'webgpu' | 'remote';
export type KvCacheSetting = (typeof KV_CACHE_TYPES)[number];

export interface PixtralSettings {
  /** Empty: search the usual places (src/models/find.ts). */
  modelFolder: string;
  backend: BackendSetting;
  remoteEndpoint: string;
  remoteModel: string;
  /** undefined: the task's own default. */
  maxTokens: number | undefined;
  /** undefined: the task's own default. */
  temperature: number | undefined;
  contextLength: number;
  /** Element type of the local model's KV cache. */
  kvCache: KvCacheSetting;
  /** Weight precision of the local model; auto: the best that fits in memory (src/models/fit.ts). */
  precision: PrecisionSetting;
  outputTarget: HtmlTarget;
  imageTokenBudget: number;
  hoversEnabled: boolean;
  hoverTokenBudget: number;
}

/** Defaults, equal to those declared in package.json (a unit test holds them together). */
export const DEFAULT_SETTINGS: PixtralSettings = {
  modelFolder: '',
  backend: 'auto',
  remoteEndpoint: 'https://api.mistral.ai/v1',
  remoteModel: 'pixtral-12b-2409',
  maxTokens: undefined,
  temperature: undefined,
  contextLength: 16384,
  kvCache: 'f16',
  precision: 'auto',
  outputTarget: 'html-css',
  imageTokenBudget: DEFAULT_TOKEN_BUDGETS.sketchToHtml,
  hoversEnabled: true,
  hoverTokenBudget: DEFAULT_TOKEN_BUDGETS.chartHover,
};

/** Setting names relative to the "pixtral" section, as package.json declares them. */
export const SETTING_KEYS = {
  modelFolder: 'model.folder',
  backend: 'backend',
  remoteEndpoint: 'remote.endpoint',
  remoteModel: 'remote.model',
  maxTokens: 'generation.maxTokens',
  temperature: 'generation.temperature',
  contextLength: 'generation.contextLength',
  kvCache: 'model.kvCache',
  precision: 'model.precision',
  outputTarget: 'html.outputTarget',
  imageTokenBudget: 'image.tokenBudget',
  hoversEnabled: 'hovers.enabled',
  hoverTokenBudget: 'hovers.tokenBudget',
} as const satisfies Record<keyof PixtralSettings, string>;

const BACKENDS: readonly BackendSetting[] = ['auto', 'cpu', 'cuda', 'webgpu', 'remote'];
const TARGETS: readonly HtmlTarget[] = ['html-css', 'html-tailwind'];

/**
 * Turns raw configuration values into settings. A value of the wrong type or out of range falls
 * back to the default rather than reaching the worker: settings.json is hand-edited.
 */
export function parseSettings(get: (key: string) => unknown): PixtralSettings {
  const d = DEFAULT_SETTINGS;
  const k = SETTING_KEYS;
  return {
    modelFolder: text(get(k.modelFolder)) ?? d.modelFolder,
    backend: oneOf(get(k.backend), BACKENDS) ?? d.backend,
    remoteEndpoint: text(get(k.remoteEndpoint)) ?? d.remoteEndpoint,
    remoteModel: text(get(k.remoteModel)) ?? d.remoteModel,
    maxTokens: integer(get(k.maxTokens), 1),
    temperature: number(get(k.temperature), 0, 2),
    contextLength: integer(get(k.contextLength), 1024) ?? d.contextLength,
    kvCache: oneOf(get(k.kvCache), KV_CACHE_TYPES) ?? d.kvCache,
    precision: oneOf(get(k.precision), PRECISION_SETTINGS) ?? d.precision,
    outputTarget: oneOf(get(k.outputTarget), TARGETS) ?? d.outputTarget,
    imageTokenBudget: integer(get(k.imageTokenBudget), 2) ?? d.imageTokenBudget,
    hoversEnabled: typeof get(k.hoversEnabled) === 'boolean' ? (get(k.hoversEnabled) as boolean) : d.hoversEnabled,
    hoverTokenBudget: integer(get(k.hoverTokenBudget), 2) ?? d.hoverTokenBudget,
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return allowed.find((a) => a === value);
}

function integer(value: unknown, min: number): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min ? value : undefined;
}

function number(value: unknown, min: number, max: number): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max ? value : undefined;
}
