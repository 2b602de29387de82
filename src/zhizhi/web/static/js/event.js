/* event.js — one event: facts, the buttons for exactly the moves the signed-in user may make now
   (the API's allowed_actions, labelled for the node: 不予立案 at 待立案), a small form per move (派遣
   with a unit picker offering only what the user may do, 上报区级 for what lies beyond the town,
   处置反馈 with the after-photo, 核查 with the photos before and after side by side), the timeline and
   the photos (thumbnails, full size), the pre-plan tasks (联动任务) with a small form to mark the user's
   own done (POST /api/v1/tasks/{id}/done, an optional comment), the last three and the small map drawn
   by EventView (event_view.js, loaded first). Every move sends expected_version, so a stale page gets a clear 409. Results and
   errors show next to what was pressed (aria-live), in Chinese (ZZ.problem). */
"use strict";

const DONE = ["closed", "evaluated", "rejected", "merged"];
const LONG_TEXT = 600; // characters of description shown before 展开全文

document.addEventListener("DOMContentLoaded", async () => {
  if (document.body.dataset.missing) return; // the server's 404 page: nothing to load
  const id = Number(document.body.dataset.eventId);
  const status = document.getElementById("ev-status");
  const actions = document.getElementById("ev-actions");
  const actStatus = document.getElementById("act-status");
  const form = document.getElementById("ev-form");
  const upload = document.getElementById("ev-upload");
  const upStatus = document.getElementById("up-status");
  const me = ZZ.me || { permissions: [] };
  const maxBytes = ZZ.page.max_photo_bytes || 4900000;
  const maxMb = ZZ.page.max_photo_mb || "4.9";
  const unitNames = {};
  let ev = null;
  let transitions = {};
  let towns = {};

  document.getElementById("up-hint").textContent = ZZ.t("event.upload_hint", { mb: maxMb });

  /** An API error as a Chinese sentence: ZZ.problem with the node and field names translated. */
  function why(err) {
    const body = err && err.body;
    if (!body || !body.params) return ZZ.problem(err);
    const params = { ...body.params };
    if (params.node) params.node = ZZ.t("node." + params.node);
    if (params.field) {
      const label = ZZ.t("field." + params.field);
      params.field = label === "field." + params.field ? params.field : label;
    }
    return ZZ.problem({ message: err.message, body: { ...body, params } });
  }
  const failed = (err) => ZZ.t("error.generic", { detail: why(err) });

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

  const label = (a) => (ev.action_labels || {})[a] || (transitions[a] || {}).label || a;
  const can = (p) => me.permissions.includes(p);

  // --- facts ---------------------------------------------------------------------------------------
  function fact(labelText, value) {
    return [ZZ.el("dt", {}, labelText), ZZ.el("dd", {}, value)];
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
    if (can("event.any_unit")) {
      const deps = await ZZ.api("GET",
        `/api/v1/org/units?level=department&district=${ev.district_code}&limit=500`);
      groups.push([ZZ.t("form.units_department"), deps.items]);
    }
    for (const [, units] of groups) for (const u of units) unitNames[u.code] = u.name;
    return groups;
  }

  /** The 上报区级 suggestion: the routing's unit is beyond the town and the user may escalate. */
  const escalateInstead = () => ev.allowed_actions.includes("escalate") && ev.auto_unit_code && !ev.auto_unit_ok;

  async function renderFacts() {
    document.getElementById("ev-title").textContent = `#${ev.id} ${ev.title}`;
    document.getElementById("ev-held").hidden = !ev.held_by_district;
    const facts = document.getElementById("ev-facts");
    const badge = ZZ.el("span", { class: "badge " + ev.colour }, ZZ.t("colour." + ev.colour));
    const flags = [];
    if (ev.overdue) flags.push(ZZ.el("span", { class: "tag red" }, ZZ.t("flag.overdue")));
    if (ev.supervised) flags.push(ZZ.el("span", { class: "tag" }, ZZ.t("flag.supervised")));
    const deadline = ev.node_deadline
      ? ZZ.t("event.deadline_text", {
        deadline: ZZ.time(ev.node_deadline), limit: EventView.limitText(ev.node_limit), urgency: ZZ.t("urgency." + ev.urgency),
      })
      : ZZ.t("none");
    const suggested = ev.suggested_unit_code ? [await unitName(ev.suggested_unit_code)] : [ZZ.t("none")];
    if (escalateInstead()) {
      suggested.push(" ", ZZ.el("button", { type: "button", class: "small", id: "escalate-suggested",
        onclick: () => openForm("escalate") }, ZZ.t("form.escalate_button")));
    }
    facts.replaceChildren(
      ...fact(ZZ.t("event.category"), ev.category_name || ev.category_code),
      ...fact(ZZ.t("event.node"), [ZZ.el("strong", { id: "ev-node", dataset: { node: ev.node } },
        ZZ.t("node." + ev.node)), " ", ...flags]),
      ...fact(ZZ.t("event.colour"), badge),
      ...fact(ZZ.t("event.urgency"), ZZ.t("urgency." + ev.urgency)),
      ...fact(ZZ.t("event.deadline"), ZZ.el("span", { id: "ev-deadline" }, deadline)),
      ...fact(ZZ.t("event.source"), ZZ.t("source." + ev.source)),
      ...fact(ZZ.t("event.town"), towns[ev.town_code] || ev.town_code || ZZ.t("none")),
      ...fact(ZZ.t("event.grid"), ZZ.el("span", { id: "ev-grid", title: ev.grid_code || "" },
        ev.grid_code ? await unitName(ev.grid_code) : ZZ.t("none"))),
      ...fact(ZZ.t("event.address"), ev.address || ZZ.t("none")),
      ...fact(ZZ.t("event.location"), ev.lon === null ? ZZ.t("none") : `${ev.lon.toFixed(6)}, ${ev.lat.toFixed(6)}`),
      ...fact(ZZ.t("event.reported_at"), ZZ.el("time", { datetime: ev.reported_at }, ZZ.time(ev.reported_at))),
      ...fact(ZZ.t("event.unit"), ev.unit_code ? await unitName(ev.unit_code) : ZZ.t("none")),
      ...fact(ZZ.t("event.suggested_unit"), ZZ.el("span", { id: "ev-suggested" }, suggested)),
    );
    const text = ev.description || "";
    const box = document.getElementById("ev-description");
    const more = document.getElementById("ev-more");
    box.textContent = text;
    const long = text.length > LONG_TEXT;
    more.hidden = !long;
    if (!long || more.getAttribute("aria-expanded") !== "true") {
      box.classList.toggle("clamped", long);
      more.setAttribute("aria-expanded", "false");
      more.textContent = ZZ.t("event.description_more");
    }
  }
  document.getElementById("ev-more").addEventListener("click", (e) => {
    const open = e.currentTarget.getAttribute("aria-expanded") !== "true";
    e.currentTarget.setAttribute("aria-expanded", String(open));
    e.currentTarget.textContent = ZZ.t(open ? "event.description_less" : "event.description_more");
    document.getElementById("ev-description").classList.toggle("clamped", !open);
  });

  // --- actions -------------------------------------------------------------------------------------
  function renderActions() {
    form.hidden = true;
    form.replaceChildren();
    if (!ev.allowed_actions.length) {
      actions.replaceChildren(ZZ.el("p", { class: "muted" }, ZZ.t("event.no_actions")));
      return;
    }
    actions.replaceChildren(...ev.allowed_actions.map((a) =>
      ZZ.el("button", { type: "button", class: "action", dataset: { action: a }, onclick: () => openForm(a) },
        label(a))));
  }

  function field(labelText, control, hint) {
    return ZZ.el("div", { class: "field" }, ZZ.el("label", { for: control.id }, labelText), control,
      hint ? ZZ.el("span", { class: "small muted", id: control.id + "-hint" }, hint) : null);
  }

  async function openForm(action) {
    const tr = transitions[action] || { needs: [] };
    const needs = new Set(tr.needs);
    const parts = [ZZ.el("h3", {}, label(action))];
    ZZ.status(actStatus, "");
    if (needs.has("unit_code")) {
      const select = ZZ.el("select", { id: "f-unit_code", name: "unit_code", required: true });
      let groups = [];
      try {
        groups = await dispatchTargets();
      } catch (e) {
        ZZ.status(actStatus, failed(e), "error");
      }
      if (ev.auto_unit_code && ev.auto_unit_ok) {
        const name = await unitName(ev.auto_unit_code);
        select.append(ZZ.el("option", { value: "auto" }, ZZ.t("form.unit_auto", { name })));
      } else { // no suggestion the user may follow: nothing chosen for them (not their own centre)
        select.append(ZZ.el("option", { value: "" }, ZZ.t("form.unit_choose")));
      }
      for (const [groupLabel, units] of groups) {
        select.append(ZZ.el("optgroup", { label: groupLabel },
          units.map((u) => ZZ.el("option", { value: u.code }, `${u.name}（${u.code}）`))));
      }
      parts.push(field(ZZ.t("form.unit_code"), select));
      if (escalateInstead()) {
        const name = await unitName(ev.auto_unit_code);
        parts.push(ZZ.el("p", { class: "notice", id: "f-escalate-hint" }, ZZ.t("form.escalate_hint", { name }), " ",
          ZZ.el("button", { type: "button", id: "f-escalate", onclick: () => openForm("escalate") },
            ZZ.t("form.escalate_button"))));
      }
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
    if (action === "handle" && can("event.attach")) {
      parts.push(field(ZZ.t("form.after_photo"), ZZ.el("input", {
        id: "f-photo", name: "photo", type: "file", accept: EventView.photoTypes.join(","), capture: "environment",
        "aria-describedby": "f-photo-hint",
      }), `${ZZ.t("form.after_photo_hint")} ${ZZ.t("event.upload_hint", { mb: maxMb })}`));
    }
    if (action === "verify_pass" || action === "verify_fail") {
      parts.push(ZZ.el("h4", {}, ZZ.t("form.compare")), EventView.compare(ev, "f"));
    }
    const commentLabel = action === "escalate" ? ZZ.t("form.escalate_comment") : ZZ.t("form.comment");
    parts.push(field(commentLabel, ZZ.el("textarea", {
      id: "f-comment", name: "comment", rows: 3, maxlength: 5000, required: needs.has("comment"),
    })));
    parts.push(ZZ.el("div", { class: "buttons" },
      ZZ.el("button", { type: "submit", class: "primary", id: "f-submit" }, ZZ.t("form.submit", { label: label(action) })),
      ZZ.el("button", { type: "button", onclick: renderActions }, ZZ.t("form.cancel"))));
    parts.push(ZZ.el("p", { id: "f-status", class: "status", role: "status", "aria-live": "polite" }));
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
    const done = label(action);
    const fStatus = document.getElementById("f-status");
    const body = { action, expected_version: ev.version };
    for (const name of ["comment", "unit_code", "satisfaction", "extra_amount", "kind"]) {
      const input = form.elements[name];
      if (!input || input.value === "") continue;
      body[name] = ["satisfaction", "extra_amount"].includes(name) ? Number(input.value) : input.value.trim();
    }
    const missing = [...form.querySelectorAll("[required]")].find((i) => !i.value.trim());
    if (missing) {
      missing.focus();
      ZZ.status(fStatus, ZZ.t("form.required", { field: missing.labels[0].textContent }), "error");
      return;
    }
    let photo = form.elements.photo && form.elements.photo.files[0];
    try {
      if (photo) photo = await EventView.usablePhoto(photo, maxBytes, maxMb);
    } catch (err) {
      ZZ.status(fStatus, err.message, "error");
      form.elements.photo.focus();
      return;
    }
    const submit = document.getElementById("f-submit");
    submit.disabled = true;
    ZZ.status(fStatus, ZZ.t("form.sending"));
    try {
      if (photo) { // the after-photo first: a refused photo leaves the event where it was
        const data = new FormData();
        data.append("file", photo);
        data.append("kind", "after");
        await ZZ.api("POST", `/api/v1/events/${id}/attachments`, data);
      }
      ev = await ZZ.api("POST", `/api/v1/events/${id}/transitions`, body);
      await render();
      ZZ.status(actStatus, ZZ.t("form.done", { label: done }), "ok");
      actStatus.focus();
    } catch (err) {
      if (err.status === 409) {
        await load();
        ZZ.status(actStatus, why(err), "error");
        actStatus.focus();
      } else {
        ZZ.status(fStatus, failed(err), "error");
        submit.disabled = false;
      }
    }
  });

  // --- photos and files (EventView.files), the upload form for those who may attach ---------------
  function renderAttachments() {
    EventView.files(ev);
    const closed = DONE.includes(ev.node);
    upload.hidden = !can("event.attach") || closed;
    document.getElementById("up-closed").hidden = !can("event.attach") || !closed;
    const kind = document.getElementById("up-kind");
    if (!kind.dataset.touched) {
      kind.value = ["signed", "parked", "handled", "verified"].includes(ev.node) ? "after" : "before";
    }
  }
  document.getElementById("up-kind").addEventListener("change", (e) => {
    e.currentTarget.dataset.touched = "1";
  });

  // --- pre-plan tasks (联动任务): the table by EventView.tasks, a small form under the row pressed ------
  const taskStatus = document.getElementById("task-status");
  let taskForm = null; // the open completion form's row, if any
  function closeTaskForm() {
    if (taskForm) taskForm.remove();
    taskForm = null;
  }
  function openTaskForm(task, button) {
    closeTaskForm();
    ZZ.status(taskStatus, "");
    const row = button.closest("tr");
    const fStatus = ZZ.el("p", { id: "tf-status", class: "status", role: "status", "aria-live": "polite" });
    const cancel = () => {
      closeTaskForm();
      button.focus();
    };
    const tform = ZZ.el("form", { class: "action-form task-form", id: "task-form", novalidate: true,
      dataset: { id: task.id }, "aria-label": `${ZZ.t("event.task_complete")}：${task.task}`,
      onkeydown: (e) => { if (e.key === "Escape") cancel(); } },
    field(ZZ.t("event.task_form_comment"), ZZ.el("textarea", { id: "tf-comment", name: "comment", rows: 2, maxlength: 500 })),
    ZZ.el("div", { class: "buttons" },
      ZZ.el("button", { type: "submit", class: "primary", id: "tf-submit" }, ZZ.t("event.task_form_submit")),
      ZZ.el("button", { type: "button", onclick: cancel }, ZZ.t("form.cancel"))),
    fStatus);
    tform.addEventListener("submit", async (e) => {
      e.preventDefault();
      const submit = document.getElementById("tf-submit");
      submit.disabled = true;
      ZZ.status(fStatus, ZZ.t("event.task_sending"));
      const comment = tform.elements.comment.value.trim();
      const query = comment ? `?comment=${encodeURIComponent(comment)}` : "";
      try {
        await ZZ.api("POST", `/api/v1/tasks/${task.id}/done${query}`);
        closeTaskForm();
        await load();
        ZZ.status(taskStatus, ZZ.t("event.task_completed", { task: task.task }), "ok");
        taskStatus.focus();
      } catch (err) {
        if (err.status === 409 || err.status === 404) { // done meanwhile, or gone: show how it is now
          closeTaskForm();
          await load();
          ZZ.status(taskStatus, failed(err), "error");
          taskStatus.focus();
        } else {
          ZZ.status(fStatus, failed(err), "error");
          submit.disabled = false;
        }
      }
    });
    taskForm = ZZ.el("tr", { class: "task-form-row" }, ZZ.el("td", { colspan: 5 }, tform));
    row.after(taskForm);
    document.getElementById("tf-comment").focus();
  }

  async function renderTasks() {
    const codes = [...new Set((ev.tasks || []).map((t) => t.unit_code))];
    const names = Object.fromEntries(await Promise.all(codes.map(async (c) => [c, await unitName(c)])));
    taskForm = null; // the rows are redrawn: a form among them goes too
    EventView.tasks(ev, names, openTaskForm);
  }

  async function render() {
    await renderFacts();
    EventView.map(ev);
    renderActions();
    await renderTasks();
    EventView.timeline(ev, transitions);
    renderAttachments();
    document.body.dataset.version = String(ev.version);
  }

  /** The event is gone from the user's scope (or never was): say so, without empty sections. */
  function gone() {
    document.getElementById("ev-body").hidden = true;
    document.getElementById("ev-title").textContent = ZZ.t("event.missing_heading");
    ZZ.status(status, ZZ.t("event.missing", { id }), "error");
    document.body.dataset.missing = "true";
  }

  async function load() {
    try {
      ev = await ZZ.api("GET", `/api/v1/events/${id}`);
      await render();
      ZZ.status(status, "");
    } catch (e) {
      if (e.status === 404) gone();
      else ZZ.status(status, failed(e), "error");
    }
  }

  upload.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = document.getElementById("up-file").files[0];
    if (!file) {
      ZZ.status(upStatus, ZZ.t("form.required", { field: ZZ.t("event.upload") }), "error");
      return;
    }
    let send;
    try {
      send = await EventView.usablePhoto(file, maxBytes, maxMb);
    } catch (err) {
      ZZ.status(upStatus, err.message, "error");
      return;
    }
    const data = new FormData(upload);
    data.set("file", send, send.name);
    const button = document.getElementById("up-submit");
    button.disabled = true;
    ZZ.status(upStatus, ZZ.t("event.uploading"));
    try {
      await ZZ.api("POST", `/api/v1/events/${id}/attachments`, data);
      upload.reset();
      delete document.getElementById("up-kind").dataset.touched;
      await load();
      ZZ.status(upStatus, ZZ.t("event.uploaded", { name: file.name }), "ok");
    } catch (err) {
      if (err.status === 409) await load();
      ZZ.status(upStatus, failed(err), "error");
    } finally {
      button.disabled = false;
    }
  });

  try {
    const [list, t] = await Promise.all([ZZ.api("GET", "/api/v1/transitions"), ZZ.towns()]);
    transitions = Object.fromEntries(list.map((x) => [x.action, x]));
    towns = t;
  } catch (e) {
    ZZ.status(status, failed(e), "error");
  }
  await load();
  ZZ.live((msg) => {
    if (!ev) return;
    if ((msg.type === "change" && msg.id === id && msg.version !== ev.version) || msg.type !== "change" ||
        (msg.type === "change" && msg.id === id && ["attach", "note"].includes(msg.action))) {
      if (form.hidden && !taskForm) load(); // do not pull the page from under someone filling a form
      else ZZ.status(document.getElementById("f-status"), ZZ.t("event.new_version"));
    }
  });
});
