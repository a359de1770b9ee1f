/** Plain-text tables for bench output: right-aligned numbers, left-aligned text. */

export type Cell = string | number | null | undefined;

export interface Column {
  header: string;
  /** Digits after the point for numbers; default 0. */
  decimals?: number;
  /** Default right, for numbers; give text columns 'left'. */
  align?: 'left' | 'right';
}

export function formatCell(value: Cell, decimals = 0): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (Number.isNaN(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Renders rows under headers with a separator line; every row must have one cell per column. */
export function renderTable(columns: Column[], rows: Cell[][]): string {
  const text = rows.map((row) => columns.map((column, i) => formatCell(row[i], column.decimals ?? 0)));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...text.map((row) => row[i].length)));
  const isLeft = columns.map((column) => column.align === 'left');
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (isLeft[i] ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  return [line(columns.map((column) => column.header)), widths.map((width) => '-'.repeat(width)).join('  '), ...text.map(line)].join('\n');
}
