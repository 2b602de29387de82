/* kpis.js — the console's KPI page (核心绩效 per town / department / board / village / grid, and the
   赛马比拼 ranking) from GET /api/v1/kpis and /rankings (the API limits both to the user's scope);
   the export link downloads the same figures as xlsx (GET /api/v1/kpis/export.xlsx, audited). */
"use strict";

const SHOWN_COUNTS = ["reported", "registered", "dispatched", "handled", "closed", "closed_on_time", "overdue"];
const SHOWN_RATES = ["ontime_register_rate", "handle_rate", "ontime_handle_rate", "close_rate",
  "ontime_close_rate", "rework_rate", "satisfaction_rate", "avg_handle_hours"];

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("kpi-filters");
  const status = document.getElementById("k-status");
  const exportLink = document.getElementById("k-export");
  if (!ZZ.can("ops.kpis")) {
    ZZ.status(status, ZZ.t("error.forbidden"), "error");
    form.hidden = true;
    return;
  }
  const params = new URLSearchParams(location.search);
  const month = ZZ.today().slice(0, 7);
  form.elements.period.value = params.get("period") || month;
  if (params.get("by")) form.elements.by.value = params.get("by");

  document.getElementById("k-head").replaceChildren(
    ZZ.el("th", { scope: "col" }, ZZ.t("table.code")),
    ZZ.el("th", { scope: "col" }, ZZ.t("table.name")),
    ...SHOWN_COUNTS.map((k) => ZZ.el("th", { scope: "col" }, ZZ.t("count." + k))),
    ...SHOWN_RATES.map((k) => ZZ.el("th", { scope: "col" }, ZZ.t("rate." + k))));

  const rate = (k, v) => (k === "avg_handle_hours" ? (v === null || v === undefined ? ZZ.t("none") : v.toFixed(1)) : ZZ.pct(v));
  function row(code, name, counts, rates, cls) {
    return ZZ.el("tr", { class: cls || "", dataset: { code: code || "" } },
      ZZ.el("td", {}, code || ""),
      ZZ.el("th", { scope: "row" }, name),
      ...SHOWN_COUNTS.map((k) => ZZ.el("td", { class: "num" }, counts[k] ?? 0)),
      ...SHOWN_RATES.map((k) => ZZ.el("td", { class: "num" }, rate(k, rates[k]))));
  }

  async function load() {
    const period = form.elements.period.value.trim();
    const by = form.elements.by.value;
    const q = new URLSearchParams({ by });
    if (period) q.set("period", period);
    history.replaceState(null, "", "/console/kpis?" + q);
    exportLink.href = "/api/v1/kpis/export.xlsx?" + q;
    ZZ.status(status, ZZ.t("loading"));
    try {
      const kinds = { town: "town", department: "department" };
      const [kp, ranked] = await Promise.all([
        ZZ.api("GET", "/api/v1/kpis?" + q),
        kinds[by] ? ZZ.api("GET", `/api/v1/rankings?kind=${kinds[by]}` + (period ? `&period=${encodeURIComponent(period)}` : "")) : null,
      ]);
      document.getElementById("k-body").replaceChildren(
        ...kp.rows.map((r) => row(r.code, r.name, r.counts, r.rates)),
        row("", ZZ.t("table.total"), kp.total.counts, kp.total.rates, "total"));
      document.getElementById("k-caption").textContent = ZZ.t("table.caption", {
        period: kp.period === "all" ? ZZ.t("sheet.all") : kp.period, by: ZZ.t("by." + by), n: kp.rows.length,
      });
      document.getElementById("k-ranking-section").hidden = !ranked;
      if (ranked) {
        document.getElementById("k-ranking").replaceChildren(...ranked.rows.map((r) =>
          ZZ.el("tr", { dataset: { code: r.code } },
            ZZ.el("td", {}, r.rank === null ? ZZ.t("ranking.unranked") : r.rank),
            ZZ.el("th", { scope: "row" }, r.name),
            ZZ.el("td", { class: "num" }, r.score === null ? ZZ.t("none") : r.score.toFixed(1)),
            ZZ.el("td", { class: "num" }, r.reported))));
      }
      ZZ.status(status, "");
      document.body.dataset.loaded = String(Date.now());
    } catch (e) {
      ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!form.reportValidity()) return;
    load();
  });
  load();
});
