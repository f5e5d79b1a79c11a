// Streaming filter for `pixtral html` and the sketch panel: the model is asked for one HTML file
// but often wraps it in prose and a Markdown fence. Fed the answer in arbitrary chunks, it emits
// only the code, never a byte of prose or fence, and the concatenated output equals the fenced
// block's content exactly (CommonMark: the lines between the fences, each with its newline).
// Accepted: the first fenced block whose info string is empty or an HTML dialect (other fenced
// blocks, e.g. a CSS snippet, are skipped), or bare HTML starting a line with `<!doctype html` or
// `<html`, emitted up to and including `</html>`.

const HTML_LANGS = new Set(['', 'html', 'htm', 'xhtml', 'html5']);
const BARE_STARTS = ['<!doctype html', '<html'];
const BARE_END = '</html>';

/** A fence opener line: up to 3 spaces, 3+ backticks or tildes, an info string (its first word is the language). */
const OPENER = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$/;
/** Text at a line start that may still turn into a fence line once more characters arrive. */
const FENCE_PREFIX = /^ {0,3}(`*|~*)$/;

type State =
  | 'search' // outside any block: discard prose, look for a fence opener or bare HTML
  | 'code' // inside the accepted fenced block: emit
  | 'skip' // inside another fenced block: discard
  | 'bare' // bare HTML: emit up to </html>
  | 'done'; // the code is complete: discard the rest

export class HtmlExtractor {
  private state: State = 'search';
  /** Text received but not yet emitted or discarded. */
  private pending = '';
  /** Whether `pending` begins at the start of a line (line-based states only). */
  private lineStart = true;
  /** The opening fence of the current block; its closer uses the same character, at least as many. */
  private fence = '';
  private foundCode = false;

  /** True once a fenced HTML block or bare HTML began (so far as the answer has arrived). */
  get found(): boolean {
    return this.foundCode;
  }

  /** Feeds the next piece of the answer; returns the code it completes (possibly ''). */
  push(chunk: string): string {
    this.pending += chunk;
    let out = '';
    for (;;) {
      const step = this.step();
      out += step.emit;
      if (!step.progressed) return out;
    }
  }

  /** Ends the answer; returns the code still held back (an unterminated block counts as ended). */
  end(): string {
    const rest = this.pending;
    this.pending = '';
    if (this.state === 'bare') return rest;
    if (this.state === 'code' && !(this.lineStart && this.closesFence(rest))) return rest;
    return '';
  }

  /** Consumes what can be decided from `pending`; progressed=false means it needs more input. */
  private step(): { emit: string; progressed: boolean } {
    const none = { emit: '', progressed: false };
    if (this.pending === '') return none;
    switch (this.state) {
      case 'done':
        this.pending = '';
        return none;
      case 'bare':
        return this.stepBare();
      case 'search':
        return this.stepSearch();
      case 'code':
      case 'skip':
        return this.stepFenced();
    }
  }

  private stepSearch(): { emit: string; progressed: boolean } {
    const newline = this.pending.indexOf('\n');
    if (!this.lineStart) return this.discardLine(newline);
    const lower = this.pending.trimStart().toLowerCase();
    const bare = BARE_STARTS.find((s) => lower.startsWith(s));
    if (bare) {
      this.pending = this.pending.slice(this.pending.length - lower.length);
      this.state = 'bare';
      this.foundCode = true;
      return { emit: '', progressed: true };
    }
    const line = newline < 0 ? this.pending : this.pending.slice(0, newline);
    const mayBeBare = newline < 0 && lower !== '' && BARE_STARTS.some((s) => s.startsWith(lower));
    const mayBeFence = FENCE_PREFIX.test(line) || OPENER.test(line);
    if (newline < 0 && (mayBeBare || mayBeFence || lower === '')) return { emit: '', progressed: false };
    const opener = OPENER.exec(line);
    if (opener) {
      this.fence = opener[1];
      this.state = HTML_LANGS.has(opener[2].toLowerCase()) ? 'code' : 'skip';
      if (this.state === 'code') this.foundCode = true;
    }
    return this.discardLine(newline);
  }

  private stepFenced(): { emit: string; progressed: boolean } {
    const emitting = this.state === 'code';
    const newline = this.pending.indexOf('\n');
    if (this.lineStart) {
      const line = newline < 0 ? this.pending : this.pending.slice(0, newline);
      if (newline < 0 && this.mayCloseFence(line)) return { emit: '', progressed: false };
      if (newline >= 0 && this.closesFence(line)) {
        this.state = emitting ? 'done' : 'search';
        return this.discardLine(newline);
      }
    }
    const end = newline < 0 ? this.pending.length : newline + 1;
    const text = this.pending.slice(0, end);
    this.pending = this.pending.slice(end);
    this.lineStart = newline >= 0;
    return { emit: emitting ? text : '', progressed: true };
  }

  private stepBare(): { emit: string; progressed: boolean } {
    const lower = this.pending.toLowerCase();
    const close = lower.indexOf(BARE_END);
    if (close >= 0) {
      const text = this.pending.slice(0, close + BARE_END.length);
      this.pending = '';
      this.state = 'done';
      return { emit: text, progressed: false };
    }
    // Hold back a tail that could be the start of "</html>".
    let keep = Math.min(BARE_END.length - 1, lower.length);
    while (keep > 0 && !BARE_END.startsWith(lower.slice(lower.length - keep))) keep--;
    const text = this.pending.slice(0, this.pending.length - keep);
    this.pending = this.pending.slice(this.pending.length - keep);
    return { emit: text, progressed: false };
  }

  /** Drops pending text through the next newline (or all of it, staying mid-line). */
  private discardLine(newline: number): { emit: string; progressed: boolean } {
    this.pending = newline < 0 ? '' : this.pending.slice(newline + 1);
    this.lineStart = newline >= 0;
    return { emit: '', progressed: true };
  }

  /** A complete line that closes the current fence: same character, at least as long, nothing after but spaces. */
  private closesFence(line: string): boolean {
    const body = line.replace(/^ {0,3}/, '').replace(/[ \t\r]+$/, '');
    const char = this.fence[0];
    return body.length >= this.fence.length && [...body].every((c) => c === char);
  }

  /** An incomplete line that may still become the closing fence. */
  private mayCloseFence(line: string): boolean {
    const body = line.replace(/^ {0,3}/, '');
    let run = 0;
    while (body[run] === this.fence[0]) run++;
    return run === body.length || (run >= this.fence.length && /^[ \t\r]*$/.test(body.slice(run)));
  }
}
