/**
 * Aligned plain-text tables for the console.
 * @module
 */
import { visibleWidth, type Styler } from './style.js';

/** One column of a {@link formatTable} table. */
export interface Column {
  /** The heading, printed above the column. */
  header: string;
  /** Which side cells line up on; numbers read best on the right. @defaultValue `'left'` */
  align?: 'left' | 'right';
}

/** Options for {@link formatTable}. */
export interface TableOptions {
  /** Styles the header row (bold) when given. */
  style?: Styler;
  /** Spaces between columns. @defaultValue 2 */
  gap?: number;
  /** Whether to print the header row. @defaultValue true */
  header?: boolean;
}

/**
 * Lays out rows under column headers, every column as wide as its widest cell. Widths ignore colour
 * escapes, so cells may be styled. Lines carry no trailing spaces.
 * @param columns the columns, left to right
 * @param rows the cells; a short row is padded with empty cells
 * @param options header style, gap and whether to show the header
 * @returns one string per line: the header (unless disabled), then one per row
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[], options: TableOptions = {}): string[] {
  const gap = ' '.repeat(options.gap ?? 2);
  const showHeader = options.header ?? true;
  const widths = columns.map((column, i) =>
    Math.max(showHeader ? visibleWidth(column.header) : 0, ...rows.map((row) => visibleWidth(row[i] ?? ''))),
  );
  const line = (cells: readonly string[], styleCell?: (text: string) => string): string =>
    columns
      .map((column, i) => {
        const text = cells[i] ?? '';
        const pad = ' '.repeat(widths[i]! - visibleWidth(text));
        const shown = styleCell ? styleCell(text) : text;
        return column.align === 'right' ? pad + shown : shown + pad;
      })
      .join(gap)
      .trimEnd();
  const lines = rows.map((row) => line(row));
  if (!showHeader) return lines;
  const style = options.style;
  const header = line(
    columns.map((c) => c.header),
    style ? (text) => style('bold', text) : undefined,
  );
  return [header, ...lines];
}

/**
 * A two-column table of labels and values, labels left-aligned, no header.
 * @param pairs label and value per line
 * @param style styles the labels (dim) when given
 */
export function formatPairs(pairs: readonly (readonly [string, string])[], style?: Styler): string[] {
  const width = Math.max(0, ...pairs.map(([label]) => visibleWidth(label)));
  return pairs.map(([label, value]) => {
    const padded = label.padEnd(width);
    return `${style ? style('dim', padded) : padded}  ${value}`.trimEnd();
  });
}
