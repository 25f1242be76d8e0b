/** Nearest-rank percentile of `values` (0 < p ≤ 100); NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export function median(values: number[]): number {
  return percentile(values, 50)
}

/** A figure for a table: three significant digits, no exponent. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '–'
  const abs = Math.abs(value)
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2)
}

/** `ours / floor` as "1.07x". */
export function ratio(ours: number, floor: number): number {
  return floor > 0 ? Number((ours / floor).toFixed(2)) : Number.NaN
}

/** Prints rows as an aligned table (the first row is the header). */
export function printTable(rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  for (const [n, r] of cells.entries()) {
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
}
