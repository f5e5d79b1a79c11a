// The built-in model's chart answers (CSV) as a reader sees them: table and one-line summary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvRows, extremesSummary, markdownTable } from '../../src/service/chart-csv';

const CSV = 'City,"Rainfall, monthly (mm)",Sun (h)\nDenver,93,\nSydney,132,210\n"Washington, D.C.",82,"1""5"\n';

test('fields are split at commas outside quotes; doubled quotes are one quote', () => {
  assert.deepEqual(csvRows(CSV), [
    ['City', 'Rainfall, monthly (mm)', 'Sun (h)'],
    ['Denver', '93', ''],
    ['Sydney', '132', '210'],
    ['Washington, D.C.', '82', '1"5'],
  ]);
});

test('the Markdown table has a header rule and escapes pipes', () => {
  assert.equal(markdownTable([['a', 'b|c'], ['1']]), '| a | b\\|c |\n| --- | --- |\n| 1 |  |');
});

test('the summary names the extremes of every numeric column and skips empty cells', () => {
  assert.equal(
    extremesSummary(csvRows(CSV)),
    'Rainfall, monthly (mm): highest Sydney (132), lowest Washington, D.C. (82); Sun (h): highest Sydney (210), lowest Sydney (210); 3 rows.',
  );
  assert.equal(extremesSummary(csvRows('x,y\n')), 'No data rows could be read.');
});
