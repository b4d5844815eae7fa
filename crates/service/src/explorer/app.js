// The explorer's entry point: the router (real URLs, Back and reload work), the search
// box, the connection indicator, and the one block subscription every page shares.

"use strict";

import { h, fill, path, marketSlug, tickAges, fillTimes, blockLink, note, section } from "./dom.js";
import { all, Live, stats, RpcError } from "./rpc.js";
import * as pages from "./pages.js";

const $ = (id) => document.getElementById(id);

/** What every page shares: markets, validator names, block times, the socket. */
const app = {
  markets: [],
  names: new Map(),
  times: new Map(),
  maxTime: 0,
  finalHeight: null,
  live: null,

  marketById(id) {
    return this.markets.find((m) => m.id === Number(id));
  },
  /** A market by symbol in any case, with `/` or `-` (`BTC/USD`, `btc-usd`). */
  market(ref) {
    const v = String(ref).trim().toUpperCase().replace("-", "/");
    return this.markets.find((m) => m.symbol.toUpperCase() === v);
  },
  asset(id) {
    for (const m of this.markets) {
      if (m.base_asset_id === Number(id)) return m.base;
      if (m.quote_asset_id === Number(id)) return m.quote;
    }
    return "asset #" + id;
  },
  learnBlock(b) {
    const t = pages.blockTime(b);
    if (t !== undefined) {
      this.times.set(String(b.height), t);
      if (t > this.maxTime) this.maxTime = t;
    }
  },
  learnValidators(vs) {
    this.names = new Map(vs.map((v) => [v.public_key, v.name]));
  },
  learnFinal(height) {
    if (this.finalHeight === null || BigInt(height) > BigInt(this.finalHeight)) {
      this.finalHeight = String(height);
      fill($("final"), "final ", blockLink(this.finalHeight));
    }
  },
  /** The newest block time seen (the chain's "now"), or the viewer's clock. */
  latestTime() {
    return this.maxTime || Date.now();
  },
};

// ------------------------------------------------------------------------ routing

const ROUTES = {
  home: pages.home,
  block: pages.block,
  tx: pages.tx,
  address: pages.address,
  order: pages.order,
  market: pages.market,
  validators: pages.validators,
  search: searchPage,
  unknown: async () => {
    throw new pages.NotFound("There is no explorer page at this address.");
  },
};
const OBJECT_PAGES = ["block", "tx", "address", "order", "market"];

function parseRoute(pathname) {
  const rest = pathname.replace(/^\/explorer\/?/, "").replace(/\/$/, "");
  if (rest === "") return { page: "home" };
  const parts = rest.split("/");
  if (OBJECT_PAGES.includes(parts[0]) && parts.length === 2 && parts[1]) return { page: parts[0], arg: parts[1] };
  if (["validators", "search"].includes(parts[0]) && parts.length === 1) return { page: parts[0] };
  return { page: "unknown" };
}

async function searchPage(ctx, _arg, query) {
  const q = (query.get("q") ?? "").trim();
  $("q").value = q;
  if (!q) return { title: "Search", node: section("Search", {}, note(pages.searchHint())) };
  const to = await pages.resolve(app, q);
  if (!to) throw new pages.NotFound(`Nothing on this chain matches “${q}”.`, pages.searchHint());
  ctx.replaceUrl(to);
  $("q").value = "";
  const r = parseRoute(to);
  return ROUTES[r.page](ctx, r.arg, new URLSearchParams());
}

let current = null;
let seq = 0;
let firstReady = false;

function makeCtx() {
  const ctx = {
    app,
    subs: [],
    blockFns: [],
    timers: new Set(),
    disposed: false,
    subscribe(method, params, fn) {
      const sub = app.live.subscribe(method, params, (x) => {
        if (!ctx.disposed) fn(x);
      }, (e) => toast(`Live updates unavailable (${method}): ${e.message}`));
      ctx.subs.push(sub);
      return sub;
    },
    onBlock(fn) {
      ctx.blockFns.push(fn);
    },
    /** `fn` at most once per `ms`, the last call winning; errors go to a notice. */
    throttle(fn, ms) {
      let last = 0, timer = null;
      return () => {
        if (ctx.disposed || timer !== null) return;
        timer = setTimeout(async () => {
          ctx.timers.delete(timer);
          timer = null;
          if (ctx.disposed) return;
          last = Date.now();
          try {
            await fn();
          } catch (e) {
            toast("Could not refresh: " + e.message);
          }
        }, Math.max(0, last + ms - Date.now()));
        ctx.timers.add(timer);
      };
    },
    replaceUrl(to) {
      if (!ctx.disposed) history.replaceState(history.state, "", to);
    },
    rerender() {
      if (!ctx.disposed) render({ keep: true });
    },
    dispose() {
      ctx.disposed = true;
      for (const s of ctx.subs) app.live.unsubscribe(s);
      for (const t of ctx.timers) clearTimeout(t);
    },
  };
  return ctx;
}

function notFoundNode(e) {
  return h("section", { class: "card notfound", id: "not-found" },
    h("h1", {}, "Not found"),
    h("p", { class: "what" }, e.message),
    e.hint ? h("p", {}, e.hint) : null,
    h("p", {}, h("a", { href: "/explorer" }, "← Explorer home")));
}

function errorNode(e) {
  const unreachable = e instanceof RpcError && e.code === 0;
  return h("section", { class: "card failed", id: "error" },
    h("h1", {}, unreachable ? "The node is not answering" : "Could not load this page"),
    h("p", {}, e.message),
    h("button", { type: "button", onclick: () => (app.markets.length ? render() : location.reload()) }, "Try again"));
}

/** Shows the page of the current URL; `keep` leaves the old content until it is ready. */
async function render(opts = {}) {
  const mine = ++seq;
  if (current) current.dispose();
  const ctx = makeCtx();
  current = ctx;
  const view = $("view");
  document.documentElement.dataset.ready = "0";
  if (!opts.keep) view.setAttribute("aria-busy", "true");
  const route = parseRoute(location.pathname);
  let result;
  try {
    result = await ROUTES[route.page](ctx, route.arg, new URLSearchParams(location.search));
  } catch (e) {
    if (e instanceof pages.NotFound) result = { title: "Not found", node: notFoundNode(e), notFound: true };
    else result = { title: "Error", node: errorNode(e) };
  }
  if (mine !== seq) {
    ctx.dispose();
    return;
  }
  document.title = result.title + " · ledger-node explorer";
  fill(view, result.node);
  view.removeAttribute("aria-busy");
  if (!opts.keep) window.scrollTo(0, 0);
  fillTimes(app.times);
  document.documentElement.dataset.page = result.notFound ? "not-found" : route.page;
  document.documentElement.dataset.ready = "1";
  if (!firstReady) {
    firstReady = true;
    performance.mark("explorer-ready");
  }
}

function navigate(to) {
  if (to !== location.pathname + location.search) history.pushState({}, "", to);
  render();
}

document.addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest && e.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !/^\/explorer(\/|$)/.test(url.pathname) || url.pathname.startsWith("/explorer/assets/")) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", () => render());

// ------------------------------------------------------------------------ connection

let toastTimer = null;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 6000);
}

let connInfo = { state: "connecting" };
function showConnection() {
  const { state, since, retryAt } = connInfo;
  const el = $("conn");
  el.className = "conn " + state;
  el.textContent = state === "live" ? "live" : state === "down" ? "disconnected" : "connecting…";
  document.body.classList.toggle("stale", state !== "live" && !!since);
  const banner = $("banner");
  if (state === "live" || !since) {
    banner.hidden = true;
    return;
  }
  const secs = Math.max(0, Math.ceil(((retryAt ?? Date.now()) - Date.now()) / 1000));
  const at = new Date(since).toLocaleTimeString();
  fill(banner,
    h("strong", {}, "Disconnected from the node"),
    ` since ${at}. What you see may be out of date. `,
    state === "connecting" ? "Reconnecting…" : `Reconnecting in ${secs} s. `,
    state === "down" ? h("button", { type: "button", onclick: () => app.live.reconnectNow() }, "Reconnect now") : null);
  banner.hidden = false;
}

let ticks = 0;
setInterval(() => {
  // DOM only: the reconnect countdown every second, the ages every 5 seconds.
  if (connInfo.state !== "live") showConnection();
  if (++ticks % 5 === 0) tickAges();
}, 1000);

// ------------------------------------------------------------------------ start

async function start() {
  window.explorerStats = stats;
  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("q").value.trim();
    if (q) navigate("/explorer/search?q=" + encodeURIComponent(q));
  });
  app.live = new Live((state, info) => {
    connInfo = { state, since: info.since, retryAt: info.retryAt };
    showConnection();
  });
  app.live.onResync = () => {
    if (current) current.rerender();
  };
  app.live.start();
  app.live.subscribe("subscribe_blocks", [], (b) => {
    app.learnBlock(b);
    app.learnFinal(b.height);
    fillTimes(app.times);
    if (current && !current.disposed) {
      for (const fn of current.blockFns) {
        try {
          fn(b);
        } catch (e) {
          console.warn("explorer: block update failed", e);
        }
      }
    }
  });
  try {
    const [markets, validators, status] = await all([["get_markets"], ["get_validators"], ["chain_status"]]);
    app.markets = markets;
    app.learnValidators(validators);
    app.learnFinal(status.final_height);
    fill($("chain"), status.chain_id);
    fill($("nav-markets"), markets.map((m) => h("a", { href: path("market", marketSlug(m.symbol)) }, m.symbol)));
  } catch (e) {
    fill($("view"), errorNode(e));
    document.documentElement.dataset.ready = "1";
    return;
  }
  await render();
}

start();
