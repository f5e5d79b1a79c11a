// The base of every model-manager error whose message is written for the user (what went wrong
// and what to do), so the CLI and the editor can show it as is, without a stack trace.
export class ModelError extends Error {
  override name = 'ModelError';
}
