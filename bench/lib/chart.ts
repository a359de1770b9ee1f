/**
 * A small hand-written SVG line chart for bench results: one x axis (linear
 * or log), a left and an optional right y axis, each starting at 0, and a
 * legend. No dependency; the output opens in any browser.
 */

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  name: string;
  /** The y axis the series is read against. */
  axis: 'left' | 'right';
  /** Any SVG colour. */
  color: string;
  points: ChartPoint[];
  isDashed?: boolean;
}

export interface ChartOptions {
  title: string;
  /** A second, smaller line under the title (e.g. the machine and connections). */
  subtitle?: string;
  xLabel: string;
  leftLabel: string;
  rightLabel?: string;
  xScale: 'linear' | 'log';
  /** Where to put x ticks; default: the series' x values. */
  xTicks?: number[];
  series: ChartSeries[];
  width?: number;
  height?: number;
}

const MARGIN = { top: 64, right: 84, bottom: 88, left: 84 };

/** Renders the chart as a standalone SVG document. Points with a non-finite coordinate are skipped. */
export function renderLineChart(options: ChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 440;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const series = options.series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)) }));
  const isLog = options.xScale === 'log';

  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => !isLog || x > 0);
  const xTicks = (options.xTicks ?? [...new Set(xs)].sort((a, b) => a - b)).filter((x) => !isLog || x > 0);
  const allX = [...xs, ...xTicks];
  let xMin = allX.length === 0 ? 0 : Math.min(...allX);
  let xMax = allX.length === 0 ? 1 : Math.max(...allX);
  if (xMin === xMax) {
    xMin = isLog ? xMin / 2 : xMin - 1;
    xMax = isLog ? xMax * 2 : xMax + 1;
  }
  // 5% padding keeps the end points off the frame.
  if (isLog) {
    const pad = (Math.log10(xMax) - Math.log10(xMin)) * 0.05;
    xMin = 10 ** (Math.log10(xMin) - pad);
    xMax = 10 ** (Math.log10(xMax) + pad);
  } else {
    const pad = (xMax - xMin) * 0.05;
    xMin -= pad;
    xMax += pad;
  }
  const tx = (x: number): number => {
    const f = isLog ? (Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin)) : (x - xMin) / (xMax - xMin);
    return MARGIN.left + f * plotW;
  };
  const axisMax = (axis: 'left' | 'right'): number => niceMax(Math.max(0, ...series.filter((s) => s.axis === axis).flatMap((s) => s.points.map((p) => p.y))));
  const leftMax = axisMax('left');
  const rightMax = axisMax('right');
  const ty = (y: number, axis: 'left' | 'right'): number => MARGIN.top + plotH - (y / (axis === 'left' ? leftMax : rightMax)) * plotH;
  const hasRight = options.rightLabel !== undefined && series.some((s) => s.axis === 'right');

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  if (options.subtitle !== undefined) {
    out.push(`<text x="${width / 2}" y="44" text-anchor="middle" fill="#555">${escapeXml(options.subtitle)}</text>`);
  }

  // Grid and y ticks (left axis drives the grid).
  for (let i = 0; i <= 5; i++) {
    const value = (leftMax * i) / 5;
    const y = ty(value, 'left');
    out.push(`<line x1="${MARGIN.left}" y1="${fmt(y)}" x2="${MARGIN.left + plotW}" y2="${fmt(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${fmt(y + 4)}" text-anchor="end">${escapeXml(tickLabel(value))}</text>`);
    if (hasRight) {
      const rightValue = (rightMax * i) / 5;
      out.push(`<text x="${MARGIN.left + plotW + 8}" y="${fmt(y + 4)}">${escapeXml(tickLabel(rightValue))}</text>`);
    }
  }
  for (const x of xTicks) {
    const px = tx(x);
    out.push(`<line x1="${fmt(px)}" y1="${MARGIN.top}" x2="${fmt(px)}" y2="${MARGIN.top + plotH}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${fmt(px)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${escapeXml(tickLabel(x))}</text>`);
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 40}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(22 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.leftLabel)}</text>`,
  );
  if (hasRight && options.rightLabel !== undefined) {
    out.push(`<text transform="translate(${width - 20} ${MARGIN.top + plotH / 2}) rotate(90)" text-anchor="middle">${escapeXml(options.rightLabel)}</text>`);
  }

  for (const s of series) {
    if (s.points.length === 0) continue;
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    const path = sorted.map((p, i) => `${i === 0 ? 'M' : 'L'}${fmt(tx(p.x))},${fmt(ty(p.y, s.axis))}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.isDashed === true ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of sorted) {
      out.push(`<circle cx="${fmt(tx(p.x))}" cy="${fmt(ty(p.y, s.axis))}" r="3.5" fill="${s.color}"/>`);
    }
  }

  // Legend under the x label.
  let lx = MARGIN.left;
  const ly = height - 18;
  for (const s of series) {
    const label = `${s.name}${hasRight ? (s.axis === 'left' ? ' (left)' : ' (right)') : ''}`;
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.isDashed === true ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${lx + 28}" y="${ly}">${escapeXml(label)}</text>`,
    );
    lx += 40 + label.length * 6.5;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The smallest 1, 2, 2.5 or 5 × 10^k at or above `value` (1 for 0). */
function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function tickLabel(value: number): string {
  if (value >= 10_000) return `${Math.round(value / 1000).toLocaleString('en-US')}k`;
  if (value >= 1000) return `${(value / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })}k`;
  return value.toLocaleString('en-US', { maximumFractionDigits: value < 10 ? 2 : 1 });
}

function fmt(value: number): string {
  return value.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
