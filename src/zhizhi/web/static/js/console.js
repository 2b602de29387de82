/* console.js — the duty console's event queue: filters (node, category, town, overdue, supervised,
   title words) kept in the address bar, 50 events a page from GET /api/v1/events (the API limits
   them to the user's scope), refreshed when the live stream announces a change. */
"use strict";

const PAGE = 50;

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("filters");
  const body = document.getElementById("queue-body");
  const caption = document.getElementById("queue-caption");
  const status = document.getElementById("queue-status");
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  let offset = Number(new URLSearchParams(location.search).get("offset") || 0);
  let towns = {};
  let cats = { leaves: {} };

  try {
    [towns, cats] = await Promise.all([ZZ.towns(), ZZ.categories()]);
  } catch (e) {
    ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
  }
  document.getElementById("f-category").append(...ZZ.categoryOptions(cats.tree || []));
  const townSelect = document.getElementById("f-town");
  const scope = ZZ.me && ZZ.me.scope;
  if (scope && scope.kind !== "district") {
    document.getElementById("f-town-label").hidden = true; // one town (or less) in scope
  } else {
    townSelect.append(...Object.entries(towns).map(([code, name]) => ZZ.el("option", { value: code }, name)));
  }

  // filters from the address bar
  const params = new URLSearchParams(location.search);
  for (const name of ["node", "category_code", "town_code", "q"]) {
    if (params.get(name) && form.elements[name]) form.elements[name].value = params.get(name);
  }
  for (const name of ["overdue", "supervised"]) form.elements[name].checked = params.get(name) === "true";

  function query() {
    const q = new URLSearchParams();
    for (const name of ["node", "category_code", "town_code", "q"]) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    for (const name of ["overdue", "supervised"]) if (form.elements[name].checked) q.set(name, "true");
    return q;
  }

  function row(ev) {
    const flags = [];
    if (ev.overdue) flags.push(ZZ.el("span", { class: "tag red" }, ZZ.t("flag.overdue")));
    else if (ev.due_soon) flags.push(ZZ.el("span", { class: "tag yellow" }, ZZ.t("flag.due_soon")));
    if (ev.supervised) flags.push(ZZ.el("span", { class: "tag" }, ZZ.t("flag.supervised")));
    if (ev.parked) flags.push(ZZ.el("span", { class: "tag" }, ZZ.t("flag.parked")));
    return ZZ.el("tr", { dataset: { id: ev.id, node: ev.node } },
      ZZ.el("td", {}, ZZ.el("a", { href: `/console/events/${ev.id}` }, `#${ev.id}`)),
      ZZ.el("td", {}, ZZ.el("a", { href: `/console/events/${ev.id}` }, ev.title)),
      ZZ.el("td", {}, ev.category_name || ev.category_code),
      ZZ.el("td", {}, towns[ev.town_code] || ev.town_code || ZZ.t("none")),
      ZZ.el("td", {}, ZZ.t("node." + ev.node)),
      ZZ.el("td", {}, ZZ.el("span", { class: "badge " + ev.colour }, ZZ.t("colour." + ev.colour))),
      ZZ.el("td", {}, ZZ.time(ev.reported_at)),
      ZZ.el("td", {}, ZZ.time(ev.node_deadline)),
      ZZ.el("td", {}, flags));
  }

  async function load() {
    const q = query();
    if (offset) q.set("offset", offset);
    history.replaceState(null, "", "/console" + (q.toString() ? "?" + q : ""));
    q.set("limit", PAGE);
    ZZ.status(status, ZZ.t("loading"));
    try {
      const page = await ZZ.api("GET", "/api/v1/events?" + q);
      body.replaceChildren(...page.items.map(row));
      if (!page.items.length) {
        body.replaceChildren(ZZ.el("tr", {}, ZZ.el("td", { colspan: 9, class: "muted" }, ZZ.t("empty"))));
      }
      caption.textContent = ZZ.t("table.caption", {
        total: page.total,
        from: page.total ? offset + 1 : 0,
        to: offset + page.items.length,
      });
      prev.disabled = offset === 0;
      next.disabled = offset + page.items.length >= page.total;
      ZZ.status(status, "");
      document.body.dataset.loaded = String(Date.now());
    } catch (e) {
      ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    offset = 0;
    load();
  });
  form.addEventListener("reset", () => setTimeout(() => {
    offset = 0;
    load();
  }));
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    load();
  });
  next.addEventListener("click", () => {
    offset += PAGE;
    load();
  });
  ZZ.live(ZZ.debounce(load, 400));
  load();
});
