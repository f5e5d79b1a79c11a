// Chooses where generation runs, from the settings: the local worker process (src/service/
// worker-client.ts) with the model found by src/models, or an OpenAI-compatible endpoint
// (src/service/remote-backend.ts) with its key from SecretStorage. Both are the one
// GenerationBackend interface; the rest of the extension never knows which it got.
// Nothing happens at activation: the model is looked up and the worker started on first use.
import * as vscode from 'vscode';
import { assertFits, assessFit, BUILT_IN_MODEL_NAME, findModels, pickModel, TWELVE_B_ADVANTAGE, type ModelCandidate } from '../models';
import type { GenerationBackend } from '../service/generation-backend';
import { RemoteBackend } from '../service/remote-backend';
import { WorkerClient } from '../service/worker-client';
import type { LoadedModel } from '../worker/protocol';
import { COMMANDS } from './command-ids';
import { UserError } from './errors';
import type { Settings } from './settings';
import type { BackendSetting, PixtralSettings } from './settings-values';

/** Which model answers, for the status bar and for cache keys (explanation-cache.ts). */
export interface ModelIdentity {
  /** Short, for the status bar. */
  label: string;
  /** Everything that changes an answer: where, which weights, which precision. */
  key: string;
  /** The small built-in sketch model: it was trained to answer charts as CSV only (chart-explainer.ts). */
  builtIn: boolean;
}

export interface ActiveBackend {
  backend: GenerationBackend;
  identity: ModelIdentity;
}

/** A local model just loaded: the backend the setting asked for, and what the worker runs it on. */
export interface LoadedOn {
  requested: BackendSetting;
  model: LoadedModel;
}

/** SecretStorage key of a remote endpoint's API key: one key per endpoint origin. */
export function apiKeySecretName(endpoint: string): string {
  let origin = endpoint;
  try {
    origin = new URL(endpoint).origin;
  } catch {
    // An unparsable endpoint fails later with a clear message; its key is stored under the raw text.
  }
  return `pixtral.remote.apiKey:${origin}`;
}

export class BackendFactory implements vscode.Disposable {
  private active: { config: string; backend: Promise<ActiveBackend> } | undefined;
  private readonly listener: vscode.Disposable;
  private readonly identityChanged = new vscode.EventEmitter<ModelIdentity | undefined>();
  /** Fires when a backend was created (with its identity) or dropped after a settings change. */
  readonly onDidChangeIdentity = this.identityChanged.event;
  private readonly loadedEmitter = new vscode.EventEmitter<LoadedOn>();
  /** Fires each time the local worker has loaded the model. */
  readonly onDidLoad = this.loadedEmitter.event;
  /** Requested backends whose fallback was already shown: a notification once per session each. */
  private readonly fallbacksShown = new Set<BackendSetting>();
  private builtInShown = false;

  constructor(
    private readonly settings: Settings,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.listener = vscode.Disposable.from(
      settings.onDidChange((values) => {
        if (this.active && this.active.config !== configOf(values)) this.reset('settings changed');
      }),
      secrets.onDidChange((event) => {
        if (event.key.startsWith('pixtral.remote.apiKey:')) this.reset('API key changed');
      }),
    );
  }

  /** The backend for the current settings, created on first use and reused after. */
  get(): Promise<ActiveBackend> {
    const values = this.settings.current;
    const config = configOf(values);
    if (this.active?.config !== config) {
      if (this.active) this.reset('settings changed');
      const backend = this.create(values);
      this.active = { config, backend };
      // A failed creation (no model yet) must not stick: the next call tries again.
      backend.then(
        (b) => this.identityChanged.fire(b.identity),
        () => {
          if (this.active?.backend === backend) this.active = undefined;
        },
      );
    }
    return this.active.backend;
  }

  /** The identity of the backend get() would give now, without starting anything. */
  async identity(): Promise<ModelIdentity> {
    return (await this.get()).identity;
  }

  /** Drops the current backend (its worker process exits); the next request makes a new one. */
  reset(reason: string): void {
    const old = this.active;
    this.active = undefined;
    this.identityChanged.fire(undefined);
    if (!old) return;
    this.log.info(`backend released: ${reason}`);
    void old.backend.then(
      (b) => b.backend.dispose(),
      () => undefined,
    );
  }

  private async create(values: PixtralSettings): Promise<ActiveBackend> {
    const requested = values.backend;
    if (requested === 'remote') return this.createRemote(values);
    const model = await findLocalModel(values.modelFolder);
    const backend = new WorkerClient({
      model: model.dir,
      load: { contextLength: values.contextLength, backend: requested, kvCache: values.kvCache },
      onLog: (text) => this.log.debug(`[worker] ${text.trimEnd()}`),
      onLoaded: (loaded) => this.loaded({ requested, model: loaded }),
    });
    // The engine's own plan of the load (asked of the worker: native code never runs in the
    // extension host); nothing is loaded when it cannot fit.
    let fit;
    try {
      const plans = await backend.plan();
      fit = assertFits(assessFit({ dims: model.check.dims!, plans, contextLength: values.contextLength, precision: values.precision }));
    } catch (err) {
      void backend.dispose();
      throw err;
    }
    backend.usePrecision(fit.precision);
    this.log.info(`local model ${model.dir} (${fit.precision}${values.precision === 'auto' ? ', the best that fits' : ''}, context ${values.contextLength} tokens, KV cache ${values.kvCache}, backend ${requested})`);
    const builtIn = model.check.builtIn;
    if (builtIn) this.offerLargerModel();
    const name = builtIn ? 'built-in sketch model' : model.repo ? model.repo.split('/').pop()! : model.dir.split(/[\\/]/).filter(Boolean).pop()!;
    return {
      backend,
      identity: { label: name, key: JSON.stringify(['local', model.dir, model.commit ?? '', fit.precision]), builtIn },
    };
  }

  /** Once per session: say that the small built-in model answers, and what Pixtral 12B would add. */
  private offerLargerModel(): void {
    if (this.builtInShown) return;
    this.builtInShown = true;
    const text = `Pixtral: no model of your own yet, so ${BUILT_IN_MODEL_NAME} answers. ${TWELVE_B_ADVANTAGE}`;
    this.log.info(text);
    void vscode.window.showInformationMessage(text, 'Download Model', 'Select Model').then((choice) => {
      if (choice) void vscode.commands.executeCommand(choice === 'Download Model' ? COMMANDS.downloadModel : COMMANDS.selectModel);
    });
  }

  private loaded(event: LoadedOn): void {
    const fallback = event.model.backendFallback;
    this.log.info(`model loaded on ${event.model.backend}${fallback ? `: ${fallback}` : ''}`);
    this.loadedEmitter.fire(event);
    if (!fallback || this.fallbacksShown.has(event.requested)) return;
    this.fallbacksShown.add(event.requested);
    void vscode.window.showWarningMessage(`Pixtral: ${fallback}`, 'Backend Setting').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'pixtral.backend');
    });
  }

  private async createRemote(values: PixtralSettings): Promise<ActiveBackend> {
    const apiKey = await this.secrets.get(apiKeySecretName(values.remoteEndpoint));
    this.log.info(`remote backend ${values.remoteModel} at ${values.remoteEndpoint}${apiKey ? '' : ' (no API key stored)'}`);
    return {
      backend: new RemoteBackend({ baseUrl: values.remoteEndpoint, model: values.remoteModel, apiKey }),
      identity: { label: `${values.remoteModel} (remote)`, key: JSON.stringify(['remote', values.remoteEndpoint, values.remoteModel]), builtIn: false },
    };
  }

  dispose(): void {
    this.reset('extension shutting down');
    this.listener.dispose();
    this.identityChanged.dispose();
    this.loadedEmitter.dispose();
  }
}

/** The settings that decide which backend answers; any change to them makes a new one. */
function configOf(values: PixtralSettings): string {
  return values.backend === 'remote'
    ? JSON.stringify(['remote', values.remoteEndpoint, values.remoteModel])
    : JSON.stringify([values.backend, values.modelFolder, values.contextLength, values.precision]);
}

/** The model the settings name, or the first complete one found, else the built-in sketch model;
 * a UserError says what to do. */
export async function findLocalModel(modelFolder: string): Promise<ModelCandidate> {
  const candidates = await findModels({ settingDir: modelFolder || undefined, includeEmbedded: true });
  const fixIt = [
    { title: 'Select Model', command: COMMANDS.selectModel },
    { title: 'Download Model', command: COMMANDS.downloadModel },
  ];
  if (modelFolder) {
    const chosen = candidates.find((c) => c.source === 'setting' && c.check.ok);
    if (chosen) return chosen;
    const problems = candidates.find((c) => c.source === 'setting')?.check.problems.join(' ') ?? '';
    throw new UserError(`The model folder in the setting pixtral.model.folder cannot be used: ${problems}`, fixIt);
  }
  const picked = pickModel(candidates);
  if (!picked) throw new UserError('No Pixtral model was found on this machine.', fixIt);
  return picked;
}
