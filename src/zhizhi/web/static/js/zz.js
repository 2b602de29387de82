/* zz.js — shared helpers of the pages: strings, API calls with the CSRF token, safe DOM building,
   the live stream. No framework; text is always set with textContent (never innerHTML). */
"use strict";

const ZZ = (() => {
  const read = (id) => {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  };
  const messages = read("zz-messages") || {};
  const me = read("zz-me");
  const page = read("zz-page") || {};
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = (meta && meta.content) || sessionStorage.getItem("zz_csrf") || "";

  /** The string at dotted `key`, with {name} placeholders filled from `vars`. */
  function t(key, vars) {
    let v = key.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), messages);
    if (typeof v !== "string") return key;
    if (vars) v = v.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return v;
  }

  class ApiError extends Error {
    constructor(status, detail, body) {
      super(detail);
      this.status = status;
      this.body = body || {};
    }
  }

  function toLogin() {
    const here = location.pathname + location.search;
    location.assign("/login?next=" + encodeURIComponent(here));
  }

  /** Call the API: JSON in and out, the CSRF token on every change, 401 → the sign-in page. */
  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(url, init);
    } catch (e) {
      throw new ApiError(0, t("error.network"));
    }
    if (r.status === 401) {
      toLogin();
      throw new ApiError(401, t("error.signed_out"));
    }
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(r.status, data.detail || r.statusText, data);
    return data;
  }

  /** Build an element: el("a", {href: "/x", class: "c"}, "text", child…). Text stays text. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  const pad = (n) => String(n).padStart(2, "0");
  /** A time as 北京时间 "MM-DD HH:mm", with the year ("YYYY-MM-DD HH:mm") when it is not this year's
      (the server sends ISO instants). */
  function time(iso) {
    if (!iso) return t("none");
    const d = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
    const year = new Date(Date.now() + 8 * 3600 * 1000).getUTCFullYear();
    const day = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    return d.getUTCFullYear() === year ? `${day} ${hm}` : `${d.getUTCFullYear()}-${day} ${hm}`;
  }
  /** A time limit "0.5 working_hours" as "0.5 工作时". */
  function limit(s) {
    if (!s) return t("none");
    const [amount, clock] = s.split(" ");
    return `${amount} ${t("clock." + clock)}`;
  }
  const pct = (x) => (x === null || x === undefined ? t("none") : (x * 100).toFixed(1) + "%");

  /** Cached small reference lists (towns, category tree), per browser tab. */
  async function cached(key, url) {
    const hit = sessionStorage.getItem(key);
    if (hit) return JSON.parse(hit);
    const data = await api("GET", url);
    try {
      sessionStorage.setItem(key, JSON.stringify(data));
    } catch (e) {
      /* storage full: fine, fetch again next time */
    }
    return data;
  }
  async function towns() {
    if (!me) return {};
    const data = await cached("zz_towns_" + me.district_code,
      `/api/v1/org/units?level=town&district=${encodeURIComponent(me.district_code)}`);
    return Object.fromEntries(data.items.map((u) => [u.code, u.name]));
  }
  async function categories() {
    const tree = await cached("zz_categories", "/api/v1/categories");
    const leaves = {};
    for (const root of tree) for (const g of root.groups) for (const l of g.leaves) leaves[l.code] = l;
    return { tree, leaves };
  }
  /** <optgroup>s of the category tree for a <select>. */
  function categoryOptions(tree) {
    const out = [];
    for (const root of tree) {
      for (const g of root.groups) {
        out.push(el("optgroup", { label: `${root.name} · ${g.name}` },
          g.leaves.map((l) => el("option", { value: l.code }, `${l.code} ${l.name}`))));
      }
    }
    return out;
  }

  /** Subscribe to the live stream; `on(message)` for change/bulk/resync; shows the state. */
  function live(on) {
    const state = document.getElementById("live-state");
    const show = (key, cls) => {
      if (!state) return;
      state.textContent = t(key);
      state.className = "live " + cls;
      document.body.dataset.live = cls;
    };
    let es;
    let before = false;
    const open = () => {
      es = new EventSource("/api/v1/stream");
      es.addEventListener("hello", () => {
        show("live.connected", "on");
        if (before) on({ type: "resync" }); // changes during the gap: reload
        before = true;
      });
      for (const type of ["change", "bulk", "resync"]) {
        es.addEventListener(type, (e) => on(JSON.parse(e.data)));
      }
      es.onerror = () => {
        show("live.reconnecting", "off");
        if (es.readyState === EventSource.CLOSED) {
          // refused (signed out?): ask who we are, then retry or go to the sign-in page
          setTimeout(() => api("GET", "/api/v1/auth/me").then(open, () => {}), 5000);
        }
      };
    };
    open();
    window.addEventListener("pagehide", () => es && es.close());
  }

  /** Run `fn` at most once per `ms`, at the end of a burst. */
  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  /** An API error as a sentence for the user: the problem's stable `code` looked up under
      `problem.<code>` of the messages, its `params` filling the placeholders (`x_bytes` also as
      `x_mb`; `fields`: the refused fields' labels from `field.<name>`), else the English detail. */
  function problem(e) {
    const body = (e && e.body) || {};
    const vars = { fields: (body.errors || []).map((f) => {
      const label = t("field." + f.field);
      return label === "field." + f.field ? f.field : label;
    }).join("、") };
    for (const [k, v] of Object.entries(body.params || {})) {
      vars[k] = v === null || v === undefined ? t("none") : v;
      if (k.endsWith("_bytes") && typeof v === "number") vars[k.slice(0, -6) + "_mb"] = +(v / 1e6).toFixed(1);
    }
    const key = "problem." + body.code;
    const text = body.code ? t(key, vars) : key;
    return text !== key ? text : (e && e.message) || String(e);
  }

  function status(node, text, kind) {
    if (!node) return;
    node.textContent = text || "";
    node.className = "status" + (kind ? " " + kind : "");
  }

  document.addEventListener("DOMContentLoaded", () => {
    const out = document.getElementById("logout");
    if (out) {
      out.addEventListener("click", async () => {
        try {
          await api("POST", "/api/v1/auth/logout");
        } finally {
          sessionStorage.clear();
          location.assign("/login");
        }
      });
    }
  });

  /** The WAI-ARIA tabs pattern over the page's [role="tab"] buttons: a click, or ←/→ (wrapping round,
      focus follows), selects a tab — aria-selected, tabIndex 0 on it and −1 on the others, only its
      aria-controls panel shown — then runs `loaders[tab.id]()` when there is one. Returns
      {tabs: the tab buttons in page order, select(tab), current(): the selected tab or undefined}. */
  function tabs(loaders) {
    const all = [...document.querySelectorAll('[role="tab"]')];
    function select(tab) {
      for (const t of all) {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      }
      if (loaders[tab.id]) loaders[tab.id]();
    }
    all.forEach((tab, i) => {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (e) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
        if (!step) return;
        const next = all[(i + step + all.length) % all.length];
        next.focus();
        select(next);
      });
    });
    const current = () => all.find((t) => t.getAttribute("aria-selected") === "true");
    return { tabs: all, select, current };
  }

  /** Whether the signed-in user holds `permission` (a courtesy for showing controls; the API checks). */
  const can = (permission) => !!(me && me.permissions.includes(permission));

  /** Today's date YYYY-MM-DD in 北京时间. */
  function today() {
    const d = new Date(Date.now() + 8 * 3600 * 1000);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  }
  /** The date `iso` (YYYY-MM-DD) moved by `days`. */
  function addDays(iso, days) {
    const d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  /** A photo over `maxBytes` made smaller in the browser, as phones take 5–10 MB JPEGs: decoded (EXIF
     orientation applied), drawn on a canvas with its longest side at most 2048 px and saved as JPEG at
     quality 0.85; quality, then size, step down until it fits. Resolves to {file, width, height}
     (file a JPEG File named like the original with .jpg), or null when the browser cannot decode it
     (the caller then refuses it as too big). A photo already small enough is not touched: the caller
     only asks for one over the limit. */
  async function shrinkPhoto(file, maxBytes) {
    let img;
    try {
      img = await createImageBitmap(file);
    } catch {
      return null;
    }
    try {
      let side = Math.min(2048, Math.max(img.width, img.height));
      for (let i = 0; i < 8; i++) {
        const k = side / Math.max(img.width, img.height);
        const w = Math.max(1, Math.round(img.width * k));
        const h = Math.max(1, Math.round(img.height * k));
        const canvas = document.createElement("canvas");
        canvas.width = w;
        canvas.height = h;
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff"; // a PNG's transparency becomes white, not black
        ctx.fillRect(0, 0, w, h);
        ctx.drawImage(img, 0, 0, w, h);
        for (const q of [0.85, 0.7]) {
          const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", q));
          if (blob && blob.size <= maxBytes) {
            const name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
            return { file: new File([blob], name, { type: "image/jpeg" }), width: w, height: h };
          }
        }
        side = Math.round(side * 0.75);
      }
      return null;
    } finally {
      img.close();
    }
  }

  return { t, api, ApiError, el, time, limit, pct, towns, categories, categoryOptions, live, debounce, status,
    me, csrf, page, can, today, addDays, problem, shrinkPhoto, tabs };
})();
