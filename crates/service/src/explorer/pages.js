// The pages. Each page is `async (ctx, arg, query) => { title, node }`: it reads what it
// shows from the node (HTTP), then registers its live updates through `ctx` (pushes
// over the WebSocket; `ctx` drops them when the user navigates away). A page throws
// `NotFound` for an object the chain does not have.

"use strict";

import {
  h, fill, path, short, blockLink, txLink, orderLink, addressLink, marketLink, marketSlug,
  timeEl, fullTime, section, kv, table, row, badge, side, note,
} from "./dom.js";
import { call, all, batch, optional, RpcError } from "./rpc.js";
import { sub, cmp, isZero, percentChange, isDecimal, sum } from "./decimal.js";
import { depthChart, priceChart, cumulative, caption } from "./charts.js";

/** Thrown by a page when the object does not exist. */
export class NotFound extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

const HEX64 = /^(0x)?[0-9a-fA-F]{64}$/;
const DAY_MS = 86_400_000;

function hex(v) {
  return String(v).toLowerCase().replace(/^0x/, "");
}

function pick(o, ...names) {
  if (!o) return undefined;
  for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
  return undefined;
}

/** A block's time in ms: the proposer's (Streamlet) or miner's (Nakamoto) timestamp. */
export function blockTime(b) {
  const t = pick(b, "time_ms", "timestamp_ms") ?? pick(b.consensus, "time_ms");
  return t === undefined ? undefined : Number(t);
}

function tradeTime(app, t) {
  const own = pick(t, "time_ms", "block_time_ms", "timestamp_ms");
  return own !== undefined ? Number(own) : app.times.get(String(t.block_height));
}

/** Learns the times of the blocks at `heights` (one batch for the unknown ones). */
export async function ensureTimes(app, heights) {
  const need = [...new Set(heights.map(String))].filter((x) => !app.times.has(x));
  if (!need.length) return;
  const res = await batch(need.map((x) => ["get_block", [x]]));
  res.forEach((r) => {
    if (r.ok) app.learnBlock(r.value);
  });
}

function clientId(v) {
  return String(v ?? "?").replace(/^0+(?=.)/, "");
}

/** "order X" or "the order with client id N", for an order reference. */
function orderRefWords(o) {
  o = o || {};
  if (o.order_id) return ["order ", orderLink(o.order_id)];
  return ["the order with client id " + clientId(o.client_order_id)];
}

function payloadWords(p, app, opts = {}) {
  switch (p.type) {
    case "place_order": {
      const m = app.marketById(p.market);
      const base = m ? m.base : "";
      const quote = m ? m.quote : "";
      let at;
      if (p.kind === "market") at = p.price != null ? `at market, no worse than ${p.price} ${quote}` : "at market";
      else at = `at ${p.price} ${quote}`;
      const extras = [p.kind, p.time_in_force];
      if (p.client_order_id) extras.push("client id " + clientId(p.client_order_id));
      if (p.good_till_height != null) extras.push("good till block " + p.good_till_height);
      return [p.side === "buy" ? "Buy " : "Sell ", `${p.quantity} ${base} ${at} on `,
        m ? marketLink(m.symbol) : "market #" + p.market, ` (${extras.join(", ")})`];
    }
    case "cancel_order":
      return ["Cancel ", ...orderRefWords(p.order)];
    case "amend_order": {
      const changes = [];
      if (p.price != null) changes.push("price to " + p.price);
      if (p.quantity != null) changes.push("quantity to " + p.quantity);
      return ["Amend ", ...orderRefWords(p.order), ": " + (changes.join(" and ") || "no change")];
    }
    case "schedule_cancel":
      if (p.at_height != null) return ["Arm the dead man's switch: cancel every open order of the sender at block ", blockLink(p.at_height)];
      return ["Clear the dead man's switch"];
    case "batch": {
      const actions = Array.isArray(p.actions) ? p.actions : [];
      const n = actions.length;
      if (!opts.full) {
        // In tables: the count by kind; the transaction page lists each action.
        const kinds = new Map();
        for (const a of actions) kinds.set(a.type, (kinds.get(a.type) ?? 0) + 1);
        const parts = [...kinds].map(([k, c]) => `${c} ${String(k).replace(/_/g, " ")}`);
        return [`Batch of ${n} action${n === 1 ? "" : "s"} (${parts.join(", ")})`];
      }
      const results = opts.actions || [];
      const items = actions.map((a, i) => {
        const r = results.find((x) => Number(x.index) === i);
        const status = r ? [" ", badge(r.status, "st-" + (r.status === "ok" ? "final" : "rejected"))] : [];
        const placed = r && r.order_id ? [" → ", orderLink(r.order_id)] : [];
        const why = r && r.error ? [" ", h("span", { class: "reason" }, r.error.message)] : [];
        return h("li", { "data-action": String(i) }, payloadWords(a, app), placed, status, why);
      });
      return [`Batch of ${n} action${n === 1 ? "" : "s"}:`, h("ol", { class: "actions" }, items)];
    }
    case "cancel_all":
      if (p.market != null) {
        const m = app.marketById(p.market);
        return ["Cancel every open order on ", m ? marketLink(m.symbol) : "market #" + p.market];
      }
      return ["Cancel every open order on every market"];
    case "transfer":
      return ["Send ", `${p.amount} ${app.asset(p.asset)} to `, addressLink(p.to, app.names)];
    default:
      return ["A transaction of type " + String(p.type)];
  }
}

const REASONS = {
  user: "by its owner",
  cancel_all: "by a cancel-all",
  scheduled: "by the owner's dead man's switch",
  good_till: "good-till height reached",
  ioc_remainder: "immediate-or-cancel remainder",
  self_trade: "self-trade prevention",
  insufficient_balance: "insufficient balance",
  price_bound: "price bound reached",
};

function reasonWords(r) {
  return REASONS[r] ?? String(r);
}

function eventWords(e, app) {
  switch (e.type) {
    case "order_accepted":
      return ["Order ", orderLink(e.order_id), " accepted: ", side(e.side),
        ` ${e.quantity} ${e.price != null ? "at " + e.price : "at market"} (${e.kind}, ${e.time_in_force}) on `, marketLink(e.market)];
    case "fill":
      return ["Trade ", String(e.trade_id), ": ", `${e.quantity} at ${e.price} between maker `, orderLink(e.maker_order_id),
        " (", addressLink(e.maker, app.names), ") and taker ", orderLink(e.taker_order_id), " (", addressLink(e.taker, app.names), ")"];
    case "order_rested":
      return ["Order ", orderLink(e.order_id), ` rests on the book: ${e.remaining} at ${e.price}`];
    case "order_cancelled":
      return ["Order ", orderLink(e.order_id), ` cancelled ${reasonWords(e.reason)}; ${e.remaining} was still open`];
    case "order_expired":
      return ["Order ", orderLink(e.order_id), ` expired (${reasonWords(e.reason)}); ${e.remaining} dropped`];
    case "transferred":
      return [addressLink(e.from, app.names), ` sent ${e.amount} ${e.asset} to `, addressLink(e.to, app.names)];
    case "order_amended":
      return ["Order ", orderLink(e.order_id), ` amended: ${e.quantity} at ${e.price}, ${e.remaining} open (`,
        e.priority_kept ? "kept its place in the queue" : "moved to the back of the queue", ")"];
    case "cancel_scheduled":
      if (e.at_height != null) return ["Every open order of ", addressLink(e.account, app.names), " will be cancelled at block ", blockLink(e.at_height)];
      return ["The dead man's switch of ", addressLink(e.account, app.names), " was cleared"];
    default:
      return ["Event " + String(e.type)];
  }
}

function statusBadge(status) {
  const words = {
    pending: "pending (in a mempool)",
    included: "included (block not final yet)",
    final: "final",
    rejected: "rejected",
  };
  return badge(words[status] ?? String(status), "st-" + status);
}

// --------------------------------------------------------------------- shared tables

const TRADE_COLS = [["Trade", "opt"], "Market", "Side", ["Price", "num"], ["Quantity", "num"], "Block", ["Time", "opt"]];


function tradeRow(app, t, opts = {}) {
  const cells = [
    String(t.trade_id),
    marketLink(t.market),
    side(t.taker_side),
    t.price,
    t.quantity,
    blockLink(t.block_height),
    timeEl(tradeTime(app, t), t.block_height),
  ];
  const cls = TRADE_COLS.map((c) => (Array.isArray(c) ? c[1] : ""));
  if (opts.noMarket) {
    cells.splice(1, 1);
    cls.splice(1, 1);
  }
  return row(cells, cls, { "data-trade": String(t.trade_id) });
}

function tradesTable(app, trades, opts = {}) {
  const cols = TRADE_COLS.slice();
  if (opts.noMarket) cols.splice(1, 1);
  const t = table(cols, [], { class: "trades" });
  const body = t.querySelector("tbody");
  for (const tr of trades) body.appendChild(tradeRow(app, tr, opts));
  if (!trades.length) body.appendChild(h("tr", {}, h("td", { colspan: cols.length, class: "empty" }, "No trades yet")));
  return t;
}

/** Fills, from one account's point of view. */
function fillRow(app, f, account) {
  const asTaker = f.taker === account;
  const mySide = pick(f, "side") ?? (asTaker ? f.taker_side : f.taker_side === "buy" ? "sell" : "buy");
  const liquidity = pick(f, "liquidity") ?? (asTaker ? "taker" : "maker");
  const fee = pick(f, "fee") ?? (asTaker ? f.taker_fee : f.maker_fee);
  const order = pick(f, "order_id") ?? (asTaker ? f.taker_order_id : f.maker_order_id);
  return row([
    String(f.trade_id), marketLink(f.market), side(mySide), liquidity, f.price, f.quantity,
    fee ?? "–", order ? orderLink(order) : "–", blockLink(f.block_height),
    timeEl(tradeTime(app, f), f.block_height),
  ], ["opt", "", "", "opt", "num", "num", "num opt", "", "", "opt"], { "data-trade": String(f.trade_id) });
}
const FILL_COLS = [["Trade", "opt"], "Market", "Side", ["Role", "opt"], ["Price", "num"], ["Quantity", "num"],
  ["Fee", "num opt"], "Order", "Block", ["Time", "opt"]];

function orderRow(o) {
  return row([
    orderLink(o.order_id), marketLink(o.market), side(o.side), o.price ?? "market", o.quantity,
    o.filled, badge(o.status, "st-" + o.status), o.placed_height ? blockLink(o.placed_height) : "–",
  ], ["", "", "", "num", "num opt", "num opt", "", "opt"], { "data-order": o.order_id });
}
const ORDER_COLS = ["Order", "Market", "Side", ["Price", "num"], ["Quantity", "num opt"], ["Filled", "num opt"], "Status", ["Placed", "opt"]];

/** A "Load older" button that appends pages until there are none. */
function pager(load) {
  const btn = h("button", { type: "button", class: "more" }, "Load older");
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    btn.textContent = "Loading…";
    try {
      const more = await load();
      btn.textContent = "Load older";
      btn.disabled = false;
      if (!more) btn.remove();
    } catch (e) {
      btn.textContent = "Failed: " + e.message + " (retry)";
      btn.disabled = false;
    }
  });
  return btn;
}

// --------------------------------------------------------------------- 24-hour stats

/**
 * Last price and 24-hour change of a market. Uses the node's `get_market_stats` when
 * it has one; otherwise computes the change from the trades and the blocks' times:
 * the first trade of the last 24 hours is the open (found by bisecting trade ids when
 * it is older than the latest page).
 */
export async function dayStats(app, market, recent) {
  const st = await optional("get_market_stats", { market: market.symbol });
  if (st) {
    const last = pick(st, "last_price", "last");
    const open = pick(st, "open_price_24h", "open_24h", "open");
    let change = pick(st, "change_24h_pct", "price_change_percent_24h", "change_percent_24h");
    if (change === undefined && open && last) change = percentChange(open, last);
    return {
      last, change: change === undefined ? null : String(change),
      volume: pick(st, "volume_24h", "base_volume_24h", "volume"),
      high: pick(st, "high_24h", "high"), low: pick(st, "low_24h", "low"),
    };
  }
  const items = recent.items;
  if (!items.length) return { last: null, change: null };
  const last = items[0].price;
  await ensureTimes(app, items.map((t) => t.block_height));
  const since = app.latestTime() - DAY_MS;
  const inWindow = items.filter((t) => (tradeTime(app, t) ?? 0) >= since);
  let open = inWindow.length ? inWindow[inWindow.length - 1] : null;
  if (open && inWindow.length === items.length && recent.next_cursor) {
    open = await firstTradeSince(app, market, since, BigInt(items[items.length - 1].trade_id)) ?? open;
  }
  return { last, change: open ? percentChange(open.price, last) : null, open: open ? open.price : null };
}

async function firstTradeSince(app, market, since, knownId) {
  // t(c) = the newest trade of the market with an id below c; its time grows with c.
  let lo = 1n, hi = knownId + 1n, found = null;
  for (let step = 0; lo < hi && step < 64; step++) {
    const mid = (lo + hi) / 2n;
    const page = await call("get_trades", [market.symbol, 1, String(mid)]);
    const t = page.items[0];
    if (t) await ensureTimes(app, [t.block_height]);
    if (t && (tradeTime(app, t) ?? 0) >= since) {
      hi = mid;
      found = t;
    } else {
      lo = mid + 1n;
    }
  }
  if (!found || BigInt(found.trade_id) + 1n !== hi) {
    const page = await call("get_trades", [market.symbol, 1, String(hi)]);
    found = page.items[0] ?? found;
  }
  return found;
}

function changeEl(change) {
  if (change === null || change === undefined) return h("span", { class: "muted" }, "–");
  const s = String(change);
  const cls = s.startsWith("-") ? "sell" : /^\+?0(\.0*)?$/.test(s.replace("+", "")) ? "muted" : "buy";
  return h("span", { class: cls }, (s.startsWith("-") || s.startsWith("+") ? s : "+" + s) + "%");
}

// --------------------------------------------------------------------- home

function statusRows(s) {
  return [
    ["Chain", s.chain_id, "chain_id"],
    ["Consensus", s.consensus, "consensus"],
    ["Final height", blockLink(s.final_height, s.final_height), "final_height"],
    ["Latest height", s.latest_height, "latest_height"],
    ["State root", h("span", { class: "mono", title: s.state_root }, short(s.state_root)), "state_root"],
    ["Peers", String(s.peers), "peers"],
    ["Mempool", String(s.mempool_size) + " txs", "mempool_size"],
    ["Syncing", s.syncing ? "yes" : "no", "syncing"],
    ["Node version", s.node_version, "node_version"],
  ];
}

function validatorRows(app, validators, status, full) {
  const fh = status ? BigInt(status.final_height) : null;
  return validators.map((v) => {
    const cells = [
      h("a", { href: path("address", v.public_key), title: v.public_key }, v.name),
      v.last_proposal
        ? [blockLink(v.last_proposal), " ", timeEl(v.last_proposal_time_ms, v.last_proposal, { ageOnly: true })]
        : h("span", { class: "muted" }, "none recently"),
      v.last_vote ? blockLink(v.last_vote) : h("span", { class: "muted" }, status && status.consensus === "nakamoto" ? "n/a" : "none recently"),
    ];
    if (full) {
      const recent = v.last_vote ?? v.last_proposal;
      const active = recent && fh !== null && fh - BigInt(recent) <= 20n;
      cells.unshift(String(v.index));
      cells.splice(2, 0, h("span", { class: "mono" }, short(v.public_key, 12, 6)));
      cells.push(badge(active ? "active" : "not seen lately", active ? "st-final" : "st-rejected"));
    }
    return row(cells, full ? ["opt", "name", "opt", "", "", ""] : ["name"], { "data-validator": String(v.index) });
  });
}

function blockRow(app, b) {
  const proposer = pick(b.consensus, "proposer", "miner");
  return h("div", { class: "brow", "data-height": b.height },
    h("span", { class: "h" }, blockLink(b.height)),
    timeEl(blockTime(b), b.height),
    h("span", { class: "who" }, proposer ? addressLink(proposer, app.names) : "–"),
    h("span", { class: "n" }, b.tx_count === 1 ? "1 tx" : `${b.tx_count} txs`),
    h("span", { class: "hash opt" }, blockLink(b.hash, short(b.hash))));
}

export async function home(ctx) {
  const { app } = ctx;
  const [status, validators] = await all([["chain_status"], ["get_validators"]]);
  app.learnValidators(validators);
  app.learnFinal(status.final_height);
  const heights = [];
  for (let x = BigInt(status.final_height); x >= 1n && heights.length < 20; x--) heights.push(String(x));
  const res = await all(heights.map((x) => ["get_block", [x]])
    .concat(app.markets.map((m) => ["get_trades", [m.symbol, 30]])));
  const blocks = res.slice(0, heights.length);
  blocks.forEach((b) => app.learnBlock(b));
  const pages = res.slice(heights.length);
  let trades = pages.flatMap((p) => p.items);
  trades.sort((a, b) => cmp(b.trade_id, a.trade_id));
  trades = trades.slice(0, 15);
  await ensureTimes(app, trades.map((t) => t.block_height));

  // Chain status and validators.
  const statusBox = h("div", {}, kv(statusRows(status)));
  const valTable = table(["Validator", "Last proposal", "Last vote"], validatorRows(app, validators, status, false), { class: "validators" });

  // Latest blocks, runs of empty blocks folded.
  const openRuns = new Set();
  const list = h("div", { class: "blocks", id: "latest-blocks" });
  const renderBlocks = () => {
    const out = [h("div", { class: "brow head" }, h("span", {}, "Block"), h("span", {}, "Time"), h("span", {}, "Proposer"), h("span", {}, "Txs"), h("span", { class: "opt" }, "Hash"))];
    for (let i = 0; i < blocks.length;) {
      let j = i;
      while (j < blocks.length && blocks[j].tx_count === 0) j++;
      if (j - i >= 2) {
        const run = blocks.slice(i, j);
        const key = run[run.length - 1].height;
        const d = h("details", { class: "empties", open: openRuns.has(key) },
          h("summary", {}, `${run.length} empty blocks, #${run[run.length - 1].height} to #${run[0].height}`),
          run.map((b) => blockRow(app, b)));
        d.addEventListener("toggle", () => (d.open ? openRuns.add(key) : openRuns.delete(key)));
        out.push(d);
        i = j;
      } else {
        out.push(blockRow(app, blocks[i]));
        i++;
      }
    }
    fill(list, out);
  };
  renderBlocks();

  // Latest trades.
  const tradesBox = h("div", { id: "latest-trades" }, tradesTable(app, trades));
  const renderTrades = () => fill(tradesBox, tradesTable(app, trades));

  // Markets with last price and 24-hour change (filled in when known).
  const marketCells = new Map();
  const marketRows = app.markets.map((m, i) => {
    const cells = { last: h("span", {}, pages[i].items[0] ? pages[i].items[0].price : "–"), change: h("span", { class: "muted" }, "…"), volume: h("span", { class: "muted" }, "–") };
    marketCells.set(m.symbol, { cells, recent: pages[i], stats: null });
    return row([marketLink(m.symbol), cells.last, cells.change, cells.volume], ["", "num", "num", "num opt"], { "data-market": m.symbol });
  });
  const marketsTable = table(["Market", ["Last price", "num"], ["24 h change", "num"], ["24 h volume", "num opt"]], marketRows, { class: "markets" });
  const loadStats = (m) => {
    const entry = marketCells.get(m.symbol);
    dayStats(app, m, entry.recent).then((st) => {
      entry.stats = st;
      fill(entry.cells.change, changeEl(st.change));
      if (st.last) fill(entry.cells.last, st.last);
      if (st.volume) fill(entry.cells.volume, String(st.volume));
    }).catch((e) => fill(entry.cells.change, h("span", { class: "muted", title: e.message }, "?")));
  };
  app.markets.forEach(loadStats);

  // Live: blocks and trades are pushed; the status and validators' votes are read
  // again at most every 10 seconds, and only when blocks arrive.
  const refreshSlow = ctx.throttle(async () => {
    const [st, vals] = await all([["chain_status"], ["get_validators"]]);
    app.learnValidators(vals);
    Object.assign(status, st);
    fill(statusBox, kv(statusRows(status)));
    fill(valTable.querySelector("tbody"), validatorRows(app, vals, status, false));
  }, 10_000);
  ctx.onBlock((b) => {
    if (blocks.length && BigInt(b.height) <= BigInt(blocks[0].height)) return;
    blocks.unshift(b);
    blocks.length = Math.min(blocks.length, 20);
    renderBlocks();
    status.final_height = b.height;
    if (BigInt(status.latest_height) < BigInt(b.height)) status.latest_height = b.height;
    status.final_hash = b.hash;
    if (b.state_root) status.state_root = b.state_root;
    fill(statusBox, kv(statusRows(status)));
    const author = pick(b.consensus, "proposer", "miner");
    const v = validators.find((x) => x.public_key === author);
    if (v) {
      v.last_proposal = b.height;
      v.last_proposal_time_ms = blockTime(b);
      fill(valTable.querySelector("tbody"), validatorRows(app, validators, status, false));
    }
    refreshSlow();
  });
  for (const m of app.markets) {
    ctx.subscribe("subscribe_trades", [m.symbol], (t) => {
      if (trades.some((x) => x.trade_id === t.trade_id)) return;
      trades.unshift(t);
      trades.sort((a, b) => cmp(b.trade_id, a.trade_id));
      trades = trades.slice(0, 15);
      renderTrades();
      const entry = marketCells.get(m.symbol);
      fill(entry.cells.last, t.price);
      if (entry.stats && entry.stats.open) fill(entry.cells.change, changeEl(percentChange(entry.stats.open, t.price)));
      else if (entry.stats && entry.stats.change === null) {
        entry.stats.open = t.price;
        fill(entry.cells.change, changeEl(percentChange(t.price, t.price)));
      }
    });
  }

  const node = h("div", { class: "grid home" },
    section("Chain", { id: "status" }, statusBox),
    section("Validators", { id: "home-validators" }, valTable, h("p", { class: "more-link" }, h("a", { href: "/explorer/validators" }, "All validators →"))),
    section("Latest blocks", { id: "blocks", class: "card wide" }, list),
    section("Latest trades", { id: "trades" }, tradesBox),
    section("Markets", { id: "markets" }, marketsTable));
  return { title: "ledger-node explorer", node };
}

// --------------------------------------------------------------------- validators

export async function validators(ctx) {
  const { app } = ctx;
  const [vals, status] = await all([["get_validators"], ["chain_status"]]);
  app.learnValidators(vals);
  const nakamoto = status.consensus === "nakamoto";
  const t = table([["#", "opt"], "Name", ["Key", "opt"], nakamoto ? "Last mined block" : "Last proposal", "Last vote", "State"],
    validatorRows(app, vals, status, true), { class: "validators" });
  const body = t.querySelector("tbody");
  const render = () => fill(body, validatorRows(app, vals, status, true));
  const refresh = ctx.throttle(async () => {
    const [v2, s2] = await all([["get_validators"], ["chain_status"]]);
    vals.splice(0, vals.length, ...v2);
    Object.assign(status, s2);
    render();
  }, 10_000);
  ctx.onBlock((b) => {
    status.final_height = b.height;
    const author = pick(b.consensus, "proposer", "miner");
    const v = vals.find((x) => x.public_key === author);
    if (v) {
      v.last_proposal = b.height;
      v.last_proposal_time_ms = blockTime(b);
      render();
    }
    refresh();
  });
  const quorum = Math.ceil((2 * vals.length) / 3);
  const node = h("div", {},
    section(nakamoto ? "Miners" : "Validators", { id: "validators" },
      note(nakamoto
        ? "Nakamoto proof of work: a block is final once buried deep enough. Listed are the genesis miners; the last mined block looks at the latest 256 final blocks."
        : `Streamlet: ${vals.length} validator${vals.length === 1 ? "" : "s"}; a block is notarized by ${quorum} vote${quorum === 1 ? "" : "s"}. Last proposal and last vote look at the latest 256 final blocks.`),
      t));
  return { title: "Validators", node };
}

// --------------------------------------------------------------------- block

export async function block(ctx, arg) {
  const { app } = ctx;
  const sel = decodeURIComponent(arg);
  const named = ["latest", "final", "finalized"].includes(sel.toLowerCase());
  if (!named && !/^\d+$/.test(sel) && !HEX64.test(sel)) {
    throw new NotFound(`“${sel}” is not a block height or a block hash.`);
  }
  const [b, status] = await batch([["get_block", [named ? sel.toLowerCase() : hex(sel), true]], ["chain_status"]]);
  if (!b.ok) {
    if (b.error.notFound) {
      const fh = status.ok ? status.value.final_height : "?";
      throw new NotFound(/^\d+$/.test(sel)
        ? `There is no block at height ${sel} yet. The final height is ${fh}.`
        : `No block has the hash ${sel}.`);
    }
    throw b.error;
  }
  const blk = b.value;
  app.learnBlock(blk);
  if (named) ctx.replaceUrl(path("block", blk.height));
  const certRes = blk.final ? await batch([["get_block_certificate", [blk.hash]]]) : [{ ok: false }];
  const cert = certRes[0].ok ? certRes[0].value : null;

  const c = blk.consensus;
  const height = BigInt(blk.height);
  const nav = h("p", { class: "pager" },
    height > 1n ? h("a", { href: path("block", String(height - 1n)), rel: "prev" }, "← #" + (height - 1n)) : null,
    " ",
    h("a", { href: path("block", String(height + 1n)), rel: "next" }, "#" + (height + 1n) + " →"));
  const author = pick(c, "proposer", "miner");
  const header = kv([
    ["Height", blk.height, "height"],
    ["Hash", h("span", { class: "mono break" }, blk.hash), "hash"],
    ["Status", blk.final ? badge("final", "st-final") : badge("not final yet", "st-included"), "final"],
    ["Time", blockTime(blk) !== undefined ? [fullTime(blockTime(blk)), " (", timeEl(blockTime(blk), blk.height, { ageOnly: true }), ")"] : "–", "time"],
    [c.kind === "nakamoto" ? "Miner" : "Proposer", author ? addressLink(author, app.names) : "–", "proposer"],
    c.kind === "streamlet" ? ["Epoch", c.epoch, "epoch"] : null,
    ["Parent", height > 1n ? blockLink(blk.parent, short(blk.parent, 16, 6)) : h("span", { class: "mono", title: blk.parent }, "genesis " + short(blk.parent)), "parent"],
    ["Transactions", String(blk.tx_count), "tx_count"],
    ["Transaction root", h("span", { class: "mono break" }, blk.tx_root), "tx_root"],
    ["State root", blk.state_root ? h("span", { class: "mono break" }, blk.state_root) : "– (not executed: the block is not final)", "state_root"],
  ]);

  let proof;
  if (c.kind === "nakamoto") {
    proof = kv([
      ["Proof of work", "the header hash is at most the target", null],
      ["Target", h("span", { class: "mono break" }, c.target), "target"],
      ["Nonce", c.nonce, "nonce"],
      ["Miner", addressLink(c.miner, app.names), "miner"],
      cert ? ["Final", `buried ${cert.finality_depth} blocks deep`, "finality_depth"] : ["Final", "not yet", null],
    ]);
  } else if (cert && cert.kind === "streamlet") {
    proof = h("div", { id: "certificate" },
      note(`Notarized in epoch ${cert.epoch} by ${cert.signers.length} of ${cert.validators} validators (quorum ${cert.quorum}).`),
      table(["Validator", ["Key", "opt"], ["Signature", "opt"]], cert.signers.map((sg) => row([
        sg.public_key ? addressLink(sg.public_key, app.names) : "validator #" + sg.index,
        sg.public_key ? h("span", { class: "mono" }, short(sg.public_key)) : "–",
        h("span", { class: "mono", title: sg.signature }, short(sg.signature, 12, 6)),
      ], ["", "opt", "opt"], { "data-signer": String(sg.index) })), { class: "signers" }));
  } else {
    proof = note("This block is not final yet, so it has no finality certificate. The page updates when it becomes final.");
  }

  // Transactions with their results, 50 at a time.
  const txs = blk.txs ?? [];
  const txBody = h("tbody");
  const txTable = h("div", { class: "table-wrap" }, h("table", { class: "txs" },
    h("thead", {}, h("tr", {}, h("th", { class: "opt" }, "#"), h("th", {}, "Transaction"), h("th", { class: "opt" }, "Sender"), h("th", {}, "What"), h("th", {}, "Result"))),
    txBody));
  let shown = 0;
  const showMore = async () => {
    const slice = txs.slice(shown, shown + 50);
    const res = blk.final ? await batch(slice.map((t) => ["get_tx", [t.hash]])) : slice.map(() => null);
    slice.forEach((t, i) => {
      const r = res[i];
      let result;
      if (!r) result = badge("included", "st-included");
      else if (!r.ok) result = h("span", { class: "muted" }, r.error.message);
      else if (r.value.status === "rejected") result = [badge("rejected", "st-rejected"), " ", h("span", { class: "reason" }, r.value.error ? r.value.error.message : "")];
      else {
        const fills = r.value.events.filter((e) => e.type === "fill").length;
        result = [statusBadge(r.value.status), fills ? ` ${fills} fill${fills > 1 ? "s" : ""}` : ""];
      }
      txBody.appendChild(row([String(shown + i), txLink(t.hash), addressLink(t.sender, app.names), payloadWords(t.payload, app), result],
        ["opt", "", "opt", "what", "res"], { "data-tx": t.hash }));
    });
    shown += slice.length;
    return shown < txs.length;
  };
  const more = await showMore();

  if (!blk.final) {
    ctx.onBlock((nb) => {
      if (BigInt(nb.height) >= height) ctx.rerender();
    });
  }

  const node = h("div", {},
    nav,
    section(`Block #${blk.height}`, { id: "block" }, header),
    section(c.kind === "nakamoto" ? "Proof of work" : "Certificate", { id: "proof" }, proof),
    section(`Transactions (${blk.tx_count})`, { id: "transactions" },
      txs.length ? txTable : note("No transactions: an empty block."),
      more ? pager(showMore) : null));
  return { title: `Block #${blk.height}`, node };
}

// --------------------------------------------------------------------- transaction

export async function tx(ctx, arg) {
  const { app } = ctx;
  const hash = decodeURIComponent(arg);
  if (!HEX64.test(hash)) throw new NotFound(`“${hash}” is not a transaction hash (64 hex digits).`);
  let t;
  try {
    t = await call("get_tx", [hex(hash)]);
  } catch (e) {
    if (e instanceof RpcError && e.notFound) throw new NotFound(`No transaction has the hash ${hex(hash)}: not in a block, and not pending in this node's mempool.`);
    throw e;
  }
  if (t.block_height) await ensureTimes(app, [t.block_height]);
  const w = t.tx;
  const ms = t.block_height ? app.times.get(String(t.block_height)) : undefined;
  const summary = kv([
    ["Status", statusBadge(t.status), "status"],
    ["Hash", h("span", { class: "mono break" }, t.hash), "hash"],
    ["What", h("span", { class: "what" }, payloadWords(w.payload, app, { full: true, actions: t.actions })), "payload"],
    ["Block", t.block_height ? [blockLink(t.block_height), ` position ${t.position}`] : "– (waiting in a mempool)", "block_height"],
    ["Time", ms !== undefined ? [fullTime(ms), " (", timeEl(ms, t.block_height, { ageOnly: true }), ")"] : "–", "time"],
    ["Sender", addressLink(w.sender, app.names), "sender"],
    ["Nonce", w.nonce, "nonce"],
    ["Chain", w.chain_id, "chain_id"],
    w.valid_until_height != null ? ["Valid until", ["block ", blockLink(w.valid_until_height)], "valid_until_height"] : null,
    ["Signature", h("span", { class: "mono break" }, w.signature), "signature"],
    t.status === "rejected" && t.error ? ["Rejected because", h("span", { class: "reason" }, t.error.message), "error"] : null,
    w.payload.type === "place_order" ? ["Order", orderLink(t.hash, "view the order →"), "order"] : null,
  ]);
  const fills = t.events.filter((e) => e.type === "fill");
  const events = h("ol", { class: "events" }, t.events.map((e) => h("li", { "data-event": e.type }, eventWords(e, app))));

  if (t.status === "pending" || t.status === "included") {
    ctx.onBlock((b) => {
      if ((b.tx_hashes && b.tx_hashes.includes(t.hash)) || (t.block_height && BigInt(b.height) >= BigInt(t.block_height))) ctx.rerender();
    });
  }

  const node = h("div", {},
    section("Transaction", { id: "tx" }, summary),
    section(`Events (${t.events.length})`, { id: "events" },
      t.events.length ? events : note(t.status === "final" || t.status === "rejected" ? "The engine recorded no events." : "Events appear once the block is final.")),
    fills.length ? section(`Fills (${fills.length})`, { id: "fills" }, tradesTable(app, fills)) : null);
  return { title: "Transaction " + short(t.hash), node };
}

// --------------------------------------------------------------------- order

/**
 * The transaction that placed an order: the one with the order's id, or for an order a
 * batch placed (its id is derived from the batch's hash and the action's index) the
 * batch in the order's block whose action result names the order. `null` if not found.
 */
async function placingTx(order, byId) {
  if (byId.ok) return byId.value;
  if (!byId.error.notFound) throw byId.error;
  if (!order.placed_height) return null;
  const blk = await call("get_block", [String(order.placed_height), true]);
  const batches = (blk.txs ?? []).filter((t) => t.payload && t.payload.type === "batch");
  if (!batches.length) return null;
  const res = await batch(batches.map((t) => ["get_tx", [t.hash]]));
  for (const r of res) {
    if (r.ok && (r.value.actions ?? []).some((a) => a.order_id === order.order_id)) return r.value;
  }
  return null;
}

async function orderFills(app, order, placing) {
  // Fills of the placing transaction (the order as taker) ...
  const found = new Map();
  for (const e of placing ? placing.events : []) {
    if (e.type === "fill" && (e.maker_order_id === order.order_id || e.taker_order_id === order.order_id)) found.set(e.trade_id, e);
  }
  // ... then, while fills are missing, the market's trades back to the order's block.
  let filled = sum([...found.values()].map((f) => f.quantity));
  let scanned = 0, complete = cmp(filled, order.filled) >= 0;
  let cursor = null;
  const stop = order.placed_height ? BigInt(order.placed_height) : 0n;
  while (!complete && scanned < 20) {
    const page = await call("get_trades", [order.market, 100, cursor]);
    scanned++;
    for (const t of page.items) {
      if (t.maker_order_id === order.order_id || t.taker_order_id === order.order_id) found.set(t.trade_id, t);
    }
    filled = sum([...found.values()].map((f) => f.quantity));
    complete = cmp(filled, order.filled) >= 0;
    const oldest = page.items[page.items.length - 1];
    if (!page.next_cursor || !oldest || BigInt(oldest.block_height) < stop) break;
    cursor = page.next_cursor;
  }
  const list = [...found.values()].sort((a, b) => cmp(b.trade_id, a.trade_id));
  return { list, complete };
}

export async function order(ctx, arg) {
  const { app } = ctx;
  const id = decodeURIComponent(arg);
  if (!HEX64.test(id)) throw new NotFound(`“${id}” is not an order id (64 hex digits).`);
  const [o, t] = await batch([["get_order", [hex(id)]], ["get_tx", [hex(id)]]]);
  if (!o.ok) {
    if (!o.error.notFound) throw o.error;
    if (t.ok) {
      throw new NotFound(`No order has the id ${hex(id)}.`, ["It is a transaction: ", txLink(hex(id), "view the transaction →")]);
    }
    throw new NotFound(`No order has the id ${hex(id)}.`);
  }
  const ord = o.value;
  const placing = await placingTx(ord, t);
  const { list, complete } = await orderFills(app, ord, placing);
  await ensureTimes(app, [ord.placed_height, ord.updated_height, ...list.map((f) => f.block_height)].filter(Boolean));
  const when = (x) => (x ? [blockLink(x), " ", timeEl(app.times.get(String(x)), x)] : "–");
  const reason = ord.reason ? reasonWords(ord.reason) : null;
  const summary = kv([
    ["Status", [badge(ord.status, "st-" + ord.status), reason ? " " + reason : ""], "status"],
    ord.reason ? ["Reason", ord.reason, "reason"] : null,
    ["Order id", h("span", { class: "mono break" }, ord.order_id), "order_id"],
    ["Market", marketLink(ord.market), "market"],
    ["Side", side(ord.side), "side"],
    ["Kind", ord.kind + (ord.time_in_force ? ", " + ord.time_in_force : ""), "kind"],
    ["Price", ord.price ?? "market (no bound)", "price"],
    ["Quantity", ord.quantity, "quantity"],
    ["Filled", ord.filled, "filled"],
    ["Remaining", ord.remaining, "remaining"],
    ["Fees paid", ord.fees, "fees"],
    ["Account", addressLink(ord.account, app.names), "account"],
    ord.client_order_id ? ["Client order id", h("span", { class: "mono" }, ord.client_order_id), "client_order_id"] : null,
    ["Placed", when(ord.placed_height), "placed_height"],
    ["Last change", when(ord.updated_height), "updated_height"],
    ["Placed by", placing
      ? [txLink(placing.hash, "the transaction " + short(placing.hash)), placing.hash !== ord.order_id ? " (a batch)" : ""]
      : "–", "tx"],
  ]);
  const fillsBox = h("div", { id: "order-fills" }, list.length ? tradesTable(app, list, { noMarket: true }) : note("No fills."),
    complete ? null : note("Some fills are older than the trades this page looked through (the latest 2,000 of the market)."));

  if (ord.status === "open") {
    ctx.subscribe("subscribe_orders", [ord.account], (u) => {
      if (u.order_id === ord.order_id) ctx.rerender();
    });
  }
  const node = h("div", {},
    section("Order", { id: "order" }, summary),
    section(`Fills (${list.length})`, { id: "fills" }, fillsBox));
  return { title: "Order " + short(ord.order_id), node };
}

// --------------------------------------------------------------------- address

export async function address(ctx, arg) {
  const { app } = ctx;
  const addr = hex(decodeURIComponent(arg));
  if (!HEX64.test(addr)) throw new NotFound(`“${decodeURIComponent(arg)}” is not an address (64 hex digits).`);
  const [acct, open, any] = await all([
    ["get_account", [addr]], ["get_orders", [addr, null, "open", 50]], ["get_orders", [addr, null, "all", 1]],
  ]);
  const active = acct.next_nonce !== "0" || acct.pending_nonce !== "0" || acct.balances.some((b) => !isZero(b.total)) || any.items.length > 0;
  if (!active && !app.names.has(addr)) {
    throw new NotFound(`The address ${addr} has no balance, no transactions and no orders on this chain.`);
  }
  const name = app.names.get(addr);
  const overview = kv([
    ["Address", h("span", { class: "mono break" }, addr), "address"],
    name ? ["Validator", name, "validator"] : null,
    ["Next nonce", acct.next_nonce, "next_nonce"],
    ["Pending nonce", acct.pending_nonce, "pending_nonce"],
  ]);
  const balRows = () => acct.balances.map((b) => row([b.asset, b.free, b.locked, b.total], ["", "num", "num", "num opt"], { "data-asset": b.asset }));
  const balTable = table(["Asset", ["Free", "num"], ["Locked", "num"], ["Total", "num opt"]], balRows(), { class: "balances" });

  // Open orders, 50 a page.
  const openTable = table(ORDER_COLS, open.items.map(orderRow), { class: "open-orders" });
  let openCursor = open.next_cursor;
  const openPager = openCursor ? pager(async () => {
    const p = await call("get_orders", [addr, null, "open", 50, openCursor]);
    p.items.forEach((o) => openTable.querySelector("tbody").appendChild(orderRow(o)));
    openCursor = p.next_cursor;
    return !!openCursor;
  }) : null;

  // History: fills, transactions, transfers, all orders; each tab loads on first view.
  const panels = {
    fills: { title: "Fills", load: () => fillsPanel(app, addr) },
    txs: { title: "Transactions", load: () => txsPanel(app, addr) },
    transfers: { title: "Transfers", load: () => transfersPanel(app, addr) },
    orders: { title: "All orders", load: () => ordersPanel(app, addr) },
  };
  const tabBar = h("div", { class: "tabs", role: "tablist" });
  const panelBox = h("div", { class: "panel", id: "history-panel" });
  const select = async (key) => {
    for (const b of tabBar.children) b.setAttribute("aria-selected", b.dataset.tab === key ? "true" : "false");
    const p = panels[key];
    if (!p.node) {
      fill(panelBox, note("Loading…"));
      try {
        p.node = await p.load();
      } catch (e) {
        fill(panelBox, note("Could not load: " + e.message));
        return;
      }
    }
    fill(panelBox, p.node);
  };
  for (const [key, p] of Object.entries(panels)) {
    tabBar.appendChild(h("button", { type: "button", role: "tab", "data-tab": key, onclick: () => select(key) }, p.title));
  }
  await select("fills");

  // Live: the account's order updates; balances and open orders are read again at
  // most every 2 seconds while updates arrive.
  const refresh = ctx.throttle(async () => {
    const [a2, o2] = await all([["get_account", [addr]], ["get_orders", [addr, null, "open", 50]]]);
    Object.assign(acct, a2);
    fill(balTable.querySelector("tbody"), balRows());
    fill(openTable.querySelector("tbody"), o2.items.map(orderRow));
  }, 2_000);
  ctx.subscribe("subscribe_orders", [addr], (u) => {
    refresh();
    const fp = panels.fills;
    const prepend = fp.node && panelsPrepend.get(fp.node);
    if (u.type === "fill" && prepend) {
      prepend({
        trade_id: u.trade_id, market: u.market, side: u.side, liquidity: u.liquidity, price: u.price,
        quantity: u.quantity, fee: u.fee, order_id: u.order_id, block_height: u.block_height,
      });
    }
  });

  const node = h("div", {},
    section(name ? `Validator ${name}` : "Address", { id: "address" }, overview),
    section("Balances", { id: "balances" }, balTable),
    section(`Open orders`, { id: "open-orders" }, open.items.length ? openTable : note("No open orders."), openPager),
    section("History", { id: "history" }, tabBar, panelBox));
  return { title: "Address " + short(addr), node };
}

async function fillsPanel(app, addr) {
  const t = table(FILL_COLS, [], { class: "fills" });
  const body = t.querySelector("tbody");
  const box = h("div", {}, t);
  const seen = new Set();
  const add1 = (f, top) => {
    if (seen.has(String(f.trade_id))) return;
    seen.add(String(f.trade_id));
    const r = fillRow(app, f, addr);
    if (top) body.insertBefore(r, body.firstChild);
    else body.appendChild(r);
  };
  // The node's account fill index, if it has one.
  const first = await optional("get_account_fills", { account: addr, limit: 30 });
  if (first) {
    await ensureTimes(app, first.items.map((f) => f.block_height));
    first.items.forEach((f) => add1(f));
    let cursor = first.next_cursor;
    if (cursor) {
      box.appendChild(pager(async () => {
        const p = await call("get_account_fills", { account: addr, limit: 30, cursor });
        await ensureTimes(app, p.items.map((f) => f.block_height));
        p.items.forEach((f) => add1(f));
        cursor = p.next_cursor;
        return !!cursor;
      }));
    }
  } else {
    // Otherwise: look through each market's trades, newest first, 500 at a time.
    const cursors = new Map(app.markets.map((m) => [m.symbol, null]));
    const done = new Set();
    const scan = async () => {
      for (const m of app.markets) {
        for (let i = 0; i < 5 && !done.has(m.symbol); i++) {
          const p = await call("get_trades", [m.symbol, 100, cursors.get(m.symbol)]);
          const mine = p.items.filter((t) => t.maker === addr || t.taker === addr);
          await ensureTimes(app, mine.map((f) => f.block_height));
          mine.forEach((f) => add1(f));
          if (p.next_cursor) cursors.set(m.symbol, p.next_cursor);
          else done.add(m.symbol);
        }
      }
      return done.size < app.markets.length;
    };
    const more = await scan();
    box.prepend(note("This node has no per-account fill index, so these are the account's fills among the latest trades of each market; “Load older” looks further back."));
    if (more) box.appendChild(pager(scan));
  }
  if (!seen.size) body.appendChild(h("tr", { class: "none" }, h("td", { colspan: FILL_COLS.length, class: "empty" }, "No fills found")));
  panelsPrepend.set(box, (f) => {
    const none = body.querySelector("tr.none");
    if (none) none.remove();
    add1(f, true);
  });
  return box;
}
const panelsPrepend = new WeakMap();

async function txsPanel(app, addr) {
  const first = await optional("get_account_txs", { account: addr, limit: 30 });
  const cols = ["Transaction", "What", "Status", "Block"];
  const cls = ["", "what", "", ""];
  if (first) {
    const t = table(cols, [], { class: "account-txs" });
    const body = t.querySelector("tbody");
    const addRows = (items) => items.forEach((x) => {
      const hash = pick(x, "hash", "tx_hash");
      const payload = pick(x, "payload") ?? pick(x.tx, "payload");
      body.appendChild(row([txLink(hash), payload ? payloadWords(payload, app) : pick(x, "type") ?? "–",
        pick(x, "status") ? statusBadge(x.status) : "–", pick(x, "block_height") ? blockLink(x.block_height) : "–"], cls));
    });
    addRows(first.items);
    let cursor = first.next_cursor;
    return h("div", {}, t, cursor ? pager(async () => {
      const p = await call("get_account_txs", { account: addr, limit: 30, cursor });
      addRows(p.items);
      cursor = p.next_cursor;
      return !!cursor;
    }) : null);
  }
  // Without the index: the transactions that placed the account's orders.
  const t = table(cols, [], { class: "account-txs" });
  const body = t.querySelector("tbody");
  let cursor = null;
  const load = async () => {
    const p = await call("get_orders", [addr, null, "all", 30, cursor]);
    p.items.forEach((o) => body.appendChild(row([
      txLink(o.order_id), ["Place order: ", side(o.side), ` ${o.quantity} at ${o.price ?? "market"} on `, marketLink(o.market)],
      badge(o.status, "st-" + o.status), o.placed_height ? blockLink(o.placed_height) : "–"], cls)));
    cursor = p.next_cursor;
    return !!cursor;
  };
  const more = await load();
  return h("div", {},
    note("This node has no per-account transaction index; listed are the transactions that placed this account's orders."),
    body.children.length ? t : note("No transactions."), more ? pager(load) : null);
}

async function transfersPanel(app, addr) {
  const first = await optional("get_account_transfers", { account: addr, limit: 30 });
  if (!first) return note("This node does not index transfers per account. A transfer shows on its transaction's page.");
  const t = table(["From", "To", "Asset", ["Amount", "num"], "Block", "Transaction"], [], { class: "transfers" });
  const body = t.querySelector("tbody");
  const addRows = (items) => items.forEach((x) => body.appendChild(row([
    addressLink(x.from, app.names), addressLink(x.to, app.names), String(pick(x, "asset") ?? "–"),
    String(pick(x, "amount") ?? "–"), x.block_height ? blockLink(x.block_height) : "–",
    x.tx_hash ? txLink(x.tx_hash) : "–"], ["", "", "", "num", "", ""])));
  addRows(first.items);
  let cursor = first.next_cursor;
  return h("div", {}, first.items.length ? t : note("No transfers."), cursor ? pager(async () => {
    const p = await call("get_account_transfers", { account: addr, limit: 30, cursor });
    addRows(p.items);
    cursor = p.next_cursor;
    return !!cursor;
  }) : null);
}

async function ordersPanel(app, addr) {
  const t = table(ORDER_COLS, [], { class: "all-orders" });
  const body = t.querySelector("tbody");
  let cursor = null;
  const load = async () => {
    const p = await call("get_orders", [addr, null, "all", 30, cursor]);
    p.items.forEach((o) => body.appendChild(orderRow(o)));
    cursor = p.next_cursor;
    return !!cursor;
  };
  const more = await load();
  return h("div", {}, body.children.length ? t : note("No orders."), more ? pager(load) : null);
}

// --------------------------------------------------------------------- market

export async function market(ctx, arg) {
  const { app } = ctx;
  const m = app.market(decodeURIComponent(arg));
  if (!m) throw new NotFound(`There is no market “${decodeURIComponent(arg)}”. Markets: ${app.markets.map((x) => x.symbol).join(", ")}.`);
  if (decodeURIComponent(arg) !== marketSlug(m.symbol)) ctx.replaceUrl(path("market", marketSlug(m.symbol)));
  const [book, recent] = await all([["get_order_book", [m.symbol, 50]], ["get_trades", [m.symbol, 100]]]);
  await ensureTimes(app, recent.items.map((t) => t.block_height));
  let trades = recent.items.slice();

  const lastEl = h("span", {}, trades[0] ? trades[0].price : "–");
  const changeBox = h("span", { class: "muted" }, "…");
  const volBox = h("span", {}, "–");
  const bestBid = h("span", { class: "buy" });
  const bestAsk = h("span", { class: "sell" });
  const spreadEl = h("span", {});
  const head = kv([
    ["Last price", lastEl, "last_price"],
    ["24 h change", changeBox, "change_24h"],
    ["24 h volume", volBox, "volume_24h"],
    ["Best bid", bestBid, "best_bid"],
    ["Best ask", bestAsk, "best_ask"],
    ["Spread", spreadEl, "spread"],
    ["Tick / lot / min size", `${m.tick_size} / ${m.lot_size} / ${m.min_size}`, "sizes"],
    ["Fees (maker / taker)", `${m.maker_fee_bps} / ${m.taker_fee_bps} bps`, "fees"],
  ]);
  let stats = null;
  dayStats(app, m, recent).then((st) => {
    stats = st;
    fill(changeBox, changeEl(st.change));
    if (st.volume) fill(volBox, String(st.volume) + " " + m.base);
  }).catch((e) => fill(changeBox, h("span", { class: "muted", title: e.message }, "?")));

  // Book: both sides with running totals, the spread between them, and the depth chart.
  const depthBox = h("div", { id: "depth" });
  const bookBox = h("div", { class: "book", id: "book" });
  const heightEl = h("span", {});
  const renderBook = (bk) => {
    fill(depthBox, depthChart(bk));
    const side1 = (levels, cls) => table([["Price", "num"], ["Quantity", "num"], ["Total", "num"], ["Orders", "num opt"]],
      cumulative(levels).map((l) => row([h("span", { class: cls }, l.price), l.level.quantity, l.total, String(l.level.orders)],
        ["num", "num", "num", "num opt"], { "data-price": l.price })), { class: "side-" + cls });
    const bb = bk.bids[0], ba = bk.asks[0];
    fill(bestBid, bb ? bb.price : "–");
    fill(bestAsk, ba ? ba.price : "–");
    let spread = "–";
    if (bb && ba) {
      const d = sub(ba.price, bb.price);
      const pct = percentChange(bb.price, ba.price, 3);
      spread = `${d} (${pct ? pct.replace("+", "") : "?"}%)`;
    }
    fill(spreadEl, spread);
    fill(heightEl, "as of block ", blockLink(bk.block_height));
    fill(bookBox,
      h("div", { class: "bookside" }, h("h3", {}, "Bids"), bk.bids.length ? side1(bk.bids, "buy") : note("No bids.")),
      h("div", { class: "bookside" }, h("h3", {}, "Asks"), bk.asks.length ? side1(bk.asks, "sell") : note("No asks.")));
  };
  renderBook(book);

  // Recent trades and the price chart.
  const tradesBox = h("div", { id: "market-trades" });
  const renderTrades = () => fill(tradesBox, tradesTable(app, trades.slice(0, 30), { noMarket: true }));
  renderTrades();
  const chartBox = h("div", { id: "price-chart" });
  let candles = null;
  const renderChart = () => {
    if (candles) {
      fill(chartBox, priceChart(candles, { label: "Price of " + m.symbol, xLabel: (x) => fullTime(x) }),
        caption("Close of each candle, by time (viewer's time zone)."));
    } else {
      const pts = trades.slice(0, 200).map((t) => ({ x: Number(t.block_height), price: t.price, title: `#${t.block_height}: ${t.quantity} at ${t.price}` }));
      fill(chartBox, priceChart(pts, { label: "Price of " + m.symbol, xLabel: (x) => "#" + x }),
        caption(`The latest ${pts.length} trades by block height.`));
    }
  };
  renderChart();
  optional("get_candles", { market: m.symbol, limit: 120 }).then((c) => {
    if (!c) return;
    const items = Array.isArray(c) ? c : c.items ?? [];
    const pts = items.map((k) => ({
      x: Number(pick(k, "start_ms", "time_ms", "open_time_ms", "start_time_ms") ?? NaN),
      price: pick(k, "close", "close_price"),
    })).filter((p) => Number.isFinite(p.x) && isDecimal(p.price));
    if (pts.length) {
      candles = pts;
      renderChart();
    }
  }).catch(() => {});

  // Live: the book arrives as a full snapshot after every block that changed it,
  // trades one by one.
  ctx.subscribe("subscribe_book", [m.symbol, 50], (bk) => renderBook(bk));
  ctx.subscribe("subscribe_trades", [m.symbol], (t) => {
    if (trades.some((x) => x.trade_id === t.trade_id)) return;
    trades.unshift(t);
    trades.sort((a, b) => cmp(b.trade_id, a.trade_id));
    trades = trades.slice(0, 200);
    fill(lastEl, trades[0].price);
    if (stats && stats.open) fill(changeBox, changeEl(percentChange(stats.open, trades[0].price)));
    renderTrades();
    if (!candles) renderChart();
  });

  const node = h("div", { class: "grid market" },
    section(m.symbol, { id: "market", class: "card wide" }, head),
    section("Depth", { id: "depth-card" }, depthBox),
    section("Price", { id: "price-card" }, chartBox),
    section("Order book", { id: "book-card", class: "card wide" }, h("p", { class: "note" }, heightEl), bookBox),
    section("Recent trades", { id: "trades-card", class: "card wide" }, tradesBox));
  return { title: m.symbol, node };
}

// --------------------------------------------------------------------- search

/**
 * Where a search goes: a path, or `null` if nothing matches. Heights, `latest`,
 * `final`; a 64-hex value is tried (in one batch) as a block hash, an order id, a
 * transaction hash and an address with activity, in that order; a market symbol
 * (`BTC/USD`, `btc-usd`).
 */
export async function resolve(app, q) {
  const v = q.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) {
    const r = await batch([["get_block", [v]]]);
    return r[0].ok ? path("block", v) : null;
  }
  if (/^(latest|final|finalized)$/i.test(v)) return path("block", v.toLowerCase());
  const m = app.market(v);
  if (m) return path("market", marketSlug(m.symbol));
  if (HEX64.test(v)) {
    const x = hex(v);
    const [b, o, t, a, ords] = await batch([
      ["get_block", [x]], ["get_order", [x]], ["get_tx", [x]], ["get_account", [x]], ["get_orders", [x, null, "all", 1]],
    ]);
    if (b.ok) return path("block", b.value.height);
    if (o.ok) return path("order", x);
    if (t.ok) return path("tx", x);
    const active = a.ok && (a.value.next_nonce !== "0" || a.value.pending_nonce !== "0" || a.value.balances.some((bal) => !isZero(bal.total)));
    if (active || (ords.ok && ords.value.items.length) || app.names.has(x)) return path("address", x);
  }
  return null;
}

export function searchHint() {
  return "Search takes a block height, “latest”, “final”, a block, transaction or order hash, an address (64 hex digits) or a market symbol such as BTC-USD.";
}

