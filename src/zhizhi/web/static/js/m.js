/* m.js — the grid worker's phone page (375 px): report an event (category, description, photo, a point
   from the browser's GPS, a pin on a small map or typed, else the worker's own grid), my tasks, my
   grid's events. Small on purpose: no map library — the map (m_map.js, loaded first) is inline SVG of
   the worker's grid and its village's other grids (GET /api/v1/org/units), bounded by the district
   (GET /api/v1/org/geojson).
   Everything is checked here before anything is sent: a refused photo never leaves a report behind. */
"use strict";

const OPEN_TASK_NODES = new Set(["dispatched", "signed", "parked"]);
const NEAR_LIMIT = 0.8; // the character counter shows from 80 % of a field's limit
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const KINDS = [ // photo types by their first bytes (the server checks the same)
  ["image/jpeg", (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ["image/png", (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x)],
  ["image/webp", (b) => String.fromCharCode(...b.slice(0, 4)) === "RIFF" && String.fromCharCode(...b.slice(8, 12)) === "WEBP"],
];

document.addEventListener("DOMContentLoaded", async () => {
  const me = ZZ.me || { permissions: [], scope: null };
  const form = document.getElementById("report-form");
  const f = form.elements;
  const status = document.getElementById("r-status");
  const locStatus = document.getElementById("r-loc-status");
  const photoStatus = document.getElementById("r-photo-status");
  const gridHint = document.getElementById("r-grid-hint");
  const inGrid = me.scope && me.scope.kind === "grid";
  if (!inGrid) document.getElementById("area-heading").textContent = ZZ.t("area.heading_other");

  // --- tabs (ZZ.tabs: the WAI-ARIA tabs pattern) ---
  const loaders = { "tab-tasks": loadTasks, "tab-area": loadArea };
  const { current } = ZZ.tabs(loaders);

  // --- messages on a field: the browser's bubble in Chinese (setCustomValidity) and aria-invalid ---
  function invalid(input, text) {
    input.setCustomValidity(text || "");
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    return !text;
  }
  /** Show `text` next to the submit button and bring it into view. */
  function say(text, kind, ...extra) {
    ZZ.status(status, "", kind);
    status.append(text, ...extra);
    status.scrollIntoView({ block: "nearest" });
  }
  function refuse(input, text) {
    invalid(input, text);
    say(text, "error");
    input.focus();
    input.reportValidity();
    return false;
  }

  // --- title and description: a counter near the limit, Chinese messages ---
  function counted(input) {
    const max = Number(input.dataset.max);
    const out = document.getElementById(input.id + "-count");
    const n = [...input.value].length; // characters, as the server counts them
    out.className = "counter small" + (n > max ? " error" : "");
    if (n > max) out.textContent = ZZ.t("check.too_long", { max, over: n - max });
    else if (n === max) out.textContent = ZZ.t("check.full", { max });
    else out.textContent = n >= max * NEAR_LIMIT ? ZZ.t("check.left", { left: max - n }) : "";
    return n > max ? ZZ.t("check.too_long", { max, over: n - max }) : "";
  }
  function checkText(input) {
    const over = counted(input);
    if (input === f.title && !input.value.trim()) return invalid(input, ZZ.t("check.title_empty"));
    return invalid(input, over);
  }
  for (const input of [f.title, f.description]) input.addEventListener("input", () => checkText(input));
  f.category_code.addEventListener("change", () => invalid(f.category_code, ""));

  // --- report: the category fills an empty title ---
  const catSelect = f.category_code;
  let leaves = {};
  try {
    const cats = await ZZ.categories();
    leaves = cats.leaves;
    catSelect.append(...ZZ.categoryOptions(cats.tree));
  } catch (e) {
    ZZ.status(status, ZZ.t("error.generic", { detail: ZZ.problem(e) }), "error");
  }
  let autoTitle = "";
  catSelect.addEventListener("change", () => {
    const leaf = leaves[catSelect.value];
    if (leaf && (!f.title.value || f.title.value === autoTitle)) {
      autoTitle = leaf.name;
      f.title.value = leaf.name;
      checkText(f.title);
    }
  });

  // --- photo: type by its first bytes; one over the limit made smaller here (ZZ.shrinkPhoto); checked
  // on choosing and again before reporting; 移除照片 takes it off the form ---
  const maxPhoto = ZZ.page.max_photo_bytes || 4900000;
  const maxMb = ZZ.page.max_photo_mb || "4.9";
  const mb = (n) => (n / 1e6).toFixed(n < 1e5 ? 2 : 1);
  const removePhoto = document.getElementById("r-photo-remove");
  let ready = null; // {source, file, type}: the chosen file and what will be uploaded for it
  /** What to upload for `file` ({file, type}), or throws the reason (Chinese) it cannot be uploaded. */
  async function preparePhoto(file) {
    if (!file.size) throw new Error(ZZ.t("report.photo_empty"));
    const head = [...new Uint8Array(await file.slice(0, 12).arrayBuffer())];
    const kind = KINDS.find(([, test]) => test(head));
    if (!kind) throw new Error(ZZ.t("report.photo_not_image", { name: file.name }));
    if (file.size <= maxPhoto) return { file, type: kind[0] };
    ZZ.status(photoStatus, ZZ.t("report.photo_shrinking", { size: mb(file.size) }), "muted");
    photoStatus.classList.add("small");
    const small = await ZZ.shrinkPhoto(file, maxPhoto);
    if (!small) throw new Error(ZZ.t("report.photo_too_big", { size: mb(file.size), mb: maxMb }));
    return { file: small.file, type: "image/jpeg", note: ZZ.t("report.photo_shrunk", {
      from: mb(file.size), size: mb(small.file.size), w: small.width, h: small.height }) };
  }
  /** The photo to upload ({file, type}) or null for none; throws (and marks the field) if unusable. */
  async function checkPhoto() {
    const file = f.photo.files[0];
    removePhoto.hidden = !file;
    if (!file) {
      ready = null;
      invalid(f.photo, "");
      ZZ.status(photoStatus, ZZ.t("report.photo_hint", { mb: maxMb }), "muted");
      photoStatus.classList.add("small");
      return null;
    }
    try {
      if (!ready || ready.source !== file) ready = { source: file, ...(await preparePhoto(file)) };
      if (f.photo.files[0] !== file) return checkPhoto(); // another photo was chosen meanwhile
      invalid(f.photo, "");
      ZZ.status(photoStatus, ready.note || ZZ.t("report.photo_ok", { size: mb(file.size) }), "ok");
      photoStatus.classList.add("small");
      return ready;
    } catch (err) {
      ready = null;
      invalid(f.photo, err.message);
      ZZ.status(photoStatus, err.message, "error");
      photoStatus.classList.add("small");
      throw err;
    }
  }
  f.photo.addEventListener("change", () => checkPhoto().catch(() => {}));
  removePhoto.addEventListener("click", () => {
    f.photo.value = "";
    checkPhoto().catch(() => {});
    f.photo.focus();
  });

  // --- the point: GPS, the pin on the map or typed; checked against the district's extent ---
  let district = null; // [minLon, minLat, maxLon, maxLat] with a margin, once loaded
  function readPoint() {
    const raw = { lon: f.lon.value.trim(), lat: f.lat.value.trim() };
    invalid(f.lon, "");
    invalid(f.lat, "");
    if (!raw.lon && !raw.lat) return { none: true };
    for (const [k, example] of [["lon", "105.898213"], ["lat", "29.352365"]]) {
      if (!raw[k]) return { field: f[k], text: ZZ.t("check.pair") };
      if (!NUMBER.test(raw[k])) {
        return { field: f[k], text: ZZ.t("check.not_number", { field: ZZ.t("report." + k), example }) };
      }
    }
    const lon = Number(raw.lon);
    const lat = Number(raw.lat);
    if (district) {
      const fix = (x) => x.toFixed(2);
      if (lon < district[0] || lon > district[2]) {
        return { field: f.lon, text: ZZ.t("check.lon_range", { min: fix(district[0]), max: fix(district[2]) }) };
      }
      if (lat < district[1] || lat > district[3]) {
        return { field: f.lat, text: ZZ.t("check.lat_range", { min: fix(district[1]), max: fix(district[3]) }) };
      }
    } else if (Math.abs(lon) > 180 || Math.abs(lat) > 90) {
      const field = Math.abs(lon) > 180 ? f.lon : f.lat;
      return { field, text: ZZ.t(field === f.lon ? "check.lon_range" : "check.lat_range",
        { min: field === f.lon ? -180 : -90, max: field === f.lon ? 180 : 90 }) };
    }
    return { lon, lat };
  }
  function pointChanged(fromMap) {
    const p = readPoint();
    gridHint.hidden = !(inGrid && p.none);
    if (p.field) invalid(p.field, p.text);
    if (!fromMap) map.place(p.field || p.none ? null : [p.lon, p.lat]);
  }
  for (const input of [f.lon, f.lat]) {
    input.addEventListener("input", () => invalid(input, ""));
    input.addEventListener("change", () => pointChanged(false));
  }
  function setPoint(lon, lat, fromMap) {
    f.lon.value = lon.toFixed(6);
    f.lat.value = lat.toFixed(6);
    pointChanged(fromMap);
  }
  document.getElementById("r-clear").addEventListener("click", () => {
    f.lon.value = "";
    f.lat.value = "";
    ZZ.status(locStatus, "");
    pointChanged(false);
  });

  document.getElementById("r-locate").addEventListener("click", () => {
    if (!navigator.geolocation) {
      ZZ.status(locStatus, ZZ.t("report.locate_failed"), "error");
      return;
    }
    ZZ.status(locStatus, ZZ.t("report.locating"));
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const { longitude: lon, latitude: lat, accuracy } = pos.coords;
        map.gps([lon, lat], accuracy);
        setPoint(lon, lat, false);
        ZZ.status(locStatus, ZZ.t("report.located", {
          lon: f.lon.value, lat: f.lat.value, acc: Math.round(accuracy),
        }), "ok");
      },
      () => ZZ.status(locStatus, ZZ.t("report.locate_failed"), "error"),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });

  // --- the map (m_map.js): tap or drag the pin, or arrow keys ---
  const map = MMap.create(document.getElementById("r-map"), document.getElementById("r-map-status"), inGrid,
    (lon, lat) => setPoint(lon, lat, true));

  async function loadMap() {
    const note = document.getElementById("r-map-status");
    ZZ.status(note, ZZ.t("map.loading"), "muted");
    note.classList.add("small");
    try {
      const outline = await ZZ.api("GET",
        `/api/v1/org/geojson?level=district&district=${encodeURIComponent(me.district_code)}&simplify_m=500`);
      const b = MMap.bounds(outline.features.map((x) => x.geometry));
      district = [b[0] - 0.01, b[1] - 0.01, b[2] + 0.01, b[3] + 0.01]; // the outline is simplified by 500 m
      if (!me.scope || !["grid", "town"].includes(me.scope.kind)) return; // no area to draw
      let area = null;
      let near = [];
      if (inGrid) {
        // grids carry their village's code plus a 3-digit serial (org/models.py)
        const village = me.scope.code.slice(0, 12);
        const grids = await ZZ.api("GET",
          `/api/v1/org/units?level=grid&parent=${encodeURIComponent(village)}&geometry=true`).catch(() => ({ items: [] }));
        area = grids.items.find((u) => u.code === me.scope.code);
        near = grids.items.filter((u) => u !== area && u.geometry);
      }
      if (!area) area = await ZZ.api("GET", `/api/v1/org/units/${encodeURIComponent(me.scope.code)}`);
      if (!area.geometry) return;
      map.show(area, near);
      document.getElementById("r-map").dataset.ready = "true";
      pointChanged(false);
    } catch (e) {
      ZZ.status(note, ZZ.t("map.failed", { detail: ZZ.problem(e) }), "error");
      note.classList.add("small");
    }
  }
  loadMap();
  pointChanged(false);

  // --- submit: every check first; the report, then the photo ---
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!f.category_code.value) return refuse(f.category_code, ZZ.t("check.category"));
    for (const input of [f.title, f.description]) {
      if (!checkText(input)) return refuse(input, input.validationMessage);
    }
    let photo = null;
    try {
      photo = await checkPhoto();
    } catch (err) {
      return refuse(f.photo, err.message);
    }
    const body = {
      source: "grid_app",
      category_code: f.category_code.value,
      title: f.title.value.trim(),
      description: f.description.value.trim(),
    };
    const p = readPoint();
    if (p.field) return refuse(p.field, p.text);
    if (!p.none) {
      body.lon = p.lon;
      body.lat = p.lat;
    } else if (inGrid) {
      body.grid_code = me.scope.code;
    } else {
      return refuse(f.lon, ZZ.t("report.need_location"));
    }
    const button = document.getElementById("r-submit");
    button.disabled = true;
    say(ZZ.t("report.sending"));
    try {
      const ev = await ZZ.api("POST", "/api/v1/events", body);
      let note = ZZ.t("report.sent", { id: ev.id });
      let kind = "ok";
      if (photo) {
        say(ZZ.t("report.uploading", { id: ev.id }));
        const data = new FormData();
        // declared as what its bytes are (a PNG named .jpg is still a PNG)
        data.append("file", new File([photo.file], photo.file.name || "photo", { type: photo.type }));
        data.append("kind", "before"); // the reporter's photo: 处置前
        try {
          await ZZ.api("POST", `/api/v1/events/${ev.id}/attachments`, data);
          note = ZZ.t("report.sent_with_photo", { id: ev.id });
        } catch (err) {
          note = ZZ.t("report.photo_failed", { id: ev.id, detail: ZZ.problem(err) });
          kind = "error";
        }
      }
      form.reset();
      autoTitle = "";
      ZZ.status(locStatus, "");
      for (const input of [f.title, f.description]) counted(input);
      checkPhoto().catch(() => {});
      pointChanged(false);
      say(note, kind, " ", ZZ.el("a", { href: `/m/events/${ev.id}` }, ZZ.t("report.open_event", { id: ev.id })));
      status.dataset.eventId = ev.id;
    } catch (err) {
      say(ZZ.t("error.generic", { detail: ZZ.problem(err) }), "error");
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
      list.replaceChildren(ZZ.el("li", { class: "error" }, ZZ.t("error.generic", { detail: ZZ.problem(e) })));
    }
  }
  async function loadArea() {
    const list = document.getElementById("area");
    try {
      fill(list, (await ZZ.api("GET", "/api/v1/events?limit=30")).items, "area.empty");
    } catch (e) {
      list.replaceChildren(ZZ.el("li", { class: "error" }, ZZ.t("error.generic", { detail: ZZ.problem(e) })));
    }
  }
  ZZ.live(ZZ.debounce(() => {
    const tab = current();
    if (tab && loaders[tab.id]) loaders[tab.id]();
  }, 500));
});
