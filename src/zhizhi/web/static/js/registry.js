/* registry.js — the 一表通 pages: the register browser (GET /api/v1/registry/residents: masked,
   within the user's scope, filters 统计日期 / village / grid / tag), the form catalogue with render
   and download (GET /api/v1/forms, /api/v1/forms/{id}/render: an audited export), and how to import
   a register file (no HTTP import route yet: the command line). */
"use strict";

const PAGE = 50;

document.addEventListener("DOMContentLoaded", async () => {
  const status = document.getElementById("reg-status");
  const fail = (e) => ZZ.status(status, ZZ.t("error.generic", { detail: e.message }), "error");
  const me = ZZ.me || { permissions: [] };
  const scope = me.scope || {};

  // --- tabs (ZZ.tabs: the WAI-ARIA tabs pattern) ---
  const { tabs, select } = ZZ.tabs({ "tab-forms": loadForms });

  // --- import: the command line ---
  const org = scope.kind === "town" || scope.kind === "grid" ? ` --org ${scope.code}` : "";
  const who = ` --as ${ZZ.t("import.username")}`;
  document.getElementById("cli-dry").textContent =
    `zhizhi registry import ${ZZ.t("import.file")} --kind resident --source ${ZZ.t("import.source")}${org} --dry-run`;
  document.getElementById("cli-commit").textContent =
    `zhizhi registry import ${ZZ.t("import.file")} --kind resident --source ${ZZ.t("import.source")}${org}${who}`;

  // the register needs registry.read, the form catalogue form.read (a leader has only the latter)
  const canRead = ZZ.can("registry.read");
  const canForms = ZZ.can("form.read");
  if (!canForms) tabs[1].hidden = true;
  if (!canRead) {
    document.getElementById("res-filters").hidden = true;
    tabs[0].hidden = true;
    if (!canForms) {
      ZZ.status(status, ZZ.t("error.forbidden"), "error");
      return;
    }
  }

  // --- register browser ---
  const form = document.getElementById("res-filters");
  const body = document.getElementById("res-body");
  const villageSelect = document.getElementById("r-village");
  const tagSelect = document.getElementById("r-tag");
  const tagLabel = Object.fromEntries(ZZ.page.tags.map((t) => [t.code, t.label]));
  tagSelect.append(...ZZ.page.tags.map((t) => ZZ.el("option", { value: t.code }, t.label)));
  form.elements.as_of.max = ZZ.today();
  let villages = {};
  let offset = 0;
  try {
    let url = null;
    if (scope.kind === "town") url = `/api/v1/org/units?level=village&parent=${scope.code}`;
    else if (scope.kind === "district" || scope.kind === "unit") {
      url = `/api/v1/org/units?level=village&district=${me.district_code}&limit=2000`;
    }
    if (url) {
      const items = (await ZZ.api("GET", url)).items;
      villages = Object.fromEntries(items.map((u) => [u.code, u.name]));
      villageSelect.append(...items.map((u) => ZZ.el("option", { value: u.code }, u.name)));
    } else {
      document.getElementById("r-village-label").hidden = true;
    }
  } catch (e) {
    fail(e);
  }

  const sexLabel = (s) => ZZ.t("sex." + (s === "male" || s === "female" ? s : "unknown"));
  function row(r) {
    return ZZ.el("tr", { dataset: { id: r.id } },
      ZZ.el("td", { class: "masked" }, r.citizen_id),
      ZZ.el("td", {}, r.name || ZZ.t("none")),
      ZZ.el("td", {}, sexLabel(r.sex)),
      ZZ.el("td", { class: "num" }, r.age),
      ZZ.el("td", {}, r.phone || ZZ.t("none")),
      ZZ.el("td", {}, villages[r.village_code] || r.village_code || ZZ.t("none")),
      ZZ.el("td", {}, r.grid_code || ZZ.t("none")),
      ZZ.el("td", {}, r.tags.map((t) => ZZ.el("span", { class: "tag" }, tagLabel[t] || t)),
        r.generated ? ZZ.el("span", { class: "tag" }, ZZ.t("residents.generated")) : null));
  }

  async function loadResidents() {
    const q = new URLSearchParams({ limit: PAGE, offset });
    for (const name of ["as_of", "village", "grid", "tag"]) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    ZZ.status(status, ZZ.t("loading"));
    try {
      const page = await ZZ.api("GET", "/api/v1/registry/residents?" + q);
      body.replaceChildren(...page.items.map(row));
      if (!page.items.length) body.replaceChildren(ZZ.el("tr", {}, ZZ.el("td", { colspan: 8, class: "muted" }, ZZ.t("empty"))));
      document.getElementById("res-caption").textContent = ZZ.t("residents.caption", {
        as_of: page.as_of, total: page.total, from: page.total ? offset + 1 : 0, to: offset + page.items.length,
      });
      document.getElementById("res-prev").disabled = offset === 0;
      document.getElementById("res-next").disabled = offset + page.items.length >= page.total;
      ZZ.status(status, "");
      document.body.dataset.loaded = String(Date.now());
    } catch (e) {
      fail(e);
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!form.reportValidity()) return;
    offset = 0;
    loadResidents();
  });
  document.getElementById("res-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    loadResidents();
  });
  document.getElementById("res-next").addEventListener("click", () => {
    offset += PAGE;
    loadResidents();
  });

  // --- forms: catalogue, render and download ---
  let forms = null;
  const formSelect = document.getElementById("fm-form");
  const orgSelect = document.getElementById("fm-org");
  const periodInput = document.getElementById("fm-period");
  const download = document.getElementById("fm-download");
  function currentPeriod(kind) {
    const d = ZZ.today();
    if (kind === "year") return d.slice(0, 4);
    if (kind === "quarter") return `${d.slice(0, 4)}-Q${Math.floor((Number(d.slice(5, 7)) - 1) / 3) + 1}`;
    return d.slice(0, 7);
  }
  async function orgOptions() {
    const towns = await ZZ.towns();
    const out = [];
    if (scope.kind === "district") out.push({ code: `${me.district_code}000000`, name: ZZ.t("forms.district"), level: "district" });
    for (const [code, name] of Object.entries(towns)) {
      if (scope.kind === "district" || (scope.kind === "town" && code === scope.code) || code === me.town_code) {
        out.push({ code, name, level: "town" });
      }
    }
    if (scope.kind === "town") for (const [code, name] of Object.entries(villages)) out.push({ code, name, level: "village" });
    if (scope.kind === "grid") out.push({ code: scope.code, name: scope.code, level: "grid" });
    return out;
  }
  let orgs = [];
  function syncRender() {
    const f = forms.find((x) => x.id === formSelect.value);
    if (!f) return;
    const fit = orgs.filter((o) => f.org_levels.includes(o.level));
    const before = orgSelect.value;
    orgSelect.replaceChildren(...fit.map((o) => ZZ.el("option", { value: o.code }, `${o.name}(${o.code})`)));
    if (fit.some((o) => o.code === before)) orgSelect.value = before;
    if (!periodInput.dataset.kind || periodInput.dataset.kind !== f.period) {
      periodInput.value = currentPeriod(f.period);
      periodInput.dataset.kind = f.period;
    }
    const q = new URLSearchParams({ org: orgSelect.value, period: periodInput.value.trim() });
    download.href = `/api/v1/forms/${encodeURIComponent(f.id)}/render?${q}`;
    download.toggleAttribute("aria-disabled", !orgSelect.value);
  }
  async function loadForms() {
    if (forms) return;
    try {
      [forms, orgs] = await Promise.all([ZZ.api("GET", "/api/v1/forms"), orgOptions()]);
      document.getElementById("form-body").replaceChildren(...forms.map((f) =>
        ZZ.el("tr", { dataset: { id: f.id } },
          ZZ.el("th", { scope: "row" }, f.title, f.form_number ? ` (${f.form_number})` : ""),
          ZZ.el("td", {}, f.department_name),
          ZZ.el("td", {}, ZZ.t("periods." + f.period)),
          ZZ.el("td", {}, ZZ.t("row_levels." + f.rows)),
          ZZ.el("td", { class: "num" }, `${f.columns}(${f.computed}/${f.manual})`))));
      formSelect.replaceChildren(...forms.map((f) => ZZ.el("option", { value: f.id }, f.title)));
      syncRender();
      document.body.dataset.forms = String(forms.length);
    } catch (e) {
      fail(e);
    }
  }
  for (const c of [formSelect, orgSelect, periodInput]) c.addEventListener("change", syncRender);
  periodInput.addEventListener("input", syncRender);

  if (canRead) loadResidents();
  else select(tabs[1]);
});
