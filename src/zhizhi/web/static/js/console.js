/* console.js — the duty console's event queue: filters (状态 在办/已办结/全部, 我的待办, node, category,
   town, overdue, supervised, title words) kept in the address bar, 50 events a page from
   GET /api/v1/events (the API limits them to the user's scope), sorted by the real instants (上报时间,
   本环节截止), refreshed when the live stream announces a change; new reports are highlighted. */
"use strict";

const PAGE = 50;
const FRESH_MS = 12000;

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("filters");
  const body = document.getElementById("queue-body");
  const caption = document.getElementById("queue-caption");
  const status = document.getElementById("queue-status");
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  const params = new URLSearchParams(location.search);
  let offset = Number(params.get("offset") || 0);
  let sort = params.get("sort") || "-reported_at";
  let towns = {};
  let cats = { leaves: {} };
  const fresh = new Map(); // event id → when the live stream announced its report

  try {
    [towns, cats] = await Promise.all([ZZ.towns(), ZZ.categories()]);
  } catch (e) {
    ZZ.status(status, ZZ.t("error.generic", { detail: ZZ.problem(e) }), "error");
  }
  document.getElementById("f-category").append(...ZZ.categoryOptions(cats.tree || []));
  const townSelect = document.getElementById("f-town");
  const scope = ZZ.me && ZZ.me.scope;
  if (scope && scope.kind !== "district") {
    document.getElementById("f-town-label").hidden = true; // one town (or less) in scope
  } else {
    townSelect.append(...Object.entries(towns).map(([code, name]) => ZZ.el("option", { value: code }, name)));
  }

  // filters from the address bar; the queue shows open events unless told otherwise
  for (const name of ["node", "category_code", "town_code", "q"]) {
    if (params.get(name) && form.elements[name]) form.elements[name].value = params.get(name);
  }
  form.elements.state.value = ["done", "all"].includes(params.get("state")) ? params.get("state") : "open";
  for (const name of ["overdue", "supervised", "mine"]) form.elements[name].checked = params.get(name) === "true";

  /** The filters as the page's address (state only when not the default 在办). */
  function query() {
    const q = new URLSearchParams();
    if (form.elements.state.value !== "open") q.set("state", form.elements.state.value);
    for (const name of ["node", "category_code", "town_code", "q"]) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    for (const name of ["mine", "overdue", "supervised"]) if (form.elements[name].checked) q.set(name, "true");
    if (sort !== "-reported_at") q.set("sort", sort);
    return q;
  }

  /** The same filters for GET /api/v1/events. */
  function apiQuery() {
    const q = query();
    const state = q.get("state") || "open";
    q.delete("state");
    if (state !== "all") q.set("open", String(state === "open"));
    q.set("sort", sort);
    q.set("limit", PAGE);
    if (offset) q.set("offset", offset);
    return q;
  }

  function when(iso) {
    return iso ? ZZ.el("time", { datetime: iso }, ZZ.time(iso)) : ZZ.t("none");
  }

  function row(ev) {
    const flags = [];
    if (ev.overdue) flags.push(ZZ.el("span", { class: "tag red" }, ZZ.t("flag.overdue")));
    else if (ev.due_soon) flags.push(ZZ.el("span", { class: "tag yellow" }, ZZ.t("flag.due_soon")));
    if (ev.supervised) flags.push(ZZ.el("span", { class: "tag" }, ZZ.t("flag.supervised")));
    if (ev.parked) flags.push(ZZ.el("span", { class: "tag" }, ZZ.t("flag.parked")));
    if (ev.held_by_district) flags.push(ZZ.el("span", { class: "tag" }, ZZ.t("flag.escalated")));
    const isFresh = fresh.has(ev.id) && Date.now() - fresh.get(ev.id) < FRESH_MS;
    if (isFresh) flags.unshift(ZZ.el("span", { class: "tag new" }, ZZ.t("table.new")));
    const href = `/console/events/${ev.id}`;
    return ZZ.el("tr", { dataset: { id: ev.id, node: ev.node }, class: isFresh ? "fresh" : null },
      ZZ.el("td", {}, ZZ.el("a", { href }, `#${ev.id}`)),
      ZZ.el("td", { class: "title" }, ZZ.el("a", { href, title: ev.title }, ev.title)),
      ZZ.el("td", {}, ev.category_name || ev.category_code),
      ZZ.el("td", {}, towns[ev.town_code] || ev.town_code || ZZ.t("none")),
      ZZ.el("td", {}, ZZ.t("node." + ev.node)),
      ZZ.el("td", {}, ZZ.el("span", { class: "badge " + ev.colour }, ZZ.t("colour." + ev.colour))),
      ZZ.el("td", { class: "when" }, when(ev.reported_at)),
      ZZ.el("td", { class: "when" }, when(ev.node_deadline)),
      ZZ.el("td", {}, flags));
  }

  /** The sort buttons: aria-sort on the sorted column; a click sorts by it, again reverses. */
  function showSort() {
    for (const key of ["reported_at", "node_deadline"]) {
      const th = document.getElementById("th-" + key);
      const on = sort.replace("-", "") === key;
      const desc = sort.startsWith("-");
      if (on) th.setAttribute("aria-sort", desc ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
      const button = document.getElementById("sort-" + key);
      button.title = ZZ.t("table.sort_by", { column: button.textContent }) +
        (on ? `（${ZZ.t(desc ? "table.sorted_desc" : "table.sorted_asc")}）` : "");
    }
  }
  for (const key of ["reported_at", "node_deadline"]) {
    document.getElementById("sort-" + key).addEventListener("click", () => {
      const first = key === "reported_at" ? "-" + key : key; // newest reports, soonest deadlines first
      sort = sort === first ? (first.startsWith("-") ? key : "-" + key) : first;
      offset = 0;
      load();
    });
  }

  async function load() {
    const q = query();
    if (offset) q.set("offset", offset);
    history.replaceState(null, "", "/console" + (q.toString() ? "?" + q : ""));
    showSort();
    ZZ.status(status, ZZ.t("loading"));
    try {
      const page = await ZZ.api("GET", "/api/v1/events?" + apiQuery());
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
      ZZ.status(status, ZZ.t("error.generic", { detail: ZZ.problem(e) }), "error");
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    offset = 0;
    load();
  });
  form.addEventListener("reset", () => setTimeout(() => {
    form.elements.state.value = "open";
    offset = 0;
    load();
  }));
  for (const name of ["state", "mine"]) form.elements[name].addEventListener("change", () => {
    offset = 0;
    load();
  });
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    load();
  });
  next.addEventListener("click", () => {
    offset += PAGE;
    load();
  });
  const soon = ZZ.debounce(load, 400);
  ZZ.live((msg) => {
    if (msg.type === "change" && msg.action === "report") {
      fresh.set(msg.id, Date.now());
      setTimeout(() => {
        const tr = body.querySelector(`tr[data-id='${msg.id}']`);
        if (tr) tr.classList.remove("fresh");
      }, FRESH_MS);
    }
    soon();
  });
  load();
});
