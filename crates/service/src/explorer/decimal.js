// Exact decimal arithmetic on the API's decimal strings ("100.25"), with BigInt.
// Money is never turned into a float: sums, differences and percentages are exact, and
// a displayed number is always either the API's own string or one computed here.
// (Charts use Number() for pixel positions only, never for a label.)

"use strict";

const PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/;

/** Parses a decimal string into { n: BigInt, scale } (value = n / 10^scale). */
export function parse(s) {
  const m = PATTERN.exec(String(s).trim());
  if (!m) throw new Error("not a decimal: " + String(s).slice(0, 40));
  const frac = m[3] || "";
  return { n: BigInt((m[1] || "") + m[2] + frac), scale: frac.length };
}

/** True if the string is a decimal number the API could send. */
export function isDecimal(s) {
  return typeof s === "string" && PATTERN.test(s.trim());
}

function rescale(d, scale) {
  return d.n * 10n ** BigInt(scale - d.scale);
}

function format(n, scale) {
  const neg = n < 0n;
  let digits = (neg ? -n : n).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, "0");
    digits = digits.slice(0, digits.length - scale) + "." + digits.slice(digits.length - scale);
  }
  return (neg ? "-" : "") + digits;
}

/** a + b, at the larger of the two scales. */
export function add(a, b) {
  const x = parse(a), y = parse(b);
  const s = Math.max(x.scale, y.scale);
  return format(rescale(x, s) + rescale(y, s), s);
}

/** a - b, at the larger of the two scales. */
export function sub(a, b) {
  const x = parse(a), y = parse(b);
  const s = Math.max(x.scale, y.scale);
  return format(rescale(x, s) - rescale(y, s), s);
}

/** -1, 0 or 1 as a < b, a = b, a > b. */
export function cmp(a, b) {
  const x = parse(a), y = parse(b);
  const s = Math.max(x.scale, y.scale);
  const d = rescale(x, s) - rescale(y, s);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** True if the value is zero. */
export function isZero(a) {
  return parse(a).n === 0n;
}

/** Sum of a list of decimal strings ("0" for an empty list). */
export function sum(list) {
  return list.reduce((acc, v) => add(acc, v), "0");
}

/** Drops trailing zeros after the point ("1.500" -> "1.5", "2.00" -> "2"). */
export function trim(a) {
  const s = String(a);
  if (!s.includes(".")) return s;
  return s.replace(/0+$/, "").replace(/\.$/, "");
}

/**
 * The change from `from` to `to` in percent, rounded half away from zero to `digits`
 * places, with its sign ("+1.25", "-0.40", "0.00"). `null` if `from` is zero.
 */
export function percentChange(from, to, digits = 2) {
  const x = parse(from), y = parse(to);
  if (x.n === 0n) return null;
  const s = Math.max(x.scale, y.scale);
  const a = rescale(x, s), b = rescale(y, s);
  // (b - a) / a * 100, scaled by 10^digits, rounded half away from zero.
  const num = (b - a) * 100n * 10n ** BigInt(digits);
  const den = a < 0n ? -a : a;
  const neg = num < 0n;
  const abs = neg ? -num : num;
  let q = abs / den;
  if ((abs % den) * 2n >= den) q += 1n;
  const text = format(q, digits);
  if (q === 0n) return text;
  return (neg ? "-" : "+") + text;
}
