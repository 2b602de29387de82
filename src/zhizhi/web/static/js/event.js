/* event.js — one event: facts, the buttons for exactly the moves the signed-in user may make now
   (the API's allowed_actions), a small form per move (派遣 with a unit picker), the timeline and
   the attachments. Every move sends expected_version, so a stale page gets a clear 409. */
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const id = Number(document.body.dataset.eventId);
  const status = document.getElementById("ev-status");
  const actions = document.getElementById("ev-actions");
  const form = document.getElementById("ev-form");
  const upload = document.getElementById("ev-upload");
  const me = ZZ.me || { permissions: [] };
  const unitNames = {};
  let ev = null;
  let transitions = {};
  let towns = {};

  async function unitName(code) {
    if (!code) return ZZ.t("none");
    if (!(code in unitNames)) {
      try {
        unitNames[code] = (await ZZ.api("GET", `/api/v1/org/units/${encodeURIComponent(code)}`)).name;
      } catch (e) {
        unitNames[code] = code;
      }
    }
    return unitNames[code];
  }

  async function dispatchTargets() {
    // the event's town: its center and the center's boards; the district's departments for those
    // who may dispatch anywhere (event.any_unit)
    const groups = [];
    if (ev.town_code) {
      const kids = (await ZZ.api("GET", `/api/v1/org/units?parent=${ev.town_code}&limit=500`)).items;
      const center = kids.find((u) => u.level === "center");
      if (center) {
        const boards = (await ZZ.api("GET", `/api/v1/org/units?parent=${center.code}&limit=500`)).items;
        groups.push([ZZ.t("form.units_town"), [center, ...boards]]);
      }
    }
    if (me.permissions.includes("event.any_unit")) {
      const deps = await ZZ.api("GET",
        `/api/v1/org/units?level=department&district=${ev.district_code}&limit=500`);
      groups.push([ZZ.t("form.units_department"), deps.items]);
    }
    for (const [, units] of groups) for (const u of units) unitNames[u.code] = u.name;
    return groups;
  }

  function fact(label, value) {
    return [ZZ.el("dt", {}, label), ZZ.el("dd", {}, value)];
  }

  async function renderFacts() {
    document.getElementById("ev-title").textContent = `#${ev.id} ${ev.title}`;
    const facts = document.getElementById("ev-facts");
    const badge = ZZ.el("span", { class: "badge " + ev.colour }, ZZ.t("colour." + ev.colour));
    const flags = [];
    if (ev.overdue) flags.push(ZZ.el("span", { class: "tag red" }, ZZ.t("flag.overdue")));
    if (ev.supervised) flags.push(ZZ.el("span", { class: "tag" }, ZZ.t("flag.supervised")));
    facts.replaceChildren(
      ...fact(ZZ.t("event.category"), ev.category_name || ev.category_code),
      ...fact(ZZ.t("event.node"), [ZZ.el("strong", { id: "ev-node", dataset: { node: ev.node } },
        ZZ.t("node." + ev.node)), " ", ...flags]),
      ...fact(ZZ.t("event.colour"), badge),
      ...fact(ZZ.t("event.urgency"), ZZ.t("urgency." + ev.urgency)),
      ...fact(ZZ.t("event.source"), ZZ.t("source." + ev.source)),
      ...fact(ZZ.t("event.town"), towns[ev.town_code] || ev.town_code || ZZ.t("none")),
      ...fact(ZZ.t("event.grid"), ev.grid_code || ZZ.t("none")),
      ...fact(ZZ.t("event.address"), ev.address || ZZ.t("none")),
      ...fact(ZZ.t("event.location"), ev.lon === null ? ZZ.t("none") : `${ev.lon.toFixed(6)}, ${ev.lat.toFixed(6)}`),
      ...fact(ZZ.t("event.reported_at"), ZZ.time(ev.reported_at)),
      ...fact(ZZ.t("event.deadline"), ev.node_deadline ? `${ZZ.time(ev.node_deadline)}(${ZZ.limit(ev.node_limit)})` : ZZ.t("none")),
      ...fact(ZZ.t("event.unit"), ev.unit_code ? await unitName(ev.unit_code) : ZZ.t("none")),
      ...fact(ZZ.t("event.suggested_unit"), ev.suggested_unit_code ? await unitName(ev.suggested_unit_code) : ZZ.t("none")),
    );
    document.getElementById("ev-description").textContent = ev.description || "";
  }

  function renderActions() {
    form.hidden = true;
    form.replaceChildren();
    if (!ev.allowed_actions.length) {
      actions.replaceChildren(ZZ.el("p", { class: "muted" }, ZZ.t("event.no_actions")));
      return;
    }
    actions.replaceChildren(...ev.allowed_actions.map((a) =>
      ZZ.el("button", { type: "button", class: "action", dataset: { action: a }, onclick: () => openForm(a) },
        (transitions[a] || {}).label || a)));
  }

  function field(labelText, control) {
    return ZZ.el("div", { class: "field" }, ZZ.el("label", { for: control.id }, labelText), control);
  }

  async function openForm(action) {
    const tr = transitions[action] || { label: action, needs: [] };
    const needs = new Set(tr.needs);
    const parts = [ZZ.el("h3", {}, tr.label)];
    if (needs.has("unit_code")) {
      const select = ZZ.el("select", { id: "f-unit_code", name: "unit_code", required: true });
      select.append(ZZ.el("option", { value: "auto" }, ZZ.t("form.unit_auto")));
      try {
        for (const [label, units] of await dispatchTargets()) {
          select.append(ZZ.el("optgroup", { label },
            units.map((u) => ZZ.el("option", { value: u.code }, `${u.name}(${u.code})`))));
        }
      } catch (e) {
        ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
      }
      if (ev.suggested_unit_code && [...select.options].some((o) => o.value === ev.suggested_unit_code)) {
        select.value = ev.suggested_unit_code;
      }
      parts.push(field(ZZ.t("form.unit_code"), select));
    }
    if (needs.has("satisfaction")) {
      const select = ZZ.el("select", { id: "f-satisfaction", name: "satisfaction", required: true },
        [5, 4, 3, 2, 1].map((n) => ZZ.el("option", { value: n }, n)));
      parts.push(field(ZZ.t("form.satisfaction"), select));
    }
    if (needs.has("extra_amount")) {
      parts.push(field(ZZ.t("form.extra_amount"), ZZ.el("input", {
        id: "f-extra_amount", name: "extra_amount", type: "number", min: "0.5", max: "1000", step: "0.5", required: true,
      })));
    }
    if (action === "supervise") {
      parts.push(field(ZZ.t("form.kind"), ZZ.el("select", { id: "f-kind", name: "kind" },
        ZZ.el("option", { value: "key" }, ZZ.t("form.kind_key")),
        me.role === "leader" ? ZZ.el("option", { value: "leader" }, ZZ.t("form.kind_leader")) : null)));
    }
    parts.push(field(ZZ.t("form.comment"), ZZ.el("textarea", {
      id: "f-comment", name: "comment", rows: 3, maxlength: 5000, required: needs.has("comment"),
    })));
    parts.push(ZZ.el("div", { class: "buttons" },
      ZZ.el("button", { type: "submit", class: "primary", id: "f-submit" }, ZZ.t("form.submit", { label: tr.label })),
      ZZ.el("button", { type: "button", onclick: renderActions }, ZZ.t("form.cancel"))));
    form.replaceChildren(...parts);
    form.dataset.action = action;
    form.hidden = false;
    (form.querySelector("select, input, textarea") || form.querySelector("button")).focus();
  }

  form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") renderActions();
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const action = form.dataset.action;
    const label = (transitions[action] || {}).label || action;
    const body = { action, expected_version: ev.version };
    for (const name of ["comment", "unit_code", "satisfaction", "extra_amount", "kind"]) {
      const input = form.elements[name];
      if (!input || input.value === "") continue;
      body[name] = ["satisfaction", "extra_amount"].includes(name) ? Number(input.value) : input.value.trim();
    }
    const missing = [...form.querySelectorAll("[required]")].find((i) => !i.value.trim());
    if (missing) {
      missing.focus();
      ZZ.status(status, ZZ.t("error.generic", { detail: missing.labels[0].textContent }), "error");
      return;
    }
    document.getElementById("f-submit").disabled = true;
    try {
      ev = await ZZ.api("POST", `/api/v1/events/${id}/transitions`, body);
      await render();
      ZZ.status(status, ZZ.t("form.done", { label }), "ok");
      status.focus();
    } catch (err) {
      if (err.status === 409) {
        ZZ.status(status, ZZ.t("error.conflict"), "error");
        await load();
      } else {
        ZZ.status(status, ZZ.t("error.generic", { detail: err.message }), "error");
        document.getElementById("f-submit").disabled = false;
      }
    }
  });

  function renderTimeline() {
    const body = document.getElementById("ev-timeline");
    body.replaceChildren(...ev.timeline.map((s) => {
      const label = (transitions[s.action] || {}).label || (s.action === "report" ? ZZ.t("source." + ev.source) : s.action);
      const used = s.limit ? `${s.used === null ? ZZ.t("none") : s.used.toFixed(1)} / ${ZZ.limit(s.limit)}` : ZZ.t("none");
      return ZZ.el("tr", { dataset: { action: s.action } },
        ZZ.el("td", {}, ZZ.time(s.at)),
        ZZ.el("td", {}, label),
        ZZ.el("td", {}, `${s.from_node ? ZZ.t("node." + s.from_node) : ""} → ${ZZ.t("node." + s.to_node)}`),
        ZZ.el("td", {}, s.actor_name),
        ZZ.el("td", {}, s.comment || ""),
        ZZ.el("td", { class: s.overdue ? "late" : "" }, used, s.overdue ? ` ${ZZ.t("event.late")}` : ""));
    }));
  }

  function renderAttachments() {
    const list = document.getElementById("ev-attachments");
    list.replaceChildren(...ev.attachments.map((a) =>
      ZZ.el("li", { dataset: { id: a.id } }, `${ZZ.t("event.kind_" + a.kind)}:`,
        ZZ.el("a", { href: `/api/v1/events/${id}/attachments/${a.id}`, download: a.filename,
          title: ZZ.t("event.download") }, a.filename),
        `(${Math.ceil(a.size / 1024)} KB,${ZZ.time(a.uploaded_at)})`)));
    if (!ev.attachments.length) list.replaceChildren(ZZ.el("li", { class: "muted" }, ZZ.t("event.no_attachments")));
    upload.hidden = !me.permissions.includes("event.attach");
  }

  // the event on a small map of its town's grids (console layout only: the phone loads no library)
  const mapBox = document.getElementById("ev-map");
  let mapChart = null;
  let mapTown = null;
  async function renderMap() {
    if (!mapBox || typeof echarts === "undefined" || !ev.town_code || ev.lon === null) {
      if (mapBox) mapBox.hidden = true;
      return;
    }
    try {
      if (mapTown !== ev.town_code) {
        const geo = await ZZ.api("GET", `/api/v1/org/geojson?level=grid&town=${encodeURIComponent(ev.town_code)}`);
        echarts.registerMap("town-" + ev.town_code, geo);
        mapTown = ev.town_code;
      }
      mapBox.hidden = false;
      mapChart = mapChart || echarts.init(mapBox, null, { renderer: "canvas" });
      const colours = { green: "#2e7d32", blue: "#1565c0", yellow: "#c9a400", orange: "#e65100", red: "#c62828" };
      mapChart.setOption({
        geo: { map: "town-" + ev.town_code, roam: true, nameProperty: "code", layoutCenter: ["50%", "50%"], layoutSize: "95%",
          itemStyle: { areaColor: "#e8edf2", borderColor: "#7b8794", borderWidth: 0.6 },
          regions: ev.grid_code ? [{ name: ev.grid_code, itemStyle: { areaColor: "#bcd4ea" } }] : [],
          emphasis: { disabled: true }, label: { show: false } },
        series: [{ type: "effectScatter", coordinateSystem: "geo", symbolSize: 14, rippleEffect: { scale: 3 },
          itemStyle: { color: colours[ev.colour] || colours.green, borderColor: "#ffffff", borderWidth: 1.5 },
          data: [{ name: `#${ev.id}`, value: [ev.lon, ev.lat] }] }],
      });
      mapBox.dataset.drawn = ev.town_code;
    } catch (e) {
      mapBox.hidden = true;
    }
  }

  async function render() {
    await renderFacts();
    renderMap();
    renderActions();
    renderTimeline();
    renderAttachments();
    document.body.dataset.version = String(ev.version);
  }

  async function load() {
    try {
      ev = await ZZ.api("GET", `/api/v1/events/${id}`);
      await render();
      ZZ.status(status, "");
    } catch (e) {
      ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
    }
  }

  upload.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(upload);
    try {
      await ZZ.api("POST", `/api/v1/events/${id}/attachments`, data);
      upload.reset();
      await load();
      ZZ.status(status, ZZ.t("event.uploaded"), "ok");
    } catch (err) {
      ZZ.status(status, ZZ.t("error.generic", { detail: err.message }), "error");
    }
  });

  try {
    const [list, t] = await Promise.all([ZZ.api("GET", "/api/v1/transitions"), ZZ.towns()]);
    transitions = Object.fromEntries(list.map((x) => [x.action, x]));
    towns = t;
  } catch (e) {
    ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
  }
  await load();
  ZZ.live((msg) => {
    if ((msg.type === "change" && msg.id === id && msg.version !== ev.version) || msg.type !== "change") {
      if (form.hidden) load(); // do not pull the page from under someone filling a form
    }
  });
});
