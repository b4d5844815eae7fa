// SVG charts, drawn with DOM calls (no library): the depth chart of a book and a price
// chart of trades or candles. Coordinates use Number(); every label is an exact string
// from the API or from decimal.js.

"use strict";

import { s, h, fullTime } from "./dom.js";
import { add } from "./decimal.js";

const W = 640, H = 220, PAD_L = 8, PAD_R = 8, PAD_T = 18, PAD_B = 22;

function frame(label) {
  return s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": label });
}

function text(x, y, str, anchor = "start", cls = "axis") {
  return s("text", { x, y, "text-anchor": anchor, class: cls }, str);
}

/** Cumulative levels from the best price outward: [{price, total, level}]. */
export function cumulative(levels) {
  let total = "0";
  return levels.map((l) => {
    total = add(total, l.quantity);
    return { price: l.price, total, level: l };
  });
}

/**
 * The depth chart of a book view: cumulative bid quantity stepping down to the left of
 * the spread, cumulative ask quantity stepping up to the right.
 */
export function depthChart(book) {
  const bids = cumulative(book.bids);
  const asks = cumulative(book.asks);
  const svg = frame("Depth chart of " + book.market);
  if (!bids.length && !asks.length) {
    svg.appendChild(text(W / 2, H / 2, "The book is empty", "middle", "empty"));
    return svg;
  }
  const prices = [...bids, ...asks].map((p) => Number(p.price));
  let lo = Math.min(...prices), hi = Math.max(...prices);
  if (hi === lo) { lo -= 1; hi += 1; }
  // A margin beyond the outermost levels, so that their steps have a width.
  const margin = (hi - lo) * 0.08;
  lo -= margin;
  hi += margin;
  const maxTotal = Math.max(...[...bids, ...asks].map((p) => Number(p.total)));
  const x = (p) => PAD_L + ((Number(p) - lo) / (hi - lo)) * (W - PAD_L - PAD_R);
  const y = (q) => H - PAD_B - (Number(q) / (maxTotal || 1)) * (H - PAD_T - PAD_B);
  const base = H - PAD_B;

  const area = (points, dir, cls) => {
    if (!points.length) return null;
    // Steps: from the best price outward, holding each total until the next level.
    let d = `M ${x(points[0].price)} ${base}`;
    let prevY = base;
    for (const p of points) {
      d += ` L ${x(p.price)} ${prevY} L ${x(p.price)} ${y(p.total)}`;
      prevY = y(p.total);
    }
    const edge = dir < 0 ? PAD_L : W - PAD_R;
    d += ` L ${edge} ${prevY} L ${edge} ${base} Z`;
    return s("path", { d, class: cls });
  };
  svg.appendChild(s("line", { x1: PAD_L, y1: base, x2: W - PAD_R, y2: base, class: "baseline" }));
  for (const a of [area(bids, -1, "bids"), area(asks, 1, "asks")]) if (a) svg.appendChild(a);
  const top = [...bids, ...asks].find((p) => Number(p.total) === maxTotal);
  svg.appendChild(text(PAD_L, PAD_T - 5, "total " + (top ? top.total : "")));
  const lowLabel = bids.length ? bids[bids.length - 1].price : asks[0].price;
  const highLabel = asks.length ? asks[asks.length - 1].price : bids[0].price;
  svg.appendChild(text(PAD_L, H - 6, lowLabel));
  svg.appendChild(text(W - PAD_R, H - 6, highLabel, "end"));
  if (bids.length && asks.length) {
    const mid = (x(bids[0].price) + x(asks[0].price)) / 2;
    svg.appendChild(text(mid, H - 6, bids[0].price + " | " + asks[0].price, "middle", "axis strong"));
  }
  return svg;
}

/**
 * A price line. `points`: [{x: Number (height or ms), price: "string", title}] in any
 * order; `xLabel(x)` formats the axis ends.
 */
export function priceChart(points, opts = {}) {
  const svg = frame(opts.label ?? "Price chart");
  if (points.length === 0) {
    svg.appendChild(text(W / 2, H / 2, "No trades yet", "middle", "empty"));
    return svg;
  }
  const pts = [...points].sort((a, b) => a.x - b.x);
  const xs = pts.map((p) => p.x), ys = pts.map((p) => Number(p.price));
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const X = (v) => PAD_L + ((v - x0) / (x1 - x0)) * (W - PAD_L - PAD_R);
  const Y = (v) => H - PAD_B - ((v - y0) / (y1 - y0)) * (H - PAD_T - PAD_B);
  svg.appendChild(s("line", { x1: PAD_L, y1: H - PAD_B, x2: W - PAD_R, y2: H - PAD_B, class: "baseline" }));
  const d = pts.map((p, i) => (i ? "L " : "M ") + X(p.x) + " " + Y(Number(p.price))).join(" ");
  svg.appendChild(s("path", { d, class: "line" }));
  for (const p of pts.slice(-200)) {
    svg.appendChild(s("circle", { cx: X(p.x), cy: Y(Number(p.price)), r: 2.5, class: "dot" },
      s("title", {}, p.title ?? p.price)));
  }
  // Labels: the highest and lowest price as the API wrote them.
  const hiPt = pts.reduce((a, b) => (Number(b.price) > Number(a.price) ? b : a));
  const loPt = pts.reduce((a, b) => (Number(b.price) < Number(a.price) ? b : a));
  svg.appendChild(text(PAD_L, PAD_T - 5, `high ${hiPt.price} · low ${loPt.price}`));
  const fmt = opts.xLabel ?? ((v) => String(v));
  svg.appendChild(text(PAD_L, H - 6, fmt(pts[0].x)));
  svg.appendChild(text(W - PAD_R, H - 6, fmt(pts[pts.length - 1].x), "end"));
  return svg;
}

/** An axis label for a time in ms. */
export function timeLabel(ms) {
  return fullTime(ms);
}

/** A caption under a chart. */
export function caption(...children) {
  return h("p", { class: "caption" }, ...children);
}
