// The model and backend commands: "Select Model", "Download Model" (src/models, with a
// cancellable progress notification), "Switch Local/Remote Backend" and "Set Remote API Key".
// Tokens and keys live in VS Code's SecretStorage, never in settings files.
import * as vscode from 'vscode';
import { BUILT_IN_MODEL_NAME, downloadModel, findModels, HubError, KNOWN_CHECKPOINTS, TWELVE_B_ADVANTAGE, type ModelCandidate } from '../models';
import { formatBytes, formatDuration } from '../models/units';
import { apiKeySecretName } from './backend-factory';
import { COMMANDS } from './command-ids';
import type { Settings } from './settings';

const HF_TOKEN_SECRET = 'pixtral.huggingface.token';

export class ModelCommands {
  constructor(
    private readonly settings: Settings,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async selectModel(): Promise<void> {
    const current = this.settings.current;
    const candidates = await findModels({ settingDir: current.modelFolder || undefined, includeEmbedded: true });
    type Item = vscode.QuickPickItem & { pick: () => Promise<string | undefined> };
    const items: Item[] = candidates.map((c) => ({
      label: `${c.check.ok ? '$(check)' : '$(warning)'} ${nameOf(c)}`,
      description: c.dir === current.modelFolder ? 'selected' : sourceLabel(c),
      detail: c.check.builtIn ? TWELVE_B_ADVANTAGE : c.check.ok ? `${c.dir} · ${formatBytes(c.check.weightBytes)}` : c.check.problems.join(' '),
      pick: async () => c.dir,
    }));
    items.push(
      { label: '$(folder-opened) Browse for a model folder…', pick: () => this.browse() },
      { label: '$(cloud-download) Download a model…', pick: async () => (await vscode.commands.executeCommand(COMMANDS.downloadModel), undefined) },
    );
    const chosen = await vscode.window.showQuickPick(items, { title: 'Pixtral: Select Model', placeHolder: candidates.length ? 'Models found on this machine' : 'No model found yet' });
    const dir = await chosen?.pick();
    if (!dir) return;
    await this.settings.update('modelFolder', dir);
    if (current.backend === 'remote') await this.settings.update('backend', 'auto');
    this.log.info(`model folder set to ${dir}`);
  }

  async downloadModel(): Promise<void> {
    const chosen = await vscode.window.showQuickPick(
      KNOWN_CHECKPOINTS.map((k) => ({ label: k.repo, description: k.gated ? 'gated: accept the licence on the hub first' : '', detail: k.description, repo: k.repo })),
      { title: 'Pixtral: Download Model' },
    );
    if (!chosen) return;
    const confirm = await vscode.window.showInformationMessage(
      `Download ${chosen.repo}? The weights are about 25 GB and go to the Hugging Face cache, where other tools find them too.`,
      { modal: true },
      'Download',
    );
    if (confirm !== 'Download') return;
    let attempt = 0;
    for (;;) {
      try {
        const result = await this.download(chosen.repo);
        await this.settings.update('modelFolder', result);
        return;
      } catch (err) {
        // A gated repository needs a token with the licence accepted: ask once, keep it secret.
        if (err instanceof HubError && (err.kind === 'gated' || err.kind === 'unauthorized') && attempt++ === 0) {
          const token = await vscode.window.showInputBox({
            title: `Hugging Face token for ${chosen.repo}`,
            prompt: `${err.message} Paste a token (https://huggingface.co/settings/tokens); it is kept in VS Code's secret storage.`,
            password: true,
            ignoreFocusOut: true,
          });
          if (!token) return;
          await this.secrets.store(HF_TOKEN_SECRET, token.trim());
          continue;
        }
        throw err;
      }
    }
  }

  private async download(repo: string): Promise<string> {
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Pixtral: downloading ${repo}`, cancellable: true },
      async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort(new vscode.CancellationError()));
        let reported = 0;
        const stored = await this.secrets.get(HF_TOKEN_SECRET);
        const result = await downloadModel({
          repo,
          signal: controller.signal,
          // Undefined falls back to HF_TOKEN or the huggingface-cli login (src/models).
          token: stored ? () => stored : undefined,
          onProgress: (p) => {
            const percent = p.bytesTotal > 0 ? (p.bytesDone / p.bytesTotal) * 100 : 0;
            const eta = p.etaSeconds === undefined ? '' : `, ${formatDuration(p.etaSeconds)} left`;
            const rate = p.phase === 'downloading' ? ` at ${formatBytes(p.bytesPerSecond)}/s${eta}` : '';
            progress.report({ increment: percent - reported, message: `${p.phase} ${p.file}: ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}${rate}` });
            reported = percent;
          },
        });
        for (const warning of result.warnings) this.log.warn(warning);
        if (!result.check.ok) throw new Error(`the download finished but the folder is incomplete: ${result.check.problems.join(' ')}`);
        this.log.info(result.alreadyPresent ? `${repo} was already complete in ${result.dir}` : `downloaded ${formatBytes(result.downloadedBytes)} into ${result.dir}`);
        void vscode.window.showInformationMessage(result.alreadyPresent ? `Pixtral: ${repo} is already on this machine.` : `Pixtral: ${repo} is ready.`);
        return result.dir;
      },
    );
  }

  async switchBackend(): Promise<void> {
    const current = this.settings.current;
    const items = [
      { label: 'Local', description: 'the native engine on this machine', backend: 'auto' as const },
      { label: 'Remote', description: `${current.remoteModel} at ${current.remoteEndpoint}`, backend: 'remote' as const },
    ];
    const chosen = await vscode.window.showQuickPick(items, { title: 'Pixtral: where should the model run?' });
    if (!chosen) return;
    if (chosen.backend === 'remote') {
      const endpoint = await vscode.window.showInputBox({
        title: 'Remote endpoint (OpenAI-compatible, up to and including the version)',
        value: current.remoteEndpoint,
        validateInput: (value) => (/^https?:\/\/\S+$/.test(value.trim()) ? undefined : 'An http(s) URL, e.g. https://api.mistral.ai/v1'),
      });
      if (!endpoint) return;
      await this.settings.update('remoteEndpoint', endpoint.trim());
      if (!(await this.secrets.get(apiKeySecretName(endpoint.trim())))) await this.setRemoteApiKey();
    }
    await this.settings.update('backend', chosen.backend);
  }

  async setRemoteApiKey(): Promise<void> {
    const endpoint = this.settings.current.remoteEndpoint;
    const key = await vscode.window.showInputBox({
      title: `API key for ${endpoint}`,
      prompt: 'Kept in VS Code\'s secret storage. Leave empty to remove the stored key.',
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) return;
    if (key.trim()) await this.secrets.store(apiKeySecretName(endpoint), key.trim());
    else await this.secrets.delete(apiKeySecretName(endpoint));
  }

  private async browse(): Promise<string | undefined> {
    const picked = await vscode.window.showOpenDialog({ title: 'Pixtral model folder', canSelectFolders: true, canSelectFiles: false });
    return picked?.[0]?.fsPath;
  }
}

function nameOf(c: ModelCandidate): string {
  return c.repo ? `${c.repo}${c.refs.length ? ` (${c.refs.join(', ')})` : ''}` : (c.dir.split(/[\\/]/).filter(Boolean).pop() ?? c.dir);
}

function sourceLabel(c: ModelCandidate): string {
  if (c.check.builtIn) return `${BUILT_IN_MODEL_NAME}, used when no other model is found`;
  return c.source === 'setting' ? 'from settings' : c.source === 'hf-cache' ? 'Hugging Face cache' : c.source === 'embedded' ? 'built in' : 'Pixtral storage';
}
