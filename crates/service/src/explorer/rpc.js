// Talking to the node that serves the explorer: JSON-RPC reads over HTTP (single calls
// and batches), and one WebSocket for the subscriptions, which reconnects by itself.
// There is no polling: after a page has loaded, everything new arrives as a push.

"use strict";

/** The node's JSON-RPC error (code, message, data), or code 0 when it is unreachable. */
export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
  /** True for -32001, the API's "not found". */
  get notFound() {
    return this.code === -32001;
  }
  /** True when the node does not offer the method (-32601). */
  get noMethod() {
    return this.code === -32601;
  }
}

const ENDPOINT = "/";
const MAX_BATCH = 50; // the node's default `rpc.max_batch_len`
let nextId = 1;

/** Counters the browser test reads (HTTP requests sent, WebSocket items received). */
export const stats = { httpRequests: 0, wsMessages: 0, reconnects: 0 };

async function post(body) {
  stats.httpRequests++;
  let resp;
  try {
    resp = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    throw new RpcError(0, "the node is unreachable (" + e.message + ")");
  }
  let json;
  try {
    json = await resp.json();
  } catch (e) {
    throw new RpcError(0, "the node sent an unreadable answer (HTTP " + resp.status + ")");
  }
  return json;
}

function unwrap(reply) {
  if (reply && reply.error) {
    const e = reply.error;
    throw new RpcError(e.code, String(e.message), e.data);
  }
  if (!reply || !("result" in reply)) throw new RpcError(-32603, "malformed answer");
  return reply.result;
}

/** Calls one method; resolves to its result or rejects with an RpcError. */
export async function call(method, params) {
  const reply = await post({ jsonrpc: "2.0", id: nextId++, method, params: params ?? [] });
  return unwrap(reply);
}

/**
 * Calls many methods in JSON-RPC batches (at most 50 per request). Resolves to one
 * entry per call, in order: `{ ok: true, value }` or `{ ok: false, error: RpcError }`.
 */
export async function batch(calls) {
  const out = new Array(calls.length);
  for (let start = 0; start < calls.length; start += MAX_BATCH) {
    const chunk = calls.slice(start, start + MAX_BATCH);
    const ids = chunk.map(() => nextId++);
    const body = chunk.map(([method, params], i) => ({
      jsonrpc: "2.0", id: ids[i], method, params: params ?? [],
    }));
    const reply = await post(body);
    if (!Array.isArray(reply)) {
      const err = reply && reply.error
        ? new RpcError(reply.error.code, String(reply.error.message), reply.error.data)
        : new RpcError(-32603, "malformed batch answer");
      for (let i = 0; i < chunk.length; i++) out[start + i] = { ok: false, error: err };
      continue;
    }
    const byId = new Map(reply.map((r) => [r.id, r]));
    chunk.forEach((_, i) => {
      try {
        out[start + i] = { ok: true, value: unwrap(byId.get(ids[i])) };
      } catch (e) {
        out[start + i] = { ok: false, error: e };
      }
    });
  }
  return out;
}

/** Like `batch`, but rejects with the first error. */
export async function all(calls) {
  const res = await batch(calls);
  return res.map((r) => {
    if (!r.ok) throw r.error;
    return r.value;
  });
}

// Methods newer nodes offer (account history, market statistics, candles). Each is
// tried once; a node that answers "method not found" is remembered as not having it.
const missing = new Set();

/**
 * Calls a method the node may not offer. Resolves to `undefined` (and remembers it)
 * when the node answers -32601 or refuses the parameters (-32602: an older shape).
 */
export async function optional(method, params) {
  if (missing.has(method)) return undefined;
  try {
    return await call(method, params);
  } catch (e) {
    if (e instanceof RpcError && (e.noMethod || e.code === -32602)) {
      missing.add(method);
      return undefined;
    }
    throw e;
  }
}

/**
 * The WebSocket side: subscriptions that survive reconnects. `state` is `connecting`,
 * `live` or `down`; `onState(state, info)` is told every change, `onResync()` after
 * every reconnect (the page reloads what it shows, since pushes were missed).
 */
export class Live {
  constructor(onState) {
    this.onState = onState;
    this.onResync = null;
    this.ws = null;
    this.state = "connecting";
    this.subs = new Set();
    this.byId = new Map();
    this.pending = new Map();
    this.attempt = 0;
    this.timer = null;
    this.everOpen = false;
    this.downSince = null;
  }

  start() {
    this.connect();
  }

  url() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    this.setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.down();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const reconnect = this.everOpen;
      this.everOpen = true;
      this.attempt = 0;
      this.downSince = null;
      this.setState("live");
      for (const sub of this.subs) this.send(sub);
      if (reconnect) {
        stats.reconnects++;
        if (this.onResync) this.onResync();
      }
    };
    ws.onmessage = (ev) => this.message(ev.data);
    ws.onclose = () => {
      if (this.ws === ws) this.down();
    };
    ws.onerror = () => {};
  }

  /** Reconnects at once (the "Reconnect now" button). */
  reconnectNow() {
    if (this.state !== "live") {
      this.attempt = 0;
      this.connect();
    }
  }

  down() {
    this.ws = null;
    this.byId.clear();
    for (const [, p] of this.pending) p.reject(new RpcError(0, "disconnected"));
    this.pending.clear();
    for (const sub of this.subs) sub.id = null;
    if (!this.downSince) this.downSince = Date.now();
    // Back off 1, 2, 4, 8, 15, 15, ... seconds.
    const delay = Math.min(15000, 1000 * 2 ** this.attempt);
    this.attempt++;
    this.retryAt = Date.now() + delay;
    this.setState("down");
    this.timer = setTimeout(() => this.connect(), delay);
  }

  setState(state) {
    this.state = state;
    if (this.onState) this.onState(state, { since: this.downSince, retryAt: this.retryAt });
  }

  request(method, params) {
    const id = nextId++;
    const p = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return p;
  }

  send(sub) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !sub.active) return;
    this.request(sub.method, sub.params).then(
      (id) => {
        if (!sub.active) {
          this.unsubscribeId(sub.method, id);
          return;
        }
        sub.id = String(id);
        this.byId.set(sub.id, sub);
      },
      (e) => {
        if (sub.onError && e.code !== 0) sub.onError(e);
      },
    );
  }

  message(data) {
    stats.wsMessages++;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (msg.id !== undefined && msg.id !== null && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new RpcError(msg.error.code, String(msg.error.message), msg.error.data));
      else p.resolve(msg.result);
      return;
    }
    const params = msg.params;
    if (!params || params.subscription === undefined) return;
    const sub = this.byId.get(String(params.subscription));
    if (!sub) return;
    if (params.error !== undefined) {
      // The node closed the subscription (a subscriber that lags is dropped):
      // subscribe again and let the page catch up.
      this.byId.delete(sub.id);
      sub.id = null;
      this.send(sub);
      if (this.onResync) this.onResync();
      return;
    }
    try {
      sub.onItem(params.result);
    } catch (e) {
      console.warn("explorer: live update failed", e);
    }
  }

  /**
   * Subscribes (now, and again after every reconnect). `method` is e.g.
   * `subscribe_blocks`; returns a handle for `unsubscribe`.
   */
  subscribe(method, params, onItem, onError) {
    const sub = { method, params, onItem, onError, id: null, active: true };
    this.subs.add(sub);
    this.send(sub);
    return sub;
  }

  unsubscribeId(method, id) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.request("un" + method, [id]).catch(() => {});
  }

  unsubscribe(sub) {
    if (!sub || !sub.active) return;
    sub.active = false;
    this.subs.delete(sub);
    if (sub.id !== null) {
      this.byId.delete(sub.id);
      this.unsubscribeId(sub.method, sub.id);
    }
  }
}
