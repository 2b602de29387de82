/* m.js — the grid worker's phone page (375 px): report an event (category, description, photo,
   GPS from the browser or a typed point, else the worker's own grid), my tasks, my grid's events.
   Small on purpose: no map library, three API calls at most per view. */
"use strict";

const OPEN_TASK_NODES = new Set(["dispatched", "signed", "parked"]);

document.addEventListener("DOMContentLoaded", async () => {
  const me = ZZ.me || { permissions: [], scope: null };
  const form = document.getElementById("report-form");
  const status = document.getElementById("r-status");
  const locStatus = document.getElementById("r-loc-status");
  const inGrid = me.scope && me.scope.kind === "grid";
  document.getElementById("r-grid-hint").hidden = !inGrid;
  if (!inGrid) document.getElementById("area-heading").textContent = ZZ.t("area.heading_other");

  // --- tabs (arrow keys move between them, as the WAI-ARIA tabs pattern) ---
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const loaders = { "tab-tasks": loadTasks, "tab-area": loadArea };
  function select(tab) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (loaders[tab.id]) loaders[tab.id]();
  }
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      select(next);
    });
  });
  const current = () => tabs.find((t) => t.getAttribute("aria-selected") === "true");

  // --- report ---
  const catSelect = document.getElementById("r-category");
  let leaves = {};
  try {
    const cats = await ZZ.categories();
    leaves = cats.leaves;
    catSelect.append(...ZZ.categoryOptions(cats.tree));
  } catch (e) {
    ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
  }
  let autoTitle = "";
  catSelect.addEventListener("change", () => {
    const title = form.elements.title;
    const leaf = leaves[catSelect.value];
    if (leaf && (!title.value || title.value === autoTitle)) {
      autoTitle = leaf.name;
      title.value = leaf.name;
    }
  });

  document.getElementById("r-locate").addEventListener("click", () => {
    if (!navigator.geolocation) {
      ZZ.status(locStatus, ZZ.t("report.locate_failed"), "error");
      return;
    }
    ZZ.status(locStatus, ZZ.t("report.locating"));
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        form.elements.lon.value = pos.coords.longitude.toFixed(6);
        form.elements.lat.value = pos.coords.latitude.toFixed(6);
        ZZ.status(locStatus, ZZ.t("report.located", {
          lon: form.elements.lon.value, lat: form.elements.lat.value, acc: Math.round(pos.coords.accuracy),
        }), "ok");
      },
      () => ZZ.status(locStatus, ZZ.t("report.locate_failed"), "error"),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    if (!f.category_code.value) {
      f.category_code.focus();
      ZZ.status(status, ZZ.t("report.choose"), "error");
      return;
    }
    if (!f.title.value.trim()) {
      f.title.focus();
      ZZ.status(status, ZZ.t("report.title"), "error");
      return;
    }
    const body = {
      source: "grid_app",
      category_code: f.category_code.value,
      title: f.title.value.trim(),
      description: f.description.value.trim(),
    };
    const lon = parseFloat(f.lon.value);
    const lat = parseFloat(f.lat.value);
    if (Number.isFinite(lon) && Number.isFinite(lat)) {
      body.lon = lon;
      body.lat = lat;
    } else if (inGrid) {
      body.grid_code = me.scope.code;
    } else {
      f.lon.focus();
      ZZ.status(status, ZZ.t("report.need_location"), "error");
      return;
    }
    const button = document.getElementById("r-submit");
    button.disabled = true;
    ZZ.status(status, ZZ.t("report.sending"));
    try {
      const ev = await ZZ.api("POST", "/api/v1/events", body);
      const photo = f.photo.files[0];
      let note = ZZ.t("report.sent", { id: ev.id });
      let kind = "ok";
      if (photo) {
        const data = new FormData();
        data.append("file", photo);
        data.append("kind", "before");
        try {
          await ZZ.api("POST", `/api/v1/events/${ev.id}/attachments`, data);
        } catch (err) {
          note = ZZ.t("report.photo_failed", { id: ev.id, detail: err.message });
          kind = "error";
        }
      }
      form.reset();
      autoTitle = "";
      ZZ.status(locStatus, "");
      status.replaceChildren(note, " ", ZZ.el("a", { href: `/m/events/${ev.id}` }, ZZ.t("open")));
      status.className = "status " + kind;
      status.dataset.eventId = ev.id;
    } catch (err) {
      ZZ.status(status, ZZ.t("error.generic", { detail: err.message }), "error");
    } finally {
      button.disabled = false;
    }
  });

  // --- lists ---
  function card(ev) {
    return ZZ.el("li", { dataset: { id: ev.id } },
      ZZ.el("a", { href: `/m/events/${ev.id}` }, `#${ev.id} ${ev.title}`),
      ZZ.el("span", { class: "small" },
        ZZ.el("span", { class: "badge " + ev.colour }, ZZ.t("node." + ev.node)), " ",
        ev.category_name || ev.category_code, " · ", ZZ.time(ev.reported_at)));
  }
  function fill(list, items, emptyKey) {
    list.replaceChildren(...items.map(card));
    if (!items.length) list.replaceChildren(ZZ.el("li", { class: "muted" }, ZZ.t(emptyKey)));
  }
  async function loadTasks() {
    const list = document.getElementById("tasks");
    try {
      const mine = await ZZ.api("GET", `/api/v1/events?unit_code=${encodeURIComponent(me.unit_code)}&limit=50`);
      const items = mine.items.filter((e) => OPEN_TASK_NODES.has(e.node));
      if (me.permissions.includes("event.verify_pass")) {
        const check = await ZZ.api("GET", "/api/v1/events?node=handled&limit=50");
        for (const e of check.items) if (!items.some((x) => x.id === e.id)) items.push(e);
      }
      fill(list, items, "tasks.empty");
    } catch (e) {
      list.replaceChildren(ZZ.el("li", { class: "error" }, ZZ.t("error.generic", { detail: e.message })));
    }
  }
  async function loadArea() {
    const list = document.getElementById("area");
    try {
      fill(list, (await ZZ.api("GET", "/api/v1/events?limit=30")).items, "area.empty");
    } catch (e) {
      list.replaceChildren(ZZ.el("li", { class: "error" }, ZZ.t("error.generic", { detail: e.message })));
    }
  }
  ZZ.live(ZZ.debounce(() => {
    const tab = current();
    if (tab && loaders[tab.id]) loaders[tab.id]();
  }, 500));
});
