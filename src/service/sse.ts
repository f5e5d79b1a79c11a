// Server-sent events, the framing of OpenAI-style streaming: `data: <json>` blocks separated by a
// blank line, `data: [DONE]` at the end. The writer is used by `pixtral serve`, the parser by the
// remote backend, so both ends agree on one reading of the format.

/** One `data:` event (a JSON payload on one line, as OpenAI-compatible servers send). */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

/** A comment line: ignored by clients, keeps the connection visibly alive. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/**
 * The `data` of each event in a byte stream, multi-line data joined with '\n'. Comments, `event:`,
 * `id:` and `retry:` fields are skipped (OpenAI-compatible servers put everything in `data`).
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const lines = async function* () {
    for await (const bytes of body) {
      buffer += decoder.decode(bytes, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        // A CR at the very end may be the first half of CRLF: wait for the next chunk.
        if (buffer[newline] === '\r' && newline === buffer.length - 1) break;
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        yield line;
      }
    }
    buffer += decoder.decode();
    if (buffer) yield* buffer.split(/\r\n|\r|\n/);
    yield '';
  };
  for await (const line of lines()) {
    if (line === '') {
      if (data.length > 0) yield data.join('\n');
      data = [];
    } else if (line.startsWith('data:')) {
      data.push(line.slice(line[5] === ' ' ? 6 : 5));
    }
  }
}
