// Plain-text tables for the CLI: right-aligned numbers, left-aligned text, one header rule.
// Two ways to print: formatTable sizes columns to the widest cell (all rows known); tableStream
// prints the header before any row exists (bench prints each row as soon as it is measured), so
// its columns take a declared minimum width and a longer cell pushes only its own row.
// Hand-written rather than cli-table3: that library renders whole tables (no row-by-row output)
// and draws box borders, which the plain columns here avoid so that output diffs and greps well.

export interface Column<R> {
  header: string;
  value(row: R): string;
  align?: 'left' | 'right';
  /** Minimum width for tableStream (ignored by formatTable). */
  width?: number;
}

function line<R>(columns: readonly Column<R>[], widths: readonly number[], values: readonly string[]): string {
  return values
    .map((v, i) => (columns[i]?.align === 'left' ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0)))
    .join('  ')
    .trimEnd();
}

function headerLines<R>(columns: readonly Column<R>[], widths: readonly number[]): string {
  return `${line(
    columns,
    widths,
    columns.map((c) => c.header),
  )}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`;
}

export function formatTable<R>(rows: readonly R[], columns: readonly Column<R>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] as string).length)));
  return [headerLines(columns, widths), ...cells.map((row) => line(columns, widths, row))].join('\n');
}

export interface TableStream<R> {
  /** The header and its rule (two lines). */
  readonly header: string;
  /** One row, aligned under the header. */
  row(row: R): string;
}

export function tableStream<R>(columns: readonly Column<R>[]): TableStream<R> {
  const widths = columns.map((c) => Math.max(c.header.length, c.width ?? 0));
  return {
    header: headerLines(columns, widths),
    row: (row) =>
      line(
        columns,
        widths,
        columns.map((c) => c.value(row)),
      ),
  };
}

/** A number with a fixed count of decimals for tables (`-` for NaN and infinities). */
export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return '-';
  return value.toFixed(digits);
}
