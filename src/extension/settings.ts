// The only reader (and writer) of the "pixtral" configuration section. Everything else receives a
// parsed PixtralSettings (settings-values.ts) and listens to onDidChange.
import * as vscode from 'vscode';
import { parseSettings, SETTING_KEYS, type PixtralSettings } from './settings-values';

export class Settings implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PixtralSettings>();
  /** Fires with the new values after any "pixtral.*" setting changed. */
  readonly onDidChange = this.changed.event;
  private readonly listener: vscode.Disposable;

  constructor() {
    this.listener = vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('pixtral')) this.changed.fire(this.current);
    });
  }

  /** Read on every call, so a value is never stale. In an untrusted workspace VS Code itself
   *  answers the settings package.json lists as restrictedConfigurations from user settings only. */
  get current(): PixtralSettings {
    const config = vscode.workspace.getConfiguration('pixtral');
    return parseSettings((key) => config.get(key));
  }

  /** Writes a user (global) setting: choices made through commands follow the user everywhere. */
  async update<K extends keyof PixtralSettings>(key: K, value: PixtralSettings[K]): Promise<void> {
    await vscode.workspace.getConfiguration('pixtral').update(SETTING_KEYS[key], value, vscode.ConfigurationTarget.Global);
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}
