// The model manager's public face, for the CLI and the VS Code commands ("Pixtral: Download
// Model", "Pixtral: Select Model"):
//   findModels({ settingDir }) + pickModel(...)      what is on this machine, each with its check
//   chooseModelDir(explicit, options)                --model, else the first usable model found
//   downloadModel({ repo, token, signal, onProgress }) one download, never twice, resumable; token:
//                                                    e.g. SecretStorage, falling back to envTokenProvider;
//                                                    cacheDir: the HF cache (default) or env.storageDir
//   fetchTekken(dir, ...)                            the tokenizer for a transformers-layout folder
//   checkModelFolder(dir)                            before any load: complete and supported?
//   assessFit({ dims, plans, contextLength, precision }) / assertFits  before any load: does it fit, at which precision?
//   verifyModel(dir, ...), removeModel(target)       `pixtral models verify|rm`
// Errors meant for the user extend ModelError (HubError with a `kind`, IntegrityError,
// DiskSpaceError, LockedError, RemoveError, FitError). Cancellation rejects with the signal's reason.
export { KNOWN_CHECKPOINTS, PIXTRAL_HF_REPO, PIXTRAL_MISTRAL_REPO, type Layout } from './catalog';
export { IntegrityError, type TransferTuning } from './download';
export { DiskSpaceError, downloadModel, fetchTekken, type DownloadModelOptions, type DownloadModelResult, type DownloadOptions } from './download-model';
export { BUILT_IN_MODEL_NAME, embeddedModelDir, isBuiltInSketchModel, isRandomWeightTestModel, TWELVE_B_ADVANTAGE } from './embedded';
export { modelEnv, type ModelEnv } from './env';
export { ModelError } from './errors';
export { chooseModelDir, findModels, pickModel, type ModelCandidate, type ModelSource } from './find';
export { assertFits, assessFit, describePrecision, FitError, KV_CACHE_TYPES, PRECISION_SETTINGS, systemMemory, type FitVerdict, type MemoryDevice, type PrecisionPlan, type PrecisionSetting } from './fit';
export { envTokenProvider, HubError, type TokenProvider } from './hub-api';
export { LockedError } from './lock';
export { checkModelFolder, type FolderCheck } from './model-folder';
export type { DownloadProgress, ProgressCallback } from './progress';
export { removeModel, RemoveError } from './remove';
export { verifyModel, type VerifyReport } from './verify';
