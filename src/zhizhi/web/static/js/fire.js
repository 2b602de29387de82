/* fire.js — the fire page (森林防火): the day's danger level per town (map + table) from
   /api/v1/fire/danger(/geojson) (without ?date= the latest rated day, page data latest_rated), hotspot clusters of the last 7 days with their verification state
   and a verify form (fire.verify), resources when the platform serves them, the CAP bulletin, and
   the drill button (fire.drill): POST /api/v1/fire/drills, then its node timings, polled from
   GET /api/v1/fire/drills/{id} until every node is reached. */
"use strict";

const CLUSTER_DAYS = 7;
const POLL_MS = 2000;

document.addEventListener("DOMContentLoaded", async () => {
  const status = document.getElementById("fire-status");
  const dayForm = document.getElementById("fire-day");
  const dateInput = document.getElementById("f-date");
  const today = ZZ.today();
  const day = ZZ.page.date || today;
  // the danger ratings: of the day asked for, else of the latest day rated (a run may be days old);
  // the hotspots stay those of the 7 days to the page's day
  const latest = ZZ.page.latest_rated;
  const dangerDay = ZZ.page.date || latest || today;
  dateInput.value = day;
  dateInput.max = today;
  const fail = (e) => ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
  if (!ZZ.can("fire.read")) {
    ZZ.status(status, ZZ.t("error.forbidden"), "error");
    return;
  }
  let towns = {};
  try {
    towns = await ZZ.towns();
  } catch (e) {
    fail(e);
  }

  dayForm.addEventListener("submit", (e) => {
    e.preventDefault();
    location.assign("/fire?date=" + encodeURIComponent(dateInput.value));
  });

  // --- danger: map and table -------------------------------------------------------------------
  const map = echarts.init(document.getElementById("fire-map"), null, { renderer: "canvas" });
  async function loadDanger() {
    const [geo, rows] = await Promise.all([
      ZZ.api("GET", `/api/v1/fire/danger/geojson?date=${dangerDay}`),
      ZZ.api("GET", `/api/v1/fire/danger?date=${dangerDay}&level=town`),
    ]);
    const shown = document.getElementById("danger-day");
    shown.dataset.day = dangerDay;
    shown.textContent = !ZZ.page.date && latest && latest !== today
      ? ZZ.t("danger.latest", { day: dangerDay }) : ZZ.t("danger.day", { day: dangerDay });
    const body = document.getElementById("danger-body");
    body.replaceChildren(...rows.map((r) => {
      const sw = ZZ.el("span", { class: "swatch", "aria-hidden": "true" });
      sw.style.background = r.colour;
      return ZZ.el("tr", { dataset: { town: r.unit_code, level: r.level } },
        ZZ.el("th", { scope: "row" }, r.unit_name),
        ZZ.el("td", {}, sw, ZZ.el("span", { class: "level-text" }, `${r.label} ${r.name}`)),
        ZZ.el("td", { class: "num" }, r.htz.toFixed(1)),
        ZZ.el("td", { class: "num" }, r.fwi.fwi === null ? ZZ.t("none") : r.fwi.fwi.toFixed(1)),
        ZZ.el("td", {}, r.station),
        ZZ.el("td", { class: "num" }, r.distance_km.toFixed(1)));
    }));
    if (!rows.length) {
      // rated on another day: say which, with a link to it
      const cell = ZZ.el("td", { colspan: 6, class: "muted" }, ZZ.t("danger.none"));
      if (latest && latest !== dangerDay) {
        cell.append(" ", ZZ.el("a", { href: `/fire?date=${latest}`, class: "latest-rated" },
          ZZ.t("danger.see_latest", { day: latest })));
      }
      body.replaceChildren(ZZ.el("tr", {}, cell));
    }
    return geo;
  }

  async function drawMap(geo, clusters, resources) {
    if (!geo.features.length) {
      // no rating that day: the towns' own boundaries, so hotspots and resources still have a map
      const towns = await ZZ.api("GET", "/api/v1/org/geojson?level=town");
      for (const f of towns.features) f.properties.unit_name = f.properties.name;
      geo = towns;
    }
    echarts.registerMap("fire", geo);
    const levels = new Map();
    const level = (f) => (typeof f.properties.level === "number" ? f.properties.level : null);
    for (const f of geo.features) if (level(f)) levels.set(level(f), f.properties);
    const pieces = [...levels.values()].sort((a, b) => a.level - b.level)
      .map((p) => ({ value: p.level, color: p.colour, label: `${p.label} ${p.name}` }));
    map.setOption({
      tooltip: { trigger: "item" },
      visualMap: pieces.length ? [{ type: "piecewise", left: 8, bottom: 8, pieces, seriesIndex: 0 }] : [],
      geo: { map: "fire", roam: false, nameProperty: "unit_name", layoutCenter: ["50%", "50%"], layoutSize: "95%",
        label: { show: true, fontSize: 11, color: "#1b2733", textBorderColor: "#ffffff", textBorderWidth: 2 },
        itemStyle: { borderColor: "#5f6b77", borderWidth: 0.8, areaColor: "#e8edf2" } },
      series: [
        { type: "map", geoIndex: 0, data: geo.features.map((f) => ({ name: f.properties.unit_name, value: level(f) })) },
        { type: "scatter", coordinateSystem: "geo", name: ZZ.t("map.clusters"), symbol: "triangle", symbolSize: 14,
          itemStyle: { color: "#b71c1c", borderColor: "#ffffff", borderWidth: 1 },
          data: clusters.map((c) => ({ name: `#${c.id}`, value: [c.lon, c.lat] })), zlevel: 2 },
        { type: "scatter", coordinateSystem: "geo", name: ZZ.t("map.resources"), symbol: "diamond", symbolSize: 10,
          itemStyle: { color: "#0b4f8a", borderColor: "#ffffff", borderWidth: 1 }, data: resources, zlevel: 1 },
      ],
    }, { replaceMerge: ["series", "visualMap"] });
  }

  // --- clusters and verification --------------------------------------------------------------------
  const verifyForm = document.getElementById("verify-form");
  const outcomeSelect = document.getElementById("v-outcome");
  outcomeSelect.append(...ZZ.page.outcomes.map((o) => ZZ.el("option", { value: o.key }, o.name)));
  const outcomeName = Object.fromEntries(ZZ.page.outcomes.map((o) => [o.key, o.name]));
  let verifying = null;

  function clusterRow(c) {
    const due = c.verify_due_at ? new Date(c.verify_due_at).getTime() : null;
    let state;
    if (c.outcome) state = ZZ.el("span", { class: "tag" }, outcomeName[c.outcome] || c.outcome);
    // an old detection imported later (no event) and a drill's cluster after its drill: nobody verifies them
    else if (c.verification === "historical") state = ZZ.el("span", { class: "tag" }, ZZ.t("clusters.historical"));
    else if (c.verification === "drill_ended") state = ZZ.el("span", { class: "tag" }, ZZ.t("clusters.drill_ended"));
    else if (due !== null && Date.now() > due) state = ZZ.el("span", { class: "tag red" }, `${ZZ.t("clusters.pending")} · ${ZZ.t("clusters.late")}`);
    else state = ZZ.el("span", { class: "tag yellow" }, ZZ.t("clusters.pending"));
    const cells = [
      ZZ.el("td", {}, `#${c.id}`, c.drill ? ` (${ZZ.t("clusters.drill")})` : ""),
      ZZ.el("td", {}, towns[c.town_code] || c.town_code || ZZ.t("none")),
      ZZ.el("td", {}, ZZ.time(c.last_seen)),
      ZZ.el("td", { class: "num" }, c.n_detections),
      ZZ.el("td", { class: "num" }, c.max_frp.toFixed(1)),
      ZZ.el("td", {}, c.verify_due_at ? ZZ.time(c.verify_due_at) : ZZ.t("none")),
      ZZ.el("td", { class: "cluster-state" }, state),
      ZZ.el("td", { class: "cluster-events" }, ...eventLinks(c)),
    ];
    if (c.event_id && ZZ.page.nearest) {
      cells[7].append(" ", ZZ.el("button", { type: "button", class: "nearest", onclick: () => showNearest(c) },
        ZZ.t("nearest.show")));
    }
    if (!c.outcome && c.verification !== "drill_ended" && ZZ.can("fire.verify")) {
      cells[6].append(" ", ZZ.el("button", { type: "button", class: "verify", dataset: { id: c.id },
        onclick: () => openVerify(c) }, ZZ.t("clusters.verify")));
    }
    return ZZ.el("tr", { dataset: { id: c.id, outcome: c.outcome || "" } }, cells);
  }

  // the 森林火情 event first once 真实火情 merged the check event into it; the check event after it
  function eventLinks(c) {
    const check = c.event_id ? ZZ.el("a", { href: `/console/events/${c.event_id}`, class: "check-event" },
      ZZ.t("clusters.check_event", { id: c.event_id })) : null;
    if (!c.fire_event_id) return [check ? check : ZZ.t("none")];
    const fire = ZZ.el("a", { href: `/console/events/${c.fire_event_id}`, class: "fire-event" },
      ZZ.t("clusters.fire_event_link", { id: c.fire_event_id }));
    if (!check) return [fire];
    check.classList.add("small");
    return [fire, " ", ZZ.el("span", { class: "small muted" }, "(", check, ")")];
  }

  function openVerify(c) {
    verifying = c.id;
    document.getElementById("verify-heading").textContent = `${ZZ.t("clusters.verify")} #${c.id}`;
    verifyForm.hidden = false;
    outcomeSelect.focus();
  }
  verifyForm.addEventListener("keydown", (e) => {
    if (e.key === "Escape") verifyForm.hidden = true;
  });
  verifyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    document.getElementById("v-submit").disabled = true;
    const by = document.getElementById("v-by").value.trim();
    try {
      // the answer is the cluster as recorded: draw it from there (a list fetched at once might not
      // see the change yet)
      const c = await ZZ.api("POST", `/api/v1/fire/clusters/${verifying}/verify`, {
        outcome: outcomeSelect.value, note: document.getElementById("v-note").value.trim(),
        ...(by ? { by } : {}),
      });
      verifyForm.hidden = true;
      verifyForm.reset();
      const old = document.querySelector(`#cluster-body tr[data-id='${c.id}']`);
      if (old) old.replaceWith(clusterRow(c));
      // 真实火情: the 森林火情 event opened and, by policy, the response started on it (or why not)
      let more = "";
      if (c.fire_event_id && c.response) {
        more = ZZ.t("clusters.responded", { id: c.fire_event_id, n: c.response.tasks.length });
      } else if (c.fire_event_id) {
        more = ZZ.t("clusters.fire_event", { id: c.fire_event_id }) + (c.response_note ? `: ${c.response_note}` : "");
      } else if (c.response_note) {
        more = c.response_note; // a historical cluster: the outcome is recorded only
      }
      ZZ.status(status, more ? `${ZZ.t("clusters.done")}；${more}` : ZZ.t("clusters.done"), "ok");
      // the row links it too; here next to the message
      if (c.fire_event_id) {
        status.append(" ", ZZ.el("a", { href: `/console/events/${c.fire_event_id}`, class: "fire-event" },
          ZZ.t("clusters.open_fire_event")));
      }
    } catch (err) {
      fail(err);
    } finally {
      document.getElementById("v-submit").disabled = false;
    }
  });

  async function loadClusters() {
    const since = ZZ.addDays(day, 1 - CLUSTER_DAYS);
    const until = ZZ.addDays(day, 1);
    const list = await ZZ.api("GET", `/api/v1/fire/clusters?since=${since}T00:00:00&until=${until}T00:00:00`);
    const body = document.getElementById("cluster-body");
    body.replaceChildren(...list.map(clusterRow));
    if (!list.length) body.replaceChildren(ZZ.el("tr", {}, ZZ.el("td", { colspan: 8, class: "muted" }, ZZ.t("clusters.none"))));
    return list;
  }

  // --- resources (when the platform serves them) ------------------------------------------------------
  async function loadResources() {
    const note = document.getElementById("resources-note");
    const ul = document.getElementById("resources");
    if (!ZZ.page.resources) {
      note.textContent = ZZ.t("resources.pending");
      return [];
    }
    const fc = await ZZ.api("GET", "/api/v1/fire/resources/geojson");
    const byKind = new Map();
    for (const f of fc.features) {
      const p = f.properties;
      if (!byKind.has(p.kind)) byKind.set(p.kind, { name: p.kind_name, colour: p.colour, items: [] });
      byKind.get(p.kind).items.push(p);
    }
    ul.replaceChildren(...[...byKind.entries()].map(([kind, k]) => {
      const sw = ZZ.el("span", { class: "swatch", "aria-hidden": "true" });
      sw.style.background = k.colour;
      const names = k.items.slice(0, 12).map((p) => p.name + (towns[p.town_code] ? `(${towns[p.town_code]})` : ""));
      return ZZ.el("li", { dataset: { kind } },
        ZZ.el("strong", {}, sw, ZZ.t("resources.count", { kind: k.name, n: k.items.length })),
        ZZ.el("span", { class: "small" }, names.join("、") + (k.items.length > 12 ? " …" : "")));
    }));
    note.textContent = fc.features.length ? "" : ZZ.t("resources.none");
    return fc.features.map((f) => ({
      name: f.properties.name,
      value: f.geometry.coordinates,
      itemStyle: f.properties.colour ? { color: f.properties.colour } : undefined,
    }));
  }

  // --- the nearest resources of a hotspot's event (when the platform serves them) ----------------------
  const nearestBox = document.getElementById("nearest");
  async function showNearest(c) {
    try {
      const n = await ZZ.api("GET", `/api/v1/fire/events/${c.event_id}/nearest`);
      nearestBox.hidden = false;
      nearestBox.dataset.eventId = c.event_id;
      document.getElementById("nearest-heading").textContent = ZZ.t("nearest.heading", { id: c.id });
      document.getElementById("nearest-body").replaceChildren(...n.kinds.flatMap((k) =>
        k.resources.map((r, i) => ZZ.el("tr", { dataset: { kind: k.kind } },
          i === 0 ? ZZ.el("th", { scope: "rowgroup", rowspan: k.resources.length }, k.name) : null,
          ZZ.el("td", {}, r.name),
          ZZ.el("td", {}, towns[r.town_code] || r.town_code || ZZ.t("none")),
          ZZ.el("td", { class: "num" }, r.distance_km.toFixed(1))))));
      document.getElementById("nearest-note").textContent = ZZ.t("nearest.note");
    } catch (e) {
      fail(e);
    }
  }

  // --- CAP bulletin ------------------------------------------------------------------------------------
  const bulletin = document.getElementById("bulletin");
  if (ZZ.page.bulletin) {
    bulletin.replaceChildren(ZZ.el("a", { class: "button", href: `/api/v1/fire/bulletin?date=${dangerDay}`, download: "" },
      ZZ.t("bulletin.download")));
  } else {
    bulletin.replaceChildren(ZZ.t("bulletin.cli"), ZZ.el("pre", { class: "cli" },
      `zhizhi fire bulletin --date ${dangerDay} --format cap -o fire-bulletin-${dangerDay}.xml`));
  }

  async function refresh() {
    const [geo, clusters, resources] = await Promise.all([
      loadDanger(),
      loadClusters(),
      loadResources().catch((e) => {
        fail(e);
        return [];
      }),
    ]);
    await drawMap(geo, clusters, resources);
    document.body.dataset.loaded = String(Date.now());
  }

  // --- drills ----------------------------------------------------------------------------------------
  const drillStatus = document.getElementById("drill-status");
  let polling = null;
  function showDrill(d) {
    const table = document.getElementById("drill-table");
    table.hidden = false;
    table.dataset.eventId = d.event_id;
    table.dataset.finished = String(d.finished);
    document.getElementById("drill-body").replaceChildren(...d.nodes.map((n) =>
      ZZ.el("tr", { dataset: { key: n.key, status: n.status } },
        ZZ.el("th", { scope: "row" }, n.name),
        ZZ.el("td", {}, n.at ? n.at.slice(11, 19) : ZZ.t("none")),
        ZZ.el("td", { class: "num" }, n.elapsed || ZZ.t("none")),
        ZZ.el("td", { class: "num" }, n.target || ZZ.t("none")),
        ZZ.el("td", { class: n.met === true ? "met" : n.met === false ? "missed" : "" }, ZZ.t("drill.state." + n.status)))));
    const link = ZZ.el("a", { href: `/console/events/${d.event_id}` }, ZZ.t("drill.open_event"));
    drillStatus.replaceChildren(ZZ.t(d.finished ? "drill.finished" : "drill.started", { id: d.event_id }), " ", link);
    drillStatus.className = "status ok";
  }
  function poll(id) {
    clearTimeout(polling);
    polling = setTimeout(async () => {
      try {
        const d = await ZZ.api("GET", `/api/v1/fire/drills/${id}`);
        showDrill(d);
        if (!d.finished) poll(id);
      } catch (e) {
        ZZ.status(drillStatus, ZZ.t("error.generic", { detail: e.message }), "error");
      }
    }, POLL_MS);
  }
  if (ZZ.can("fire.drill")) {
    const section = document.getElementById("drill-section");
    section.hidden = false;
    const scope = ZZ.me.scope || {};
    const select = document.getElementById("d-town");
    const codes = Object.keys(towns).filter((c) => scope.kind !== "town" || c === scope.code);
    select.append(...codes.map((c) => ZZ.el("option", { value: c }, towns[c])));
    if (ZZ.me.town_code && codes.includes(ZZ.me.town_code)) select.value = ZZ.me.town_code;
    document.getElementById("drill-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = document.getElementById("d-start");
      button.disabled = true;
      ZZ.status(drillStatus, ZZ.t("drill.starting"));
      try {
        const d = await ZZ.api("POST", "/api/v1/fire/drills", {
          town_code: select.value, simulate: document.getElementById("d-simulate").checked,
        });
        showDrill(d);
        if (!d.finished) poll(d.event_id);
      } catch (err) {
        ZZ.status(drillStatus, ZZ.t("error.generic", { detail: err.message }), "error");
      } finally {
        button.disabled = false;
      }
    });
  }

  try {
    await refresh();
  } catch (e) {
    fail(e);
  }
});
