// The `flashgraph bench --chart` picture: our own small SVG, two panels side by side.
// Left: decode step time per batch size and mode (log scale, value on every bar).
// Right: speedup of piecewise and full graphs over eager, with the 1x line.

export interface BenchChartData {
  title: string;
  subtitle: string;
  batchSizes: readonly number[];
  /** Modes in drawing order; eager first (the speedup baseline). */
  modes: readonly string[];
  /** stepMs[mode][i]: median decode step time at batchSizes[i] (NaN when not measured). */
  stepMs: Readonly<Record<string, readonly number[]>>;
}

const COLORS: Record<string, string> = { eager: '#9aa0a6', piecewise: '#4285f4', full: '#0f9d58' };
const FONT = 'font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function short(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
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
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 3).toFixed(1)}" height="${(p.y + p.h - top).toFixed(1)}" fill="${COLORS[s.name] ?? '#666'}" rx="2"><title>${esc(`${s.name}, batch ${g}: ${label(v)}`)}</title></rect>`,
        `<text x="${(bx + (barW - 3) / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" font-size="10" text-anchor="middle" fill="#333" ${FONT}>${esc(label(v))}</text>`,
      );
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
  const W = 1000;
  const H = 480;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(data.title)}">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="24" y="32" font-size="18" font-weight="600" fill="#202124" ${FONT}>${esc(data.title)}</text>`);
  out.push(`<text x="24" y="52" font-size="12" fill="#5f6368" ${FONT}>${esc(data.subtitle)}</text>`);
  // Legend.
  data.modes.forEach((m, i) => {
    const lx = 24 + i * 110;
    out.push(`<rect x="${lx}" y="66" width="12" height="12" fill="${COLORS[m] ?? '#666'}" rx="2"/>`);
    out.push(
      `<text x="${lx + 17}" y="76" font-size="12" fill="#333" ${FONT}>${esc(m === 'full' ? 'full graph' : m)}</text>`,
    );
  });
  const groups = data.batchSizes.map(String);

  // Left panel: step time, log scale.
  const left: Panel = { x: 80, y: 124, w: 400, h: 280 };
  const all = data.modes.flatMap((m) => (data.stepMs[m] ?? []).filter((v) => Number.isFinite(v) && v > 0));
  const lo = all.length ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 0.01;
  const hi = all.length ? 10 ** Math.ceil(Math.log10(Math.max(...all) * 1.6)) : 1;
  const yLog = (v: number) =>
    left.y + left.h - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * left.h;
  out.push(
    `<text x="${left.x}" y="${left.y - 18}" font-size="14" font-weight="600" fill="#202124" ${FONT}>Decode step time (ms, log scale, lower is better)</text>`,
  );
  for (const t of logTicks(lo, hi)) {
    const ty = yLog(t);
    out.push(
      `<line x1="${left.x}" y1="${ty.toFixed(1)}" x2="${left.x + left.w}" y2="${ty.toFixed(1)}" stroke="#e8eaed"/>`,
    );
    out.push(
      `<text x="${left.x - 6}" y="${(ty + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#5f6368" ${FONT}>${esc(short(t))}</text>`,
    );
  }
  groupedBars(
    out,
    left,
    groups,
    data.modes.map((m) => ({ name: m, values: data.stepMs[m] ?? [] })),
    yLog,
    (v) => short(v),
  );

  // Right panel: speedup over eager.
  const right: Panel = { x: 560, y: 124, w: 400, h: 280 };
  const eager = data.stepMs.eager ?? [];
  const others = data.modes.filter((m) => m !== 'eager');
  const speedups = others.map((m) => ({
    name: m,
    values: groups.map((_, i) => (eager[i] as number) / ((data.stepMs[m] ?? [])[i] as number)),
  }));
  const maxSpeed = Math.max(1.2, ...speedups.flatMap((s) => s.values.filter(Number.isFinite))) * 1.15;
  const yLin = (v: number) => right.y + right.h - (v / maxSpeed) * right.h;
  out.push(
    `<text x="${right.x}" y="${right.y - 18}" font-size="14" font-weight="600" fill="#202124" ${FONT}>Speedup over eager (higher is better)</text>`,
  );
  const step = maxSpeed > 8 ? 2 : maxSpeed > 4 ? 1 : 0.5;
  for (let t = 0; t <= maxSpeed; t += step) {
    const ty = yLin(t);
    out.push(
      `<line x1="${right.x}" y1="${ty.toFixed(1)}" x2="${right.x + right.w}" y2="${ty.toFixed(1)}" stroke="#e8eaed"/>`,
    );
    out.push(
      `<text x="${right.x - 6}" y="${(ty + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#5f6368" ${FONT}>${t}x</text>`,
    );
  }
  if (eager.some(Number.isFinite)) {
    groupedBars(out, right, groups, speedups, yLin, (v) => `${v.toFixed(1)}x`);
    out.push(
      `<line x1="${right.x}" y1="${yLin(1).toFixed(1)}" x2="${right.x + right.w}" y2="${yLin(1).toFixed(1)}" stroke="#d93025" stroke-dasharray="5 4"/>`,
    );
    out.push(
      `<text x="${right.x + right.w}" y="${(yLin(1) - 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#d93025" ${FONT}>eager = 1x</text>`,
    );
  } else {
    out.push(
      `<text x="${right.x + right.w / 2}" y="${right.y + right.h / 2}" font-size="12" text-anchor="middle" fill="#5f6368" ${FONT}>no eager baseline measured</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
