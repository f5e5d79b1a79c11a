// Reading HTTP bodies with a size bound, for request bodies (`pixtral serve`) and downloads
// (remote images, remote answers): a body over the bound is refused as soon as it crosses it.

/** The chunks of a fetch() body as an async iterable (the DOM typings lack one). */
export async function* webChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** All bytes of `chunks`, or null as soon as they exceed `maxBytes` (the rest is not read). */
export async function readLimited(chunks: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer | null> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of chunks) {
    size += part.length;
    if (size > maxBytes) return null;
    parts.push(part);
  }
  return Buffer.concat(parts);
}
