// The bench chart stays inside its canvas and its labels never overlap, for any data: checked on
// the text boxes the SVG asks for, sized with the same width estimate the layout uses.
import { describe, expect, it } from 'vitest';
import { type BenchChartData, renderBenchChart, textWidth, wrapText } from '../src/report/bench-chart.js';

interface Box {
  text: string;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** The box of every <text> element (upright ones rotated by -90 degrees around their anchor). */
function textBoxes(svg: string): Box[] {
  const boxes: Box[] = [];
  for (const m of svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)) {
    const attrs = m[1] as string;
    const text = (m[2] as string).replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
    const num = (name: string) => Number(new RegExp(`\\b${name}="([-\\d.]+)"`).exec(attrs)?.[1]);
    const x = num('x');
    const y = num('y');
    const size = num('font-size');
    const w = Number.isFinite(num('textLength')) ? num('textLength') : textWidth(text, size);
    const anchor = /text-anchor="(\w+)"/.exec(attrs)?.[1] ?? 'start';
    if (attrs.includes('rotate(-90')) {
      boxes.push({ text, x0: x - size, x1: x, y0: y - w, y1: y });
    } else {
      const x0 = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x;
      boxes.push({ text, x0, x1: x0 + w, y0: y - size, y1: y + size * 0.25 });
    }
  }
  return boxes;
}

const overlap = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

function checkLayout(data: BenchChartData) {
  const svg = renderBenchChart(data);
  const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)?.[1]);
  const height = Number(/<svg [^>]*height="(\d+)"/.exec(svg)?.[1]);
  const boxes = textBoxes(svg);
  for (const b of boxes) {
    expect(b.x0, b.text).toBeGreaterThanOrEqual(0);
    expect(b.x1, b.text).toBeLessThanOrEqual(width);
    expect(b.y0, b.text).toBeGreaterThanOrEqual(0);
    expect(b.y1, b.text).toBeLessThanOrEqual(height);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i] as Box, boxes[j] as Box];
      expect(overlap(a, b), `'${a.text}' overlaps '${b.text}'`).toBe(false);
    }
  }
  return svg;
}

const modes = ['eager', 'piecewise', 'full'];

describe('renderBenchChart', () => {
  it('lays out a GPU run (docs/bench, H200) without overflow or overlap', () => {
    checkLayout({
      title: 'flashgraph bench: decode step of the 32-layer synthetic decoder',
      subtitle: ['synthetic decoder, 32 layers, 32/8 heads x 128, bf16, context 1024', 'NVIDIA H200 (cc 9.0)'],
      batchSizes: [1, 8, 32, 128],
      modes,
      stepMs: { eager: [2.91, 2.65, 2.49, 5.21], piecewise: [2.36, 2.15, 2.34, 5.3], full: [0.54, 0.78, 1.55, 5.0] },
    });
  });

  it('wraps a title and subtitle longer than the canvas, and stands narrow-bar labels upright', () => {
    const svg = checkLayout({
      title: `flashgraph bench: decode step of the 2-layer synthetic decoder (CPU backend, not GPU numbers) ${'long '.repeat(20)}`,
      subtitle: `${'x'.repeat(400)} and words`,
      batchSizes: [1, 2, 4, 8, 16, 32, 64, 128],
      modes,
      stepMs: {
        eager: [12.9, 12.6, 12.4, 15.2, 16, 18, 22.5, 40],
        piecewise: [2.36, 2.15, 2.34, 5.3, 6, 7, 9, 20],
        full: [0.054, 0.078, 0.155, 0.5, 1, 2, 4, 10],
      },
    });
    expect(svg).toContain('rotate(-90');
  });

  it('handles a speedup far above 1x, a missing value and no eager baseline', () => {
    checkLayout({
      title: 't',
      subtitle: 's',
      batchSizes: [1, 8],
      modes,
      stepMs: { eager: [100, 50], piecewise: [Number.NaN, 40], full: [0.01, 0.5] },
    });
    expect(
      checkLayout({ title: 't', subtitle: 's', batchSizes: [1], modes: ['full'], stepMs: { full: [1] } }),
    ).toContain('no eager baseline measured');
  });

  it('wrapText keeps every line within the width', () => {
    for (const line of wrapText(`${'word '.repeat(50)}${'y'.repeat(300)}`, 12, 400)) {
      expect(textWidth(line, 12)).toBeLessThanOrEqual(400);
    }
  });
});
