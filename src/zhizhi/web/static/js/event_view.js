/* event_view.js — what the event page (event.js, loaded after this) shows of an event without acting on
   it: time limits as words, the timeline, the photos (thumbnails opening the full size, 处置前 | 处置后
   side by side) and the other files, the pre-plan tasks (联动任务) with a 完成 button where the user may
   mark one done (the form is event.js's), the small map of the town's grids (console layout only: the phone
   loads no chart library), and the check of a photo before it is uploaded. One global, EventView;
   each function takes the event as the API sends it (GET /api/v1/events/{id}). */
"use strict";

const EventView = (() => {
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

  // --- time limits: "0.5 continuous" → "30 分钟（全天连续计时）" -------------------------------------
  const num = (x) => String(Math.round(x * 10) / 10);
  function amountText(n, clock) {
    if (clock === "continuous") {
      return (n < 1 ? ZZ.t("limit.minutes", { n: num(n * 60) }) : ZZ.t("limit.hours", { n: num(n) })) +
        ZZ.t("limit.continuous");
    }
    if (clock === "working_hours") {
      return n < 1 ? ZZ.t("limit.working_minutes", { n: num(n * 60) }) : ZZ.t("limit.working_hours", { n: num(n) });
    }
    if (clock === "working_days") return ZZ.t("limit.working_days", { n: num(n) });
    if (clock === "natural_days") return ZZ.t("limit.natural_days", { n: num(n) });
    return `${num(n)} ${clock}`;
  }
  /** A time limit "<amount> <clock>" in words; 无 for none. */
  function limitText(s) {
    if (!s) return ZZ.t("none");
    const [a, clock] = s.split(" ");
    return amountText(Number(a), clock);
  }
  /** Time used at a node, in its limit's unit: minutes or hours for the hour clocks, days else. */
  function usedText(n, clock) {
    if (n === null || n === undefined) return ZZ.t("none");
    if (clock === "continuous" || clock === "working_hours") {
      return n < 1 ? ZZ.t("limit.minutes", { n: num(n * 60) }) : ZZ.t("limit.hours", { n: num(n) });
    }
    return amountText(n, clock);
  }

  // --- photos ----------------------------------------------------------------------------------------
  const photoUrl = (ev, a) => `/api/v1/events/${ev.id}/attachments/${a.id}?inline=true`;

  /** Thumbnails of the event's photos of one kind, each opening the full-size photo. */
  function thumbs(ev, kind) {
    const photos = ev.attachments.filter((a) => a.is_image && a.kind === kind);
    if (!photos.length) return [ZZ.el("p", { class: "muted small" }, ZZ.t("event.no_photos"))];
    return photos.map((a) => ZZ.el("figure", { class: "thumb", dataset: { id: a.id } },
      ZZ.el("a", { href: photoUrl(ev, a), target: "_blank", rel: "noopener", title: ZZ.t("event.open_full") },
        ZZ.el("img", { src: photoUrl(ev, a), alt: `${ZZ.t("event.kind_" + kind)}：${a.filename}`, loading: "lazy" })),
      ZZ.el("figcaption", { class: "small" }, ZZ.el("span", { class: "wrap" }, a.filename), " · ",
        ZZ.time(a.uploaded_at))));
  }

  /** 处置前 | 处置后 side by side (the check compares them), as an element with id `<idPrefix>-compare`. */
  function compare(ev, idPrefix) {
    return ZZ.el("div", { class: "compare", id: idPrefix + "-compare" },
      ZZ.el("div", { class: "side", dataset: { kind: "before" } }, ZZ.el("h4", {}, ZZ.t("event.photos_before")),
        ...thumbs(ev, "before")),
      ZZ.el("div", { class: "side", dataset: { kind: "after" } }, ZZ.el("h4", {}, ZZ.t("event.photos_after")),
        ...thumbs(ev, "after")));
  }

  /** The file to upload for `file`: itself, or made smaller in the browser when over `maxBytes`
     (ZZ.shrinkPhoto; `maxMb` is the limit as shown). Throws the reason in Chinese for one the server
     would refuse (type, size). */
  async function usablePhoto(file, maxBytes, maxMb) {
    if (!PHOTO_TYPES.includes((file.type || "").toLowerCase())) throw new Error(ZZ.t("event.not_image"));
    if (file.size <= maxBytes) return file;
    const small = await ZZ.shrinkPhoto(file, maxBytes);
    if (!small) throw new Error(ZZ.t("event.too_big", { size: num(file.size / 1e6), mb: maxMb }));
    return small.file;
  }

  // --- timeline --------------------------------------------------------------------------------------
  /** The steps into #ev-timeline; `transitions`: the API's transitions by action (for their labels). */
  function timeline(ev, transitions) {
    const body = document.getElementById("ev-timeline");
    body.replaceChildren(...ev.timeline.map((s) => {
      const text = s.label || (transitions[s.action] || {}).label || s.action;
      let comment = s.comment || "";
      const from = s.action === "report" && /^来源 ([a-z_0-9]+)$/.exec(comment);
      if (from) comment = ZZ.t("event.report_source", { source: ZZ.t("source." + from[1]) });
      let used = ZZ.t("none");
      if (s.limit) {
        const clock = s.limit.split(" ")[1];
        used = `${usedText(s.used, clock)} / ${limitText(s.limit)}`;
      }
      const moved = s.from_node && s.from_node !== s.to_node;
      return ZZ.el("tr", { dataset: { action: s.action } },
        ZZ.el("td", { class: "when" }, ZZ.el("time", { datetime: s.at }, ZZ.time(s.at))),
        ZZ.el("td", {}, text),
        ZZ.el("td", {}, moved || !s.from_node
          ? `${s.from_node ? ZZ.t("node." + s.from_node) + " → " : ""}${ZZ.t("node." + s.to_node)}`
          : ZZ.t("node." + s.to_node)),
        ZZ.el("td", {}, s.actor_name),
        ZZ.el("td", { class: "wrap" }, comment),
        ZZ.el("td", { class: s.overdue ? "late" : "" }, used, s.overdue ? ` ${ZZ.t("event.late")}` : ""));
    }));
  }

  // --- pre-plan tasks (联动任务) ----------------------------------------------------------------------
  function taskState(t) {
    if (t.status === "done") return ZZ.t("event.task_done");
    if (t.status === "closed") return ZZ.t("event.task_closed");
    return ZZ.t("event.task_open");
  }
  /** The event's tasks into #ev-tasks (the section hidden without any): text, unit (`names`: unit code →
      name), deadline, status (an open task past its deadline marked 已超时) and, for a task the user
      may mark done now (`can_complete`), a 完成 button calling `onComplete(task, button)`. */
  function tasks(ev, names, onComplete) {
    const list = ev.tasks || [];
    document.getElementById("ev-tasks-section").hidden = !list.length;
    const now = Date.now();
    document.getElementById("ev-tasks").replaceChildren(...list.map((t) => {
      const late = t.status === "open" && t.deadline && new Date(t.deadline).getTime() < now;
      const textId = `task-${t.id}-text`;
      const state = [ZZ.el("span", { class: "task-state" }, taskState(t))];
      if (late) state.push(" ", ZZ.el("span", { class: "tag red" }, ZZ.t("event.task_late")));
      if (t.status === "done" && t.done_at) {
        state.push(ZZ.el("br"), ZZ.el("span", { class: "small muted" }, ZZ.t("event.task_done_at", { at: ZZ.time(t.done_at) }) + (t.done_by ? ` · ${t.done_by}` : "")));
      }
      const button = t.can_complete
        ? ZZ.el("button", { type: "button", class: "task-done", "aria-describedby": textId,
          onclick: (e) => onComplete(t, e.currentTarget) }, ZZ.t("event.task_complete"))
        : ZZ.el("span", { class: "muted" }, ZZ.t("event.task_none"));
      return ZZ.el("tr", { dataset: { id: t.id, status: t.status, late: late ? "true" : "false" }, class: late ? "late" : "" },
        ZZ.el("td", { class: "wrap" }, ZZ.el("span", { id: textId }, t.task),
          t.comment ? ZZ.el("div", { class: "small muted" }, ZZ.t("event.task_comment", { comment: t.comment })) : null),
        ZZ.el("td", { title: t.unit_code, dataset: { label: ZZ.t("event.task_unit") } }, names[t.unit_code] || t.unit_code),
        ZZ.el("td", { class: "when", dataset: { label: ZZ.t("event.task_deadline") } }, t.deadline ? ZZ.el("time", { datetime: t.deadline }, ZZ.time(t.deadline)) : ZZ.t("none")),
        ZZ.el("td", { class: late ? "late" : "", dataset: { label: ZZ.t("event.task_state") } }, state),
        ZZ.el("td", { class: t.can_complete ? "task-act" : "task-act none" }, button));
    }));
  }

  // --- photos and files ------------------------------------------------------------------------------
  let shownFiles = null;
  /** The photos into #ev-photos and the other files into #ev-attachments; the same photos as last
      time are left alone (their images stay loaded). */
  function files(ev) {
    const key = ev.attachments.map((a) => a.id).join(",");
    if (key === shownFiles) return;
    shownFiles = key;
    const photos = document.getElementById("ev-photos");
    const hasPhotos = ev.attachments.some((a) => a.is_image);
    const others = ev.attachments.filter((a) => a.is_image && a.kind === "other");
    const parts = hasPhotos ? [compare(ev, "ev")] : [];
    if (others.length) {
      parts.push(ZZ.el("div", { class: "side", dataset: { kind: "other" } }, ZZ.el("h4", {}, ZZ.t("event.photos_other")),
        ...thumbs(ev, "other")));
    }
    photos.replaceChildren(...parts);
    const list = document.getElementById("ev-attachments");
    const rest = ev.attachments.filter((a) => !a.is_image);
    list.replaceChildren(...rest.map((a) =>
      ZZ.el("li", { dataset: { id: a.id } }, `${ZZ.t("event.kind_" + a.kind)}：`,
        ZZ.el("a", { href: `/api/v1/events/${ev.id}/attachments/${a.id}`, download: a.filename,
          title: ZZ.t("event.download"), class: "wrap" }, a.filename),
        `（${Math.ceil(a.size / 1024)} KB，${ZZ.time(a.uploaded_at)}）`)));
    if (!ev.attachments.length) list.replaceChildren(ZZ.el("li", { class: "muted" }, ZZ.t("event.no_attachments")));
  }

  // --- the event on a small map of its town's grids (#ev-map; console layout only) ------------------
  let mapChart = null;
  let mapTown = null;
  /** Draw the event's point on its town's grids (GET /api/v1/org/geojson?level=grid); the box stays
      hidden without ECharts, a town or a point, or when the outlines cannot be loaded. */
  async function map(ev) {
    const mapBox = document.getElementById("ev-map");
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

  return { photoTypes: PHOTO_TYPES, limitText, compare, usablePhoto, timeline, tasks, files, map };
})();
