// Image preprocessing, failure vocabulary: every way an input image can be refused, as one error
// class with a machine-readable kind, so the worker can tell the user what to do instead of crashing.

export type ImageErrorKind =
  | 'unreadable' // the path does not exist, is a directory, or cannot be read
  | 'empty' // zero bytes, or an image that claims zero width or height
  | 'unsupported-format' // not an image, or an image format we do not decode
  | 'too-large' // more pixels than the configured limit (decompression-bomb guard)
  | 'corrupt' // recognised format but the data is truncated or invalid
  | 'invalid-option'; // a preprocessing option out of range

export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly kind: ImageErrorKind,
    message: string,
  ) {
    super(message);
  }
}
