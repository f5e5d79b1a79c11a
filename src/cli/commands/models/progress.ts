// Download and hashing progress of `pixtral models download|verify` on stderr: one rewritten line on
// a terminal, a line every few seconds (or at each new file) otherwise.
import type { DownloadProgress } from '../../../models/index';
import { formatBytes, formatDuration } from '../../../models/units';

export function progressPrinter(stream: NodeJS.WritableStream): { update(p: DownloadProgress): void; end(): void } {
  const tty = (stream as NodeJS.WriteStream).isTTY === true;
  let lastLine = 0;
  let lastKey = '';
  let open = false;
  return {
    update(p) {
      const pct = p.bytesTotal > 0 ? ((100 * p.bytesDone) / p.bytesTotal).toFixed(1) : '100.0';
      const rate = p.bytesPerSecond > 0 ? `  ${formatBytes(p.bytesPerSecond)}/s` : '';
      const left = p.etaSeconds !== undefined ? `  ETA ${formatDuration(p.etaSeconds)}` : '';
      const line = `${p.phase} ${p.file}  ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)} (${pct}%)${rate}${left}`;
      const key = `${p.phase} ${p.file}`;
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        open = true;
      } else if (key !== lastKey || Date.now() - lastLine > 3000) {
        stream.write(`${line}\n`);
        lastLine = Date.now();
      }
      lastKey = key;
    },
    end() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}
