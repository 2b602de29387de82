/* m.js — the grid worker's phone page (375 px): report an event (category, description, photo, a point
   from the browser's GPS, a pin on a small map or typed, else the worker's own grid), my tasks, my
   grid's events. Small on purpose: no map library — the map is inline SVG of the worker's grid and
   its village's other grids (GET /api/v1/org/units), bounded by the district (GET /api/v1/org/geojson).
   Everything is checked here before anything is sent: a refused photo never leaves a report behind. */
"use strict";

const OPEN_TASK_NODES = new Set(["dispatched", "signed", "parked"]);
const NEAR_LIMIT = 0.8; // the character counter shows from 80 % of a field's limit
const SVG = "http://www.w3.org/2000/svg";
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const KINDS = [ // photo types by their first bytes (the server checks the same)
  ["image/jpeg", (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ["image/png", (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x)],
  ["image/webp", (b) => String.fromCharCode(...b.slice(0, 4)) === "RIFF" && String.fromCharCode(...b.slice(8, 12)) === "WEBP"],
];

/** Whether [lon, lat] lies in a GeoJSON Polygon or MultiPolygon (even-odd rule, holes included). */
function contains(geometry, [x, y]) {
  const polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  return polys.some((rings) => rings.reduce((inside, ring) => {
    let c = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
    }
    return inside !== c;
  }, false));
}

/** [minLon, minLat, maxLon, maxLat] of GeoJSON geometries. */
function bounds(geometries) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    } else c.forEach(walk);
  };
  geometries.forEach((g) => walk(g.coordinates));
  return b;
}

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

  // --- the map: inline SVG, north up, metres equal both ways; tap or drag the pin, or arrow keys ---
  const map = (() => {
    const svg = document.getElementById("r-map");
    const note = document.getElementById("r-map-status");
    let own = null; // {name, geometry}
    let others = []; // [{name, geometry}]
    let pin = null;
    let gps = null;
    let k = 1; // cos(latitude): x = lon·k, y = −lat
    let box = null;
    const xy = ([lon, lat]) => [lon * k, -lat];
    const node = (tag, attrs) => {
      const n = document.createElementNS(SVG, tag);
      for (const [a, v] of Object.entries(attrs)) n.setAttribute(a, v);
      return n;
    };
    const path = (geometry) => (geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates)
      .flat().map((ring) => "M" + ring.map((c) => xy(c).map((v) => v.toFixed(6)).join(" ")).join("L") + "Z").join("");
    let unit = 1; // the pin's size: a 16th of the view
    const inBox = (p) => box && p[0] >= box[0] && p[0] <= box[2] && p[1] >= box[1] && p[1] <= box[3];
    /** Fit the view to the area, the pin and the GPS point (kept while both stay in view). */
    function frame() {
      const points = [...(pin ? [pin] : []), ...(gps ? [gps.at] : [])];
      if (box && points.every(inBox)) return;
      const b = bounds([own.geometry, ...points.map((c) => ({ coordinates: c }))]);
      const pad = Math.max(b[2] - b[0], b[3] - b[1]) * 0.35 + 0.0005;
      box = [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad];
      k = Math.cos(((b[1] + b[3]) / 2) * (Math.PI / 180));
      const [x0, y0] = xy([box[0], box[3]]);
      const [x1, y1] = xy([box[2], box[1]]);
      svg.setAttribute("viewBox", `${x0} ${y0} ${x1 - x0} ${y1 - y0}`);
      unit = (x1 - x0) / 16;
    }
    function draw() {
      if (!own) return;
      frame();
      const shapes = others.map((o) => {
        const shape = node("path", { d: path(o.geometry), class: "nb" });
        shape.append(node("title", {}));
        shape.firstChild.textContent = o.name;
        return shape;
      });
      const mine = node("path", { d: path(own.geometry), class: "own" });
      svg.replaceChildren(...shapes, mine);
      if (gps) {
        const [x, y] = xy(gps.at);
        const r = Math.max(unit / 3, gps.accuracy / 111320); // metres as degrees of latitude
        svg.append(node("circle", { cx: x, cy: y, r, class: "gps-area" }),
          node("circle", { cx: x, cy: y, r: unit / 3, class: "gps", "data-role": "gps" }));
      }
      if (pin) {
        const [x, y] = xy(pin);
        svg.append(node("path", {
          class: "pin", "data-role": "pin",
          d: `M${x} ${y}l${-unit * 0.6} ${-unit * 1.4}a${unit * 0.7} ${unit * 0.7} 0 1 1 ${unit * 1.2} 0z`,
        }));
      }
      tell();
    }
    /** Say whether the pin is in the worker's grid (or scope), naming the grid it is in otherwise. */
    function tell() {
      svg.dataset.inside = "";
      if (!pin) {
        ZZ.status(note, ZZ.t("map.tap"), "muted");
        note.classList.add("small");
        return;
      }
      const inside = contains(own.geometry, pin);
      const where = others.find((o) => contains(o.geometry, pin));
      svg.dataset.inside = String(inside);
      let text;
      if (inGrid) {
        text = inside ? ZZ.t("map.inside", { name: own.name })
          : where ? ZZ.t("map.outside", { where: where.name }) : ZZ.t("map.outside_unknown");
      } else text = inside ? ZZ.t("map.inside_area", { name: own.name }) : ZZ.t("map.outside_area");
      ZZ.status(note, text, inside ? "ok" : "error");
      note.classList.add("small");
    }
    function toLonLat(e) {
      const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
      return [p.x / k, -p.y];
    }
    let dragging = false;
    svg.addEventListener("pointerdown", (e) => {
      if (!own) return;
      dragging = true;
      svg.setPointerCapture(e.pointerId);
      pin = toLonLat(e);
      draw();
    });
    svg.addEventListener("pointermove", (e) => {
      if (!dragging) return;
      pin = toLonLat(e);
      const [x, y] = xy(pin); // move the drawn pin without reframing under the finger
      const shape = svg.querySelector("[data-role=pin]");
      if (shape) shape.setAttribute("d", shape.getAttribute("d").replace(/^M[^l]+/, `M${x} ${y}`));
    });
    const drop = () => {
      if (!dragging) return;
      dragging = false;
      setPoint(pin[0], pin[1], true);
      draw();
    };
    svg.addEventListener("pointerup", drop);
    svg.addEventListener("pointercancel", drop);
    svg.addEventListener("keydown", (e) => {
      const step = { ArrowUp: [0, 1], ArrowDown: [0, -1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] }[e.key];
      if (!step || !own) return;
      e.preventDefault();
      const d = (box[3] - box[1]) / 40;
      const at = pin || [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
      pin = [at[0] + (step[0] * d) / k, at[1] + step[1] * d];
      setPoint(pin[0], pin[1], true);
      draw();
    });
    return {
      /** Draw `area` ({name, geometry}) with `near` around it. */
      show(area, near) {
        own = area;
        others = near;
        box = null;
        svg.removeAttribute("hidden"); // (an SVG element has no .hidden property)
        draw();
      },
      /** Put the pin at [lon, lat] (null: no pin). */
      place(at) {
        pin = at;
        draw();
      },
      gps(at, accuracy) {
        gps = { at, accuracy };
        draw();
      },
    };
  })();

  async function loadMap() {
    const note = document.getElementById("r-map-status");
    ZZ.status(note, ZZ.t("map.loading"), "muted");
    note.classList.add("small");
    try {
      const outline = await ZZ.api("GET",
        `/api/v1/org/geojson?level=district&district=${encodeURIComponent(me.district_code)}&simplify_m=500`);
      const b = bounds(outline.features.map((x) => x.geometry));
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
