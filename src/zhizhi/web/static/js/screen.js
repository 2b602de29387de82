/* screen.js — the big screen (大屏): a 1920×1080 stage scaled to the window, the district map with a
   switchable choropleth (events per town today / this month, 按期结案率 per town, fire danger level),
   today's events as 五色 points (urgent ones flashing), the fire layer (hotspot clusters, resources),
   today's counts and rates, the 赛马比拼 ranking, a 30-day trend and the latest reports.
   Figures come from GET /api/v1/screen/summary; the live stream triggers a refresh within a second of
   a change (the month's rates included: they are recomputed with the counters). Town names sit on
   each town's area centroid and a label that would overlap another is hidden (shown on hover);
   today's events without coordinates are counted and listed beside the map. The rates say what
   they divide (结案 ÷ 应结案). With ?as_of=YYYY-MM-DD a past day is replayed (no live updates). */
"use strict";

const COLOURS = { green: "#43a047", blue: "#42a5f5", yellow: "#fdd835", orange: "#fb8c00", red: "#e53935" };
const REFRESH_MS = 60000;
const FRESH_MS = 15000;
const CLUSTER_DAYS = 7;

document.addEventListener("DOMContentLoaded", async () => {
  const stage = document.getElementById("stage");
  const fit = () => {
    const s = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
    const x = (window.innerWidth - 1920 * s) / 2;
    const y = (window.innerHeight - 1080 * s) / 2;
    stage.style.transform = `translate(${x}px, ${y}px) scale(${s})`;
  };
  fit();
  window.addEventListener("resize", fit);

  const asOf = ZZ.page.as_of || null;
  const summaryUrl = "/api/v1/screen/summary" + (asOf ? `?as_of=${asOf}` : "");
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const map = echarts.init(document.getElementById("map"), null, { renderer: "canvas" });
  const trend = echarts.init(document.getElementById("trend"), null, { renderer: "canvas" });
  const modeButtons = [...document.querySelectorAll("#map-modes button")];
  const canFire = ZZ.can("fire.read");
  if (!canFire) modeButtons.filter((b) => b.dataset.mode === "fire").forEach((b) => (b.hidden = true));
  let mode = "today";
  let last = null;
  let names = {};
  let fire = null; // {day, towns: {code: {level, colour, label, name}}, clusters: [...], resources: [...]}
  const fresh = new Map(); // event id → time it was announced by the live stream
  const liveState = document.getElementById("live-state");

  if (asOf) {
    document.getElementById("replay").hidden = false;
    document.getElementById("replay-day").textContent = asOf;
  }

  let labelPoints = [];
  const geo = ZZ.api("GET", "/api/v1/org/geojson?level=town").then((g) => {
    for (const f of g.features) f.properties.cp = centroid(f.geometry); // ECharts centres a region on cp
    echarts.registerMap("district", g);
    names = Object.fromEntries(g.features.map((f) => [f.properties.code, f.properties.name]));
    labelPoints = g.features.filter((f) => f.properties.cp)
      .map((f) => ({ name: f.properties.name, value: f.properties.cp }));
  });

  /** The area centroid [lon, lat] of a (Multi)Polygon's largest outer ring (shoelace formula); the
      default centre of ECharts, its bounding box's middle, puts the small urban towns' names on top
      of each other. */
  function centroid(geometry) {
    const polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon"
      ? geometry.coordinates : [];
    let best = null;
    for (const poly of polys) {
      const ring = poly[0];
      let a = 0;
      let cx = 0;
      let cy = 0;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const cross = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
        a += cross;
        cx += (ring[j][0] + ring[i][0]) * cross;
        cy += (ring[j][1] + ring[i][1]) * cross;
      }
      if (a !== 0 && (!best || Math.abs(a) > best.a)) best = { a: Math.abs(a), c: [cx / (3 * a), cy / (3 * a)] };
    }
    return best ? best.c : null;
  }

  function choropleth(s) {
    const counts = s.towns;
    if (mode === "fire") {
      const towns = (fire && fire.towns) || {};
      const levels = new Map();
      const data = Object.entries(names).map(([code, name]) => {
        const r = towns[code];
        if (r) levels.set(r.level, r);
        return { name, value: r ? r.level : null, label: r ? `${r.label} ${r.name}` : ZZ.t("map.no_rating") };
      });
      const pieces = [...levels.values()].sort((a, b) => a.level - b.level)
        .map((r) => ({ value: r.level, color: r.colour, label: `${r.label} ${r.name}` }));
      return {
        data,
        visualMap: { type: "piecewise", pieces, seriesIndex: 0, left: 24, bottom: 24, textStyle: { color: "#e8f1ff" },
          show: pieces.length > 0, outOfRange: { color: "#16324f" } },
        label: (p) => (p.data && p.data.label) || "",
      };
    }
    if (mode === "rate") {
      const data = Object.entries(names).map(([code, name]) => {
        const r = (counts[code] || {}).ontime_close_rate;
        return { name, value: r === null || r === undefined ? null : Math.round(r * 1000) / 10 };
      });
      return {
        data,
        visualMap: { min: 0, max: 100, left: 24, bottom: 24, seriesIndex: 0, calculable: false,
          text: ["100%", "0%"], textStyle: { color: "#e8f1ff" },
          inRange: { color: ["#e53935", "#fb8c00", "#fdd835", "#43a047"] }, outOfRange: { color: "#16324f" } },
        label: (p) => (p.value === null || p.value === undefined || Number.isNaN(p.value) ? ZZ.t("none") : `${p.value}%`),
      };
    }
    const data = Object.entries(names).map(([code, name]) => ({ name, value: (counts[code] || {})[mode] || 0 }));
    const max = Math.max(1, ...data.map((d) => d.value));
    return {
      data,
      visualMap: { min: 0, max, left: 24, bottom: 24, seriesIndex: 0, text: [String(max), "0"],
        textStyle: { color: "#e8f1ff" }, inRange: { color: ["#16324f", "#1565c0", "#29b6f6", "#ffd54f", "#ff8a65"] },
        calculable: false },
      label: (p) => String(p.value || 0),
    };
  }

  function drawMap(s) {
    const c = choropleth(s);
    const dot = (p) => ({ value: [p.lon, p.lat, p.id], itemStyle: { color: COLOURS[p.colour] || COLOURS.green } });
    const fireOn = mode === "fire" && fire;
    map.setOption({
      tooltip: {
        trigger: "item",
        formatter: (p) => {
          if (p.seriesType === "map") return `${esc(p.name)}:${esc(c.label(p))}`;
          if (p.seriesName === ZZ.t("map.clusters")) return esc(ZZ.t("map.cluster_tip", p.data.tip));
          if (p.seriesName === ZZ.t("map.resources")) return esc(p.data.tip);
          return `#${esc(p.value[2])}`;
        },
      },
      visualMap: c.visualMap,
      geo: {
        map: "district",
        roam: false,
        layoutCenter: ["50%", "52%"],
        layoutSize: "95%",
        label: { show: false }, // the names are the "names" series below: overlapping ones are hidden
        itemStyle: { borderColor: "#8ec5ff", borderWidth: 1, areaColor: "#16324f" },
        emphasis: { label: { show: true, color: "#ffffff", fontSize: 15, textBorderColor: "#0b1a2e", textBorderWidth: 2 },
          itemStyle: { areaColor: "#2d5f8f" } },
      },
      series: [
        { type: "map", geoIndex: 0, name: ZZ.t("map.legend"), data: c.data },
        {
          type: "scatter",
          coordinateSystem: "geo",
          name: "names",
          silent: true,
          symbolSize: 1,
          itemStyle: { color: "rgba(0, 0, 0, 0)" }, // no dot; the label keeps its own opacity
          label: { show: true, position: "inside", formatter: "{b}", color: "#f5f9ff", fontSize: 13,
            textBorderColor: "#0b1a2e", textBorderWidth: 2 },
          labelLayout: { hideOverlap: true },
          tooltip: { show: false },
          data: labelPoints,
          zlevel: 0,
        },
        {
          type: "scatter",
          coordinateSystem: "geo",
          name: ZZ.t("map.points"),
          symbolSize: 11,
          itemStyle: { borderColor: "#ffffff", borderWidth: 1.5 },
          data: mode === "fire" ? [] : s.points.filter((p) => p.urgency !== "urgent").map(dot),
          zlevel: 1,
        },
        {
          type: "effectScatter",
          coordinateSystem: "geo",
          name: ZZ.t("map.urgent"),
          symbolSize: 14,
          rippleEffect: { brushType: "stroke", scale: 3.5 },
          data: mode === "fire" ? [] : s.points.filter((p) => p.urgency === "urgent").map(dot),
          zlevel: 2,
        },
        {
          type: "effectScatter",
          coordinateSystem: "geo",
          name: ZZ.t("map.clusters"),
          symbol: "triangle",
          symbolSize: 16,
          itemStyle: { color: "#ff7043", borderColor: "#ffffff", borderWidth: 1 },
          rippleEffect: { brushType: "stroke", scale: 2.5 },
          data: fireOn ? fire.clusters : [],
          zlevel: 3,
        },
        {
          type: "scatter",
          coordinateSystem: "geo",
          name: ZZ.t("map.resources"),
          symbol: "diamond",
          symbolSize: 14,
          itemStyle: { color: "#4dd0e1", borderColor: "#ffffff", borderWidth: 1.5 },
          data: fireOn ? fire.resources : [],
          zlevel: 3,
        },
      ],
    }, { replaceMerge: ["series", "visualMap"] });
    const note = document.getElementById("fire-note");
    note.hidden = mode !== "fire";
    if (mode === "fire") {
      note.textContent = fire
        ? ZZ.t("map.fire_note", { day: fire.day, towns: Object.keys(fire.towns).length, clusters: fire.clusters.length })
        : ZZ.t("loading");
    }
  }

  /** Points of the fire resources (GET /api/v1/fire/resources/geojson: teams, water sources,
      lookouts …), each in its kind's colour. */
  function resourcePoints(fc) {
    return ((fc && fc.features) || []).filter((f) => f.geometry && f.geometry.type === "Point").map((f) => ({
      value: f.geometry.coordinates,
      tip: [f.properties.name, f.properties.kind_name].filter(Boolean).join(" · "),
      itemStyle: f.properties.colour ? { color: f.properties.colour } : undefined,
    }));
  }

  async function loadFire(day) {
    const since = ZZ.addDays(day, 1 - CLUSTER_DAYS);
    const until = ZZ.addDays(day, 1);
    const [danger, clusters, resources] = await Promise.all([
      ZZ.api("GET", `/api/v1/fire/danger/geojson?date=${day}`),
      ZZ.api("GET", `/api/v1/fire/clusters?since=${since}T00:00:00&until=${until}T00:00:00&drill=false`),
      ZZ.page.resources ? ZZ.api("GET", "/api/v1/fire/resources/geojson") : Promise.resolve(null),
    ]);
    const towns = {};
    for (const f of danger.features) towns[f.properties.unit_code] = f.properties;
    return {
      day,
      towns,
      clusters: clusters.map((c) => ({
        value: [c.lon, c.lat, c.id],
        tip: { id: c.id, n: c.n_detections, outcome: c.outcome || ZZ.t("map.unverified") },
      })),
      resources: resourcePoints(resources),
    };
  }

  function drawTrend(s) {
    trend.setOption({
      animationDuration: 300,
      grid: { left: 48, right: 16, top: 36, bottom: 32 },
      legend: { data: [ZZ.t("trend.reported"), ZZ.t("trend.closed")], textStyle: { color: "#e8f1ff" }, top: 4 },
      tooltip: { trigger: "axis" },
      xAxis: {
        type: "category",
        data: s.trend.days.map((d) => d.slice(5)),
        axisLabel: { color: "#c5d6ea" },
        axisLine: { lineStyle: { color: "#5b7897" } },
      },
      yAxis: {
        type: "value",
        minInterval: 1,
        axisLabel: { color: "#c5d6ea" },
        splitLine: { lineStyle: { color: "#24405f" } },
      },
      series: [
        { name: ZZ.t("trend.reported"), type: "line", smooth: 0.3, smoothMonotone: "x", data: s.trend.reported, itemStyle: { color: "#4fc3f7" } },
        { name: ZZ.t("trend.closed"), type: "line", smooth: 0.3, smoothMonotone: "x", data: s.trend.closed, itemStyle: { color: "#81c784" } },
      ],
    });
  }

  function drawKpis(s) {
    const set = (k, v) => (document.getElementById("kpi-" + k).textContent = v);
    set("reported", s.today.reported);
    set("closed", s.today.closed);
    set("open", s.today.open);
    set("overdue", s.today.overdue);
    set("close_rate", ZZ.pct(s.month.close_rate));
    set("ontime_close_rate", ZZ.pct(s.month.ontime_close_rate));
    const n = s.month.counts || {};
    set("close_rate-note", ZZ.t("kpi.close_rate_note", { closed: n.closed, should: n.should_close }));
    set("ontime_close_rate-note", ZZ.t("kpi.ontime_close_rate_note",
      { ontime: n.closed_on_time, should: n.should_close, deferred: n.deferred }));
    document.getElementById("as-of").textContent = s.as_of.replace("T", " ").slice(0, 19);
    document.getElementById("s-title").textContent = ZZ.t("heading", { district: s.district.name });
    for (const k of ["reported", "closed"]) {
      document.querySelector(`.kpi-${k} dt`).textContent = ZZ.t((s.replay ? "kpi.day_" : "kpi.") + k);
    }
  }

  function drawRanking(s) {
    const list = document.getElementById("ranking");
    const rows = s.ranking.slice(0, 12);
    const top = Math.max(1, ...rows.map((r) => r.score || 0));
    list.replaceChildren(
      ...rows.map((r) => {
        const bar = ZZ.el("span", { class: "bar", "aria-hidden": "true" });
        bar.style.width = `${Math.round(((r.score || 0) / top) * 100)}%`;
        return ZZ.el("li", { dataset: { code: r.code } },
          ZZ.el("span", { class: "rank" }, r.rank === null ? "—" : r.rank),
          ZZ.el("span", { class: "name" }, r.name),
          ZZ.el("span", { class: "track" }, bar),
          ZZ.el("span", { class: "score", title: r.score === null ? ZZ.t("ranking.unranked") : "" },
            r.score === null ? "—" : r.score.toFixed(1)));
      }),
    );
    if (!rows.length) list.replaceChildren(ZZ.el("li", { class: "muted" }, ZZ.t("empty")));
  }

  /** "HH:mm" for the day shown, "MM-DD HH:mm" for another day of its year, "YYYY-MM-DD HH:mm" else
      (``local``: "YYYY-MM-DDTHH:mm" in 北京时间, as the summary sends it). */
  function stamp(local, day) {
    const date = local.slice(0, 10);
    const hm = local.slice(11, 16);
    if (date === day) return hm;
    return (date.slice(0, 4) === day.slice(0, 4) ? date.slice(5) : date) + " " + hm;
  }

  function item(r, day, now) {
    const dot = ZZ.el("span", { class: "dot", "aria-hidden": "true" });
    dot.style.background = COLOURS[r.colour] || COLOURS.green;
    const isFresh = fresh.has(r.id) && now - fresh.get(r.id) < FRESH_MS;
    return ZZ.el("li", { dataset: { id: r.id, node: r.node }, class: isFresh ? "fresh" : "" },
      dot,
      ZZ.el("time", { datetime: r.reported_at }, stamp(r.reported_at, day)),
      ZZ.el("span", {}, ZZ.t("recent.item", {
        id: r.id,
        category: r.category_name,
        town: names[r.town_code] || r.town_code || ZZ.t("none"),
        node: ZZ.t("node." + r.node),
      })));
  }

  function drawRecent(s) {
    const now = Date.now();
    const list = document.getElementById("recent");
    list.replaceChildren(...s.recent.map((r) => item(r, s.day, now)));
    if (!s.recent.length) list.replaceChildren(ZZ.el("li", { class: "muted" }, ZZ.t("empty")));
  }

  function drawUnlocated(s) {
    const u = s.unlocated || { count: 0, items: [] };
    document.getElementById("unlocated-count").textContent = u.count
      ? ZZ.t("unlocated.count", { n: u.count }) : ZZ.t("unlocated.none");
    const now = Date.now();
    document.getElementById("unlocated-list").replaceChildren(...u.items.slice(0, 6).map((r) => item(r, s.day, now)));
    document.getElementById("unlocated").dataset.count = String(u.count);
  }

  let painted = false;
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  async function draw() {
    if (!last) return;
    drawKpis(last); // the counts first: on screen in the next frame, before the charts are redrawn
    drawRecent(last);
    drawUnlocated(last);
    drawRanking(last);
    if (painted) await frame();
    drawMap(last);
    drawTrend(last);
    if (!painted) {
      painted = true;
      // first meaningful paint: counts and map drawn; the next frame is on screen
      requestAnimationFrame(() => {
        document.body.dataset.painted = String(Math.round(performance.now()));
      });
    }
  }

  function showError(e) {
    ZZ.status(liveState, ZZ.t("error.generic", { detail: e.message }), "error");
  }

  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const [s] = await Promise.all([ZZ.api("GET", summaryUrl), geo]);
      last = s;
      await draw();
      document.body.dataset.refreshed = String(Date.now());
    } catch (e) {
      showError(e);
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  async function setMode(m) {
    mode = m;
    for (const b of modeButtons) b.setAttribute("aria-pressed", String(b.dataset.mode === m));
    if (last) drawMap(last);
    if (m === "fire" && last && (!fire || fire.day !== last.day)) {
      try {
        fire = await loadFire(last.day);
        document.body.dataset.fire = fire.day;
      } catch (e) {
        showError(e);
      }
      if (mode === "fire") drawMap(last);
    }
  }
  for (const b of modeButtons) b.addEventListener("click", () => setMode(b.dataset.mode));

  // A change shows at once in the latest reports (and a new report on the map) from the live message
  // itself; the aggregates follow with the debounced refresh.
  let leaves = null;
  const localNow = () => new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 16);
  function applyChange(msg) {
    if (!last) return;
    const known = last.recent.find((r) => r.id === msg.id);
    if (known) {
      Object.assign(known, { node: msg.node, colour: msg.colour });
    } else if (msg.action === "report") {
      const leaf = leaves && leaves[msg.category_code];
      last.recent = [{
        id: msg.id, category_code: msg.category_code, category_name: leaf ? leaf.name : msg.category_code,
        town_code: msg.town_code, node: msg.node, colour: msg.colour, urgency: msg.urgency, reported_at: localNow(),
      }, ...last.recent].slice(0, 12);
      if (msg.lon !== null && msg.lon !== undefined) {
        last.points = [{ id: msg.id, lon: msg.lon, lat: msg.lat, node: msg.node, colour: msg.colour, urgency: msg.urgency },
          ...last.points];
        drawMap(last);
      } else if (last.unlocated) {
        last.unlocated = { count: last.unlocated.count + 1, items: [last.recent[0], ...last.unlocated.items] };
        drawUnlocated(last);
      }
    } else {
      return;
    }
    drawRecent(last);
  }
  if (!asOf) {
    const soon = ZZ.debounce(refresh, 150);
    ZZ.live((msg) => {
      if (msg.type === "change") {
        fresh.set(msg.id, Date.now());
        applyChange(msg);
      }
      soon();
    });
  }
  geo.catch(showError);
  await refresh();
  if (!asOf) {
    setInterval(refresh, REFRESH_MS);
    ZZ.categories().then((c) => (leaves = c.leaves), () => {}); // names for live reports
  }
});
