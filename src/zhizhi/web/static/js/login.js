/* login.js — the sign-in form: POST /api/v1/auth/login, keep the CSRF token, go on. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const status = document.getElementById("login-status");
  const homes = { grid_worker: "/m", grid_leader: "/m", leader: "/screen" };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      ZZ.status(status, ZZ.t("failed"), "error");
      (username ? form.password : form.username).focus();
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
        ZZ.status(status, ZZ.t(r.status === 429 ? "too_many" : "failed"), "error");
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
