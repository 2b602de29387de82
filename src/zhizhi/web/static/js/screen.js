/* screen.js — the big screen (大屏): a 1920×1080 stage scaled to the window, the district map
   (choropleth of events per town, today's events as 五色 points, urgent ones flashing), today's
   counts and rates, the 赛马比拼 ranking, a 30-day trend and the latest reports. Figures come from
   GET /api/v1/screen/summary; the live stream triggers a refresh within a second of a change. */
"use strict";

const COLOURS = { green: "#43a047", blue: "#42a5f5", yellow: "#fdd835", orange: "#fb8c00", red: "#e53935" };
const REFRESH_MS = 60000;
const FRESH_MS = 15000;

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

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const map = echarts.init(document.getElementById("map"), null, { renderer: "canvas" });
  const trend = echarts.init(document.getElementById("trend"), null, { renderer: "canvas" });
  let mode = "today";
  let last = null;
  let names = {};
  const fresh = new Map(); // event id → time it was announced by the live stream

  try {
    const geo = await ZZ.api("GET", "/api/v1/org/geojson?level=town");
    echarts.registerMap("district", geo);
    names = Object.fromEntries(geo.features.map((f) => [f.properties.code, f.properties.name]));
  } catch (e) {
    ZZ.status(document.getElementById("live-state"), ZZ.t("error.generic", { detail: e.message }), "error");
  }

  function drawMap(s) {
    const counts = s.towns;
    const data = Object.entries(names).map(([code, name]) => ({
      name,
      value: (counts[code] || {})[mode] || 0,
    }));
    const max = Math.max(1, ...data.map((d) => d.value));
    const dot = (p) => ({ value: [p.lon, p.lat, p.id], itemStyle: { color: COLOURS[p.colour] || COLOURS.green } });
    map.setOption({
      tooltip: {
        trigger: "item",
        formatter: (p) => (p.seriesType === "map" ? `${esc(p.name)}:${esc(p.value || 0)}` : `#${esc(p.value[2])}`),
      },
      visualMap: {
        min: 0,
        max,
        left: 24,
        bottom: 24,
        seriesIndex: 0,
        text: [String(max), "0"],
        textStyle: { color: "#e8f1ff" },
        inRange: { color: ["#16324f", "#1e6fb8", "#f2c94c", "#f2994a"] },
        calculable: false,
      },
      geo: {
        map: "district",
        roam: false,
        layoutCenter: ["50%", "52%"],
        layoutSize: "95%",
        label: { show: true, color: "#f5f9ff", fontSize: 13, textBorderColor: "#0b1a2e", textBorderWidth: 2 },
        itemStyle: { borderColor: "#8ec5ff", borderWidth: 1, areaColor: "#16324f" },
        emphasis: { label: { color: "#ffffff" }, itemStyle: { areaColor: "#2d5f8f" } },
      },
      series: [
        { type: "map", geoIndex: 0, name: ZZ.t("map.legend"), data },
        {
          type: "scatter",
          coordinateSystem: "geo",
          name: ZZ.t("map.points"),
          symbolSize: 11,
          itemStyle: { borderColor: "#ffffff", borderWidth: 1.5 },
          data: s.points.filter((p) => p.urgency !== "urgent").map(dot),
          zlevel: 1,
        },
        {
          type: "effectScatter",
          coordinateSystem: "geo",
          name: ZZ.t("map.urgent"),
          symbolSize: 14,
          rippleEffect: { brushType: "stroke", scale: 3.5 },
          data: s.points.filter((p) => p.urgency === "urgent").map(dot),
          zlevel: 2,
        },
      ],
    }, { replaceMerge: ["series"] });
  }

  function drawTrend(s) {
    trend.setOption({
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
        { name: ZZ.t("trend.reported"), type: "line", smooth: true, data: s.trend.reported, itemStyle: { color: "#4fc3f7" } },
        { name: ZZ.t("trend.closed"), type: "line", smooth: true, data: s.trend.closed, itemStyle: { color: "#81c784" } },
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
    document.getElementById("as-of").textContent = s.as_of.replace("T", " ").slice(0, 19);
    document.getElementById("s-title").textContent = ZZ.t("heading", { district: s.district.name });
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

  function drawRecent(s) {
    const now = Date.now();
    const list = document.getElementById("recent");
    list.replaceChildren(
      ...s.recent.map((r) => {
        const dot = ZZ.el("span", { class: "dot", "aria-hidden": "true" });
        dot.style.background = COLOURS[r.colour] || COLOURS.green;
        const isFresh = fresh.has(r.id) && now - fresh.get(r.id) < FRESH_MS;
        return ZZ.el("li", { dataset: { id: r.id, node: r.node }, class: isFresh ? "fresh" : "" },
          dot,
          ZZ.el("time", {}, r.reported_at.slice(11, 16)),
          ZZ.el("span", {}, ZZ.t("recent.item", {
            id: r.id,
            category: r.category_name,
            town: names[r.town_code] || r.town_code || ZZ.t("none"),
            node: ZZ.t("node." + r.node),
          })));
      }),
    );
    if (!s.recent.length) list.replaceChildren(ZZ.el("li", { class: "muted" }, ZZ.t("empty")));
  }

  function draw() {
    if (!last) return;
    drawKpis(last);
    drawMap(last);
    drawTrend(last);
    drawRanking(last);
    drawRecent(last);
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
      last = await ZZ.api("GET", "/api/v1/screen/summary");
      draw();
      document.body.dataset.refreshed = String(Date.now());
    } catch (e) {
      ZZ.status(document.getElementById("live-state"), ZZ.t("error.generic", { detail: e.message }), "error");
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  for (const [id, m] of [["map-today", "today"], ["map-month", "month"]]) {
    document.getElementById(id).addEventListener("click", () => {
      mode = m;
      document.getElementById("map-today").setAttribute("aria-pressed", String(m === "today"));
      document.getElementById("map-month").setAttribute("aria-pressed", String(m === "month"));
      if (last) drawMap(last);
    });
  }

  const soon = ZZ.debounce(refresh, 250);
  ZZ.live((msg) => {
    if (msg.type === "change") fresh.set(msg.id, Date.now());
    soon();
  });
  await refresh();
  setInterval(refresh, REFRESH_MS);
});
