'use strict';

// Cells are split on unescaped pipes; a separator row (---, :--:) keeps its alignment markers.
function cells(row) {
  return row.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim());
}

function formatTable(rows, width) {
  const table = rows.map(cells);
  const cols = Math.max(...table.map((r) => r.length));
  const widths = new Array(cols).fill(3);
  for (const r of table) {
    r.forEach((c, i) => {
      const len = width > 0 ? Math.min(c.length, width) : c.length;
      if (!/^:?-+:?$/.test(c) && len > widths[i]) widths[i] = len;
    });
  }
  return table.map((r) =>
    '| ' + widths.map((w, i) => {
      const c = r[i] || '';
      if (/^:?-+:?$/.test(c)) {
        const left = c.startsWith(':') ? ':' : '-';
        const right = c.endsWith(':') ? ':' : '-';
        return left + '-'.repeat(w - 2) + right;
      }
      return c.length > w ? c : c + ' '.repeat(w - c.length);
    }).join(' | ') + ' |');
}

module.exports = { formatTable };
