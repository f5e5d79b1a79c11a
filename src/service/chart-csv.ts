// A chart's data as CSV (the chart-to-table task's answer) turned into what a reader wants to see:
// a Markdown table and a one-line summary of the extremes. The small built-in sketch model answers
// charts only as CSV, so chart explanations from it (the hover, src/extension/hovers/) and
// "Chart → Data Table" in Markdown are built from its CSV with these functions.

/** Rows of fields: comma-separated, a field in double quotes may hold commas and doubled quotes. */
export function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.trim().split(/\r?\n/)) {
    if (!line.trim()) continue;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted && ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = !quoted;
      else if (ch === ',' && !quoted) {
        fields.push(field.trim());
        field = '';
      } else field += ch;
    }
    fields.push(field.trim());
    rows.push(fields);
  }
  return rows;
}

/** A GitHub-flavoured Markdown table; the first row is the header, short rows are padded. */
export function markdownTable(rows: string[][]): string {
  if (rows.length === 0) return '';
  const width = Math.max(...rows.map((r) => r.length));
  const line = (cells: string[]) => `| ${Array.from({ length: width }, (_, i) => (cells[i] ?? '').replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(rows[0]), `|${' --- |'.repeat(width)}`, ...rows.slice(1).map(line)].join('\n');
}

/** "Rainfall (mm): highest Sydney (132), lowest Dublin (82), over 8 rows." for each numeric column. */
export function extremesSummary(rows: string[][]): string {
  const [header, ...body] = rows;
  if (!header || body.length === 0) return 'No data rows could be read.';
  const parts: string[] = [];
  for (let c = 1; c < header.length; c++) {
    const points = body.filter((row) => isNumber(row[c])).map((row) => ({ label: row[0] ?? '', value: Number(row[c]) }));
    if (points.length === 0) continue;
    const max = points.reduce((a, b) => (b.value > a.value ? b : a));
    const min = points.reduce((a, b) => (b.value < a.value ? b : a));
    parts.push(`${header[c]}: highest ${max.label} (${max.value}), lowest ${min.label} (${min.value})`);
  }
  return parts.length ? `${parts.join('; ')}; ${body.length} rows.` : `${body.length} rows, no numeric column.`;
}

/** An empty cell is missing data, not zero. */
function isNumber(cell: string | undefined): boolean {
  return cell !== undefined && cell.trim() !== '' && Number.isFinite(Number(cell));
}
