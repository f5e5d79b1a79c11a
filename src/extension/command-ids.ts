// Command and context-key ids, as package.json declares them: one place to rename.
export const COMMANDS = {
  openSketchPanel: 'pixtral.openSketchPanel',
  generateFromImage: 'pixtral.generateFromImage',
  generateFromClipboard: 'pixtral.generateFromClipboard',
  refineHtml: 'pixtral.refineHtml',
  compareVersions: 'pixtral.compareVersions',
  showPreview: 'pixtral.showPreview',
  explainChart: 'pixtral.explainChart',
  chartToTable: 'pixtral.chartToTable',
  tableToMarkup: 'pixtral.tableToMarkup',
  askAboutImage: 'pixtral.askAboutImage',
  cancel: 'pixtral.cancel',
  selectModel: 'pixtral.selectModel',
  downloadModel: 'pixtral.downloadModel',
  switchBackend: 'pixtral.switchBackend',
  setRemoteApiKey: 'pixtral.setRemoteApiKey',
  showLog: 'pixtral.showLog',
} as const;

/** True while a generation runs (enables "Pixtral: Cancel Generation" in the palette). */
export const BUSY_CONTEXT_KEY = 'pixtral.busy';
