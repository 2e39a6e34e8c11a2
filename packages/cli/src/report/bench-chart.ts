// The `flashgraph bench --chart` picture: our own small SVG, two panels side by side.
// Left: decode step time per batch size and mode (log scale, value on every bar).
// Right: speedup of piecewise and full graphs over eager, with the 1x line.
// Layout is computed from estimated text widths, so that nothing leaves the canvas or overlaps:
// long titles and subtitles wrap, bar labels too wide for their bar stand upright, and the
// value axes leave room above the tallest bar for its label.

export interface BenchChartData {
  title: string;
  /** Lines under the title (each wrapped to the canvas width). */
  subtitle: string | readonly string[];
  batchSizes: readonly number[];
  /** Modes in drawing order; eager first (the speedup baseline). */
  modes: readonly string[];
  /** stepMs[mode][i]: median decode step time at batchSizes[i] (NaN when not measured). */
  stepMs: Readonly<Record<string, readonly number[]>>;
}

const COLORS: Record<string, string> = { eager: '#9aa0a6', piecewise: '#4285f4', full: '#0f9d58' };
const FONT = 'font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const WIDTH = 1000;
const MARGIN = 24;
const BAR_LABEL_SIZE = 10;
/** A white outline under bar labels, so the 1x line or a grid line behind one never crosses its text. */
const HALO = 'paint-order="stroke" stroke="#ffffff" stroke-width="3" stroke-linejoin="round"';
/** Room above the tallest bar for its label, standing upright if need be. */
const HEADROOM = 44;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * An upper estimate of the rendered width of `text`: 0.6 em per character, above the average of
 * the sans-serif faces in FONT (Helvetica's digits are 0.556 em, its widest capitals 0.94 em but rare).
 */
export function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.6;
}

/** Splits `text` at spaces into lines no wider than `maxWidth`. */
export function wrapText(text: string, fontSize: number, maxWidth: number): string[] {
  const lines: string[] = [];
  let line = '';
  const maxChars = Math.max(1, Math.floor(maxWidth / (fontSize * 0.6)));
  // A word wider than the line (a long path, say) is cut into pieces that fit.
  const words = text.split(' ').flatMap((word) => word.match(new RegExp(`.{1,${maxChars}}`, 'gu')) ?? ['']);
  for (const word of words) {
    const next = line === '' ? word : `${line} ${word}`;
    if (line !== '' && textWidth(next, fontSize) > maxWidth) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** A text line; squeezed to `maxWidth` by the renderer should the estimate ever fall short. */
function textLine(x: number, y: number, text: string, size: number, attrs: string, maxWidth: number): string {
  const fit = textWidth(text, size) > maxWidth ? ` textLength="${maxWidth}" lengthAdjust="spacingAndGlyphs"` : '';
  return `<text x="${x}" y="${y}" font-size="${size}"${fit} ${attrs} ${FONT}>${esc(text)}</text>`;
}

function short(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** The 1-2-5 x 10^k step at or above `raw` (at least 0.5): about six grid lines on a linear axis. */
function niceStep(raw: number): number {
  if (!(raw > 0.5)) return 0.5;
  const base = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].map((m) => m * base).find((s) => s >= raw) ?? 10 * base) as number;
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** 1-2-5 ticks over up to two decades; powers of ten only beyond that, so labels never crowd. */
function logTicks(lo: number, hi: number): number[] {
  const decades = Math.log10(hi) - Math.log10(lo);
  const mantissas = decades > 2 ? [1] : [1, 2, 5];
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mantissas) {
      const t = m * 10 ** e;
      if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t);
    }
  }
  return ticks;
}

function groupedBars(
  out: string[],
  p: Panel,
  groups: readonly string[],
  series: readonly { name: string; values: readonly number[] }[],
  y: (v: number) => number,
  label: (v: number) => string,
): void {
  const groupW = p.w / groups.length;
  const barW = Math.min(36, (groupW * 0.75) / Math.max(1, series.length));
  groups.forEach((g, gi) => {
    const cx = p.x + groupW * (gi + 0.5);
    series.forEach((s, si) => {
      const v = s.values[gi] as number;
      if (!Number.isFinite(v) || v <= 0) return;
      const bx = cx - (barW * series.length) / 2 + si * barW;
      const top = Math.max(p.y, Math.min(p.y + p.h, y(v)));
      const text = label(v);
      const mid = bx + (barW - 3) / 2;
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 3).toFixed(1)}" height="${(p.y + p.h - top).toFixed(1)}" fill="${COLORS[s.name] ?? '#666'}" rx="2"><title>${esc(`${s.name}, batch ${g}: ${text}`)}</title></rect>`,
      );
      // Side by side the labels of neighbouring bars would touch: wider than its bar, a label
      // stands upright (reading upwards) from just above the bar instead.
      if (textWidth(text, BAR_LABEL_SIZE) <= barW - 1) {
        out.push(
          `<text x="${mid.toFixed(1)}" y="${(top - 4).toFixed(1)}" font-size="${BAR_LABEL_SIZE}" text-anchor="middle" fill="#333" ${HALO} ${FONT}>${esc(text)}</text>`,
        );
      } else {
        const ly = top - 4;
        out.push(
          `<text x="${(mid + BAR_LABEL_SIZE / 2 - 1).toFixed(1)}" y="${ly.toFixed(1)}" font-size="${BAR_LABEL_SIZE}" text-anchor="start" fill="#333" ${HALO} transform="rotate(-90 ${(mid + BAR_LABEL_SIZE / 2 - 1).toFixed(1)} ${ly.toFixed(1)})" ${FONT}>${esc(text)}</text>`,
        );
      }
    });
    out.push(
      `<text x="${cx.toFixed(1)}" y="${p.y + p.h + 16}" font-size="12" text-anchor="middle" fill="#333" ${FONT}>${esc(g)}</text>`,
    );
  });
  out.push(`<line x1="${p.x}" y1="${p.y + p.h}" x2="${p.x + p.w}" y2="${p.y + p.h}" stroke="#333"/>`);
  out.push(
    `<text x="${p.x + p.w / 2}" y="${p.y + p.h + 34}" font-size="12" text-anchor="middle" fill="#555" ${FONT}>batch size (requests per decode step)</text>`,
  );
}

export function renderBenchChart(data: BenchChartData): string {
  const body: string[] = [];
  const textRoom = WIDTH - 2 * MARGIN;
  // Title and subtitle: wrapped to the canvas, each line below the last.
  let y = 32;
  for (const line of wrapText(data.title, 18, textRoom)) {
    body.push(textLine(MARGIN, y, line, 18, 'font-weight="600" fill="#202124"', textRoom));
    y += 24;
  }
  const subtitles = typeof data.subtitle === 'string' ? [data.subtitle] : data.subtitle;
  for (const line of subtitles.flatMap((s) => wrapText(s, 12, textRoom))) {
    body.push(textLine(MARGIN, y, line, 12, 'fill="#5f6368"', textRoom));
    y += 16;
  }
  // Legend: the modes, then the speedup panel's reference line (kept out of the plot, where it
  // ran into the bar labels).
  const legendY = y + 2;
  let lx = MARGIN;
  for (const m of data.modes) {
    const name = m === 'full' ? 'full graph' : m;
    body.push(`<rect x="${lx}" y="${legendY}" width="12" height="12" fill="${COLORS[m] ?? '#666'}" rx="2"/>`);
    body.push(textLine(lx + 17, legendY + 10, name, 12, 'fill="#333"', textWidth(name, 12)));
    lx += 17 + textWidth(name, 12) + 24;
  }
  const reference = 'eager = 1x (speedup panel)';
  body.push(
    `<line x1="${lx}" y1="${legendY + 6}" x2="${lx + 18}" y2="${legendY + 6}" stroke="#d93025" stroke-dasharray="5 4"/>`,
  );
  body.push(textLine(lx + 23, legendY + 10, reference, 12, 'fill="#d93025"', textWidth(reference, 12)));
  const panelTop = legendY + 58;
  const groups = data.batchSizes.map(String);

  // Left panel: step time, log scale, with HEADROOM px above the tallest bar.
  const left: Panel = { x: 80, y: panelTop, w: 400, h: 280 };
  const all = data.modes.flatMap((m) => (data.stepMs[m] ?? []).filter((v) => Number.isFinite(v) && v > 0));
  const lo = all.length ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 0.01;
  const maxLog = all.length ? Math.log10(Math.max(...all)) : 0;
  const hiLog = Math.log10(lo) + ((maxLog - Math.log10(lo)) * left.h) / (left.h - HEADROOM);
  const hi = 10 ** Math.max(hiLog, Math.log10(lo) + 1);
  const yLog = (v: number) =>
    left.y + left.h - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * left.h;
  body.push(
    textLine(
      left.x,
      left.y - 18,
      'Decode step time (ms, log scale, lower is better)',
      14,
      'font-weight="600" fill="#202124"',
      left.w + 40,
    ),
  );
  for (const t of logTicks(lo, hi)) {
    const ty = yLog(t);
    body.push(
      `<line x1="${left.x}" y1="${ty.toFixed(1)}" x2="${left.x + left.w}" y2="${ty.toFixed(1)}" stroke="#e8eaed"/>`,
    );
    body.push(
      `<text x="${left.x - 6}" y="${(ty + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#5f6368" ${FONT}>${esc(short(t))}</text>`,
    );
  }
  groupedBars(
    body,
    left,
    groups,
    data.modes.map((m) => ({ name: m, values: data.stepMs[m] ?? [] })),
    yLog,
    (v) => short(v),
  );

  // Right panel: speedup over eager, linear, with the same headroom.
  const right: Panel = { x: 560, y: panelTop, w: 400, h: 280 };
  const eager = data.stepMs.eager ?? [];
  const others = data.modes.filter((m) => m !== 'eager');
  const speedups = others.map((m) => ({
    name: m,
    values: groups.map((_, i) => (eager[i] as number) / ((data.stepMs[m] ?? [])[i] as number)),
  }));
  const fastest = Math.max(1.2, ...speedups.flatMap((s) => s.values.filter(Number.isFinite)));
  const maxSpeed = (fastest * right.h) / (right.h - HEADROOM);
  const yLin = (v: number) => right.y + right.h - (v / maxSpeed) * right.h;
  body.push(
    textLine(
      right.x,
      right.y - 18,
      'Speedup over eager (higher is better)',
      14,
      'font-weight="600" fill="#202124"',
      right.w,
    ),
  );
  const step = niceStep(maxSpeed / 6);
  for (let t = 0; t <= maxSpeed; t += step) {
    const ty = yLin(t);
    body.push(
      `<line x1="${right.x}" y1="${ty.toFixed(1)}" x2="${right.x + right.w}" y2="${ty.toFixed(1)}" stroke="#e8eaed"/>`,
    );
    body.push(
      `<text x="${right.x - 6}" y="${(ty + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#5f6368" ${FONT}>${t}x</text>`,
    );
  }
  if (eager.some(Number.isFinite)) {
    body.push(
      `<line x1="${right.x}" y1="${yLin(1).toFixed(1)}" x2="${right.x + right.w}" y2="${yLin(1).toFixed(1)}" stroke="#d93025" stroke-dasharray="5 4"/>`,
    );
    groupedBars(body, right, groups, speedups, yLin, (v) => `${v.toFixed(1)}x`);
  } else {
    body.push(
      `<text x="${right.x + right.w / 2}" y="${right.y + right.h / 2}" font-size="12" text-anchor="middle" fill="#5f6368" ${FONT}>no eager baseline measured</text>`,
    );
  }
  const height = Math.ceil(panelTop + 280 + 56);
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(data.title)}">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
  ].join('\n')}\n`;
}
