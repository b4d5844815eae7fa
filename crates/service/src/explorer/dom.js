// Building the page: elements are created with `h()` and every value goes in as a text
// node or an attribute, never as HTML. (The Content-Security-Policy requires Trusted
// Types, so assigning an HTML string to any element would throw.)

"use strict";

const SVG = "http://www.w3.org/2000/svg";

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(el, c);
    return;
  }
  if (child instanceof Node) el.appendChild(child);
  else el.appendChild(document.createTextNode(String(child)));
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === "class") {
      el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : String(v));
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
}

/** An HTML element: `h("a", { href: "/explorer" }, "Home")`. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ------------------------------------------------------------------------ links

/** `/explorer/KIND/VALUE` with the value URL-encoded. */
export function path(kind, value) {
  return "/explorer/" + kind + "/" + encodeURIComponent(String(value));
}

/** A market symbol as it appears in a URL ("BTC/USD" -> "BTC-USD"). */
export function marketSlug(symbol) {
  return String(symbol).replace("/", "-");
}

/** `abcdef12…7890`: the start and end of a long hex string. */
export function short(hex, head = 8, tail = 4) {
  const v = String(hex ?? "");
  return v.length > head + tail + 1 ? v.slice(0, head) + "…" + v.slice(-tail) : v;
}

/** A link to a block (by height or hash). */
export function blockLink(sel, label) {
  const text = label ?? (/^\d+$/.test(String(sel)) ? "#" + sel : short(sel));
  return h("a", { href: path("block", sel), class: "mono", title: "block " + sel }, text);
}

/** A link to a transaction. */
export function txLink(hash, label) {
  return h("a", { href: path("tx", hash), class: "mono", title: "transaction " + hash }, label ?? short(hash));
}

/** A link to an order. */
export function orderLink(id, label) {
  return h("a", { href: path("order", id), class: "mono", title: "order " + id }, label ?? short(id));
}

/** A link to an address, named when it is a known validator's key. */
export function addressLink(addr, names) {
  const name = names && names.get(addr);
  return h("a", { href: path("address", addr), class: name ? "" : "mono", title: "address " + addr },
    name ?? short(addr));
}

/** A link to a market page. */
export function marketLink(symbol) {
  return h("a", { href: path("market", marketSlug(symbol)) }, symbol);
}

// ------------------------------------------------------------------------ time

const FULL = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
});
const CLOCK = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** The full local date and time of a Unix time in ms, in the viewer's time zone. */
export function fullTime(ms) {
  return FULL.format(new Date(Number(ms)));
}

/** How long ago, in words ("12 s ago", "3 min ago", "2 h ago", "4 d ago"). */
export function age(ms, now = Date.now()) {
  const d = Math.max(0, Math.round((now - Number(ms)) / 1000));
  if (d < 60) return d + " s ago";
  if (d < 3600) return Math.floor(d / 60) + " min ago";
  if (d < 86400) return Math.floor(d / 3600) + " h ago";
  return Math.floor(d / 86400) + " d ago";
}

/**
 * A time cell: the local clock time and the age ("14:02:33 · 12 s ago", the age kept
 * current), the full local date and time as its tooltip; with `ageOnly`, just the age.
 * Unknown times (`ms` undefined) show a dash until the block's time is learnt
 * (`data-height` lets `fillTimes` complete it).
 */
export function timeEl(ms, height, opts = {}) {
  const el = h("time", { class: "age", "data-height": height ?? null });
  if (opts.ageOnly) el.dataset.ageOnly = "1";
  setTime(el, ms);
  return el;
}

function setTime(el, ms) {
  if (ms === undefined || ms === null) {
    el.textContent = "–";
    return;
  }
  const d = new Date(Number(ms));
  el.dataset.ms = String(ms);
  el.setAttribute("datetime", d.toISOString());
  el.title = fullTime(ms);
  const ago = h("span", { class: "ago" }, age(ms));
  if (el.dataset.ageOnly) el.replaceChildren(ago);
  else el.replaceChildren(h("span", { class: "clock" }, CLOCK.format(d)), ago);
}

/** Refreshes every age on the page (DOM only: no request). */
export function tickAges() {
  const now = Date.now();
  for (const el of document.querySelectorAll("time.age[data-ms] .ago")) {
    el.textContent = age(el.parentNode.dataset.ms, now);
  }
}

/** Fills the time cells of blocks whose time has become known. */
export function fillTimes(times) {
  for (const el of document.querySelectorAll("time.age[data-height]:not([data-ms])")) {
    const ms = times.get(el.dataset.height);
    if (ms !== undefined) setTime(el, ms);
  }
}

// ------------------------------------------------------------------------ layout

/** A card with a title. */
export function section(title, attrs, ...children) {
  return h("section", Object.assign({ class: "card" }, attrs), title ? h("h2", {}, title) : null, ...children);
}

/**
 * A list of labelled values; each row is `[label, value, field]`, and `field` becomes
 * `data-field` on the value (the browser test reads values by it).
 */
export function kv(rows) {
  return h("dl", { class: "kv" },
    rows.filter(Boolean).map(([label, value, field]) => [
      h("dt", {}, label),
      h("dd", { "data-field": field ?? null }, value ?? "–"),
    ]));
}

/**
 * A table in a horizontally scrollable box. `columns`: `[title, cls]` pairs (`cls`
 * `num` aligns right, `opt` hides the column on a phone); `rows`: arrays of cells, or
 * rows made with `row()`.
 */
export function table(columns, rows, attrs = {}) {
  const cls = columns.map((c) => (Array.isArray(c) ? c[1] : ""));
  return h("div", { class: "table-wrap" },
    h("table", attrs,
      h("thead", {}, h("tr", {}, columns.map((c, i) => h("th", { class: cls[i] || null }, Array.isArray(c) ? c[0] : c)))),
      h("tbody", {}, rows.map((r) => (r instanceof Node ? r : row(r, cls))))));
}

/** One table row with the columns' classes. */
export function row(cells, cls, attrs) {
  return h("tr", attrs ?? {}, cells.map((c, i) => h("td", { class: (cls && cls[i]) || null }, c)));
}

/** A small coloured label. */
export function badge(text, kind) {
  return h("span", { class: "badge " + (kind ?? text) }, text);
}

/** A buy/sell word in its colour. */
export function side(s) {
  return h("span", { class: s === "buy" ? "buy" : "sell" }, s);
}

/** A muted note. */
export function note(...children) {
  return h("p", { class: "note" }, ...children);
}
