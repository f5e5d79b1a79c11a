// Images the user hands to a webview (pasted, dropped from the OS): read in the page as data: URLs,
// which the host decodes. Only image types the worker decodes are taken.

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff']);
/** Larger files are refused in the page, before crossing to the host (the worker refuses > 50 MP). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export interface NamedImage {
  name: string;
  dataUrl: string;
}

export function isImageFile(file: File): boolean {
  return IMAGE_TYPES.has(file.type);
}

export function readImageFile(file: File): Promise<NamedImage> {
  return new Promise((resolve, reject) => {
    if (file.size > MAX_IMAGE_BYTES) {
      reject(new Error(`${file.name || 'the image'} is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB`));
      return;
    }
    const reader = new FileReader();
    reader.onload = () => resolve({ name: file.name || 'pasted image', dataUrl: String(reader.result) });
    reader.onerror = () => reject(reader.error ?? new Error(`cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

/** Image files of a paste or drop, in order. */
export function imageFilesOf(data: DataTransfer | null): File[] {
  if (!data) return [];
  const files = Array.from(data.files).filter(isImageFile);
  if (files.length > 0) return files;
  // Some sources (screenshots on the clipboard) give items but no files.
  return Array.from(data.items).filter((item) => item.kind === 'file').map((item) => item.getAsFile()).filter((f): f is File => !!f && isImageFile(f));
}

/** file: URIs of a drop from the VS Code explorer (text/uri-list, one per line, # comments). */
export function droppedUris(data: DataTransfer | null): string[] {
  const list = data?.getData('text/uri-list') ?? '';
  return list
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
