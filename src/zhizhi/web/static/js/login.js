/* login.js — the sign-in form: POST /api/v1/auth/login, keep the CSRF token, go on. Empty fields are
   caught here (no request); a locked account is told for how long (problem code auth.locked). */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const status = document.getElementById("login-status");
  const homes = { grid_worker: "/m", grid_leader: "/m", leader: "/screen" };
  const fields = [[form.username, "need_username"], [form.password, "need_password"]];
  for (const [input] of fields) {
    input.addEventListener("input", () => {
      input.setCustomValidity("");
      input.removeAttribute("aria-invalid");
    });
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const username = form.username.value.trim();
    const password = form.password.value;
    for (const [input, key] of fields) {
      if (input === form.username ? username : password) continue;
      input.setCustomValidity(ZZ.t(key));
      input.setAttribute("aria-invalid", "true");
      ZZ.status(status, ZZ.t(key), "error");
      input.focus();
      input.reportValidity();
      return;
    }
    ZZ.status(status, ZZ.t("signing_in"));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const r = await fetch("/api/v1/auth/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ username, password }),
      });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        let text = ZZ.t("failed");
        if (r.status === 429) text = ZZ.t("too_many", { seconds: body.retry_after || 60 });
        else if (body.code) text = ZZ.problem({ body, message: text });
        ZZ.status(status, text, "error");
        form.password.value = "";
        form.password.focus();
        return;
      }
      const data = await r.json();
      sessionStorage.clear();
      sessionStorage.setItem("zz_csrf", data.csrf_token);
      location.assign(form.dataset.next || homes[data.user.role] || "/console");
    } catch (err) {
      ZZ.status(status, ZZ.t("error.network"), "error");
    } finally {
      button.disabled = false;
    }
  });
});
