"""Benchmark: create-event latency of the real server against a bare FastAPI app, at a fixed rate.

What runs, in one run, on loopback (127.0.0.1) only:

1. a temporary SQLite file migrated to head and loaded with Yongchuan;
2. ``zhizhi serve`` as a subprocess on a free port, on that database (``ZHIZHI_DATABASE_URL``);
3. a bare FastAPI app served by uvicorn in a second subprocess (this script with ``--bare-server``):
   one ``POST /api/v1/events`` that parses the JSON body and returns, with status 201, the very JSON a
   real create-event response gave (captured from the zhizhi server first);
4. an asyncio httpx client drives each server in turn at a fixed ``--rate`` (default 200 requests/s)
   for ``--seconds`` (default 20; full size 60) after ``--warmup`` seconds, open loop: request i is
   sent at t0 + i/rate whatever the earlier ones are doing, and its latency is counted from that
   scheduled time (so a server that falls behind is not hidden, no coordinated omission). At most
   ``--max-inflight`` requests are outstanding; a request that would exceed it is counted as skipped.

Each request is ``POST /api/v1/events`` with header ``X-Zhizhi-User: 500118.duty`` and a body like
``{"category_code":"0101","title":"…","lon":105.898213,"lat":29.352365}``: the first body is exactly
that, the others use GENERATED points uniform inside Yongchuan's generated grids and real catalogue
leaves, so the similar-event merge check (same category within 50 m and 24 h) sees realistic data.
``--same-body`` sends the one example body every time instead (every event then is a merge candidate
of every earlier one).

Printed: p50/p90/p99/max latency in ms, achieved rate, errors, and the ratio zhizhi/bare.
Goals: p99 < 20 ms and p99 ratio <= 2.

    .venv/bin/python bench/api.py                  # 200 req/s for 20 s
    .venv/bin/python bench/api.py --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

USER = "500118.duty"
EXAMPLE = {"category_code": "0101", "title": "生成事件 人行道暴露垃圾 (benchmark)", "lon": 105.898213,
           "lat": 29.352365}
GOAL_P99_MS = 20.0
GOAL_RATIO = 2.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200; raises RuntimeError if the process dies or time runs out."""
    import httpx

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready at {url} after {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server this script started (by its handle), then kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def make_bodies(engine: Any, n: int, seed: int, same: bool) -> list[bytes]:
    """``n`` JSON bodies: the example first, then GENERATED ones (see module docstring)."""
    from _common import grids, leaf_codes, points_in_grids

    if same:
        return [json.dumps(EXAMPLE, ensure_ascii=False).encode()] * n
    rng = np.random.default_rng(seed)
    _, lon, lat = points_in_grids(grids(engine), n, rng)
    codes = leaf_codes()
    cat = rng.integers(0, len(codes), n)
    out = [json.dumps(EXAMPLE, ensure_ascii=False).encode()]
    for i in range(1, n):
        out.append(json.dumps({"category_code": codes[cat[i]], "title": f"生成事件 {i} (benchmark)",
                               "lon": round(float(lon[i]), 6), "lat": round(float(lat[i]), 6)},
                              ensure_ascii=False).encode())
    return out


async def drive(base: str, bodies: list[bytes], rate: float, seconds: float, warmup: float,
                max_inflight: int) -> dict[str, Any]:
    """Open-loop load: ``rate`` POSTs per second for ``warmup + seconds``; statistics over the last
    ``seconds`` only. Returns latencies (ms, from the scheduled send time) and counts."""
    import httpx

    n_warm = int(warmup * rate)
    total = n_warm + int(seconds * rate)
    lat_ms: list[float] = []
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    skipped = 0
    inflight = 0
    headers = {"X-Zhizhi-User": USER, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=max_inflight, max_keepalive_connections=max_inflight)
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:

        async def one(i: int, due: float) -> None:
            nonlocal inflight
            try:
                r = await client.post("/api/v1/events", content=bodies[i % len(bodies)], headers=headers)
                if i >= n_warm:
                    lat_ms.append((loop.time() - due) * 1000.0)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            except httpx.HTTPError as e:
                if i >= n_warm:
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
            finally:
                inflight -= 1

        tasks = []
        t0 = loop.time() + 0.05
        measured_start = t0 + n_warm / rate
        for i in range(total):
            due = t0 + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if inflight >= max_inflight:
                skipped += i >= n_warm
                continue
            inflight += 1
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - measured_start
    a = np.array(lat_ms) if lat_ms else np.array([np.nan])
    return {"sent": total - n_warm - skipped, "done": len(lat_ms), "skipped": skipped, "statuses": statuses,
            "errors": errors, "rate": len(lat_ms) / elapsed if elapsed > 0 else 0.0,
            "p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "max": float(np.max(a)), "mean": float(np.mean(a))}


def bare_server(port: int, response_file: Path) -> None:
    """Serve the bare app: POST /api/v1/events parses the JSON body and returns the captured JSON."""
    import uvicorn
    from fastapi import Body, FastAPI
    from fastapi.responses import Response

    canned = response_file.read_bytes()
    app = FastAPI()

    @app.post("/api/v1/events", status_code=201)
    def create(body: dict[str, Any] = Body(...)) -> Response:
        return Response(canned, status_code=201, media_type="application/json",
                        headers={"Location": "/api/v1/events/1"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def zhizhi_command() -> list[str]:
    """The ``zhizhi`` console script of this interpreter's environment (or the CLI through -c)."""
    script = Path(sys.executable).with_name("zhizhi")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from zhizhi.cli import main; main()"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second (open loop)")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per server (full: 60)")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds sent first and not counted")
    ap.add_argument("--max-inflight", type=int, default=256, help="bound on outstanding requests")
    ap.add_argument("--same-body", action="store_true", help="send the one example body every time")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--response", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.bare_server:
        bare_server(a.port, a.response)
        return 0

    import httpx
    from _common import Stopwatch, machine, migrated_engine, table
    from _common import temp_dir as make_temp_dir

    print(f"bench/api.py  rate={a.rate:g}/s  seconds={a.seconds:g} (+{a.warmup:g} warm-up)  "
          f"machine: {machine()}")
    procs: list[subprocess.Popen[bytes]] = []
    with make_temp_dir() as d:
        try:
            with Stopwatch() as sw:
                eng = migrated_engine(d / "api.db")
                n_bodies = int((a.seconds + a.warmup) * a.rate) + 1
                bodies = make_bodies(eng, n_bodies, a.seed, a.same_body)
                eng.dispose()
            print(f"set-up: migrated + Yongchuan loaded, {len(bodies):,} bodies in {sw.seconds:.1f} s")

            env = {**os.environ, "ZHIZHI_TRUST_USER_HEADER": "1",  # acts as 500118.duty, no sign-in
                   "ZHIZHI_DATABASE_URL": f"sqlite:///{d / 'api.db'}",
                   "ZHIZHI_DATA_DIR": str(d / "data")}
            zport, bport = free_port(), free_port()
            zurl, burl = f"http://127.0.0.1:{zport}", f"http://127.0.0.1:{bport}"
            procs.append(subprocess.Popen([*zhizhi_command(), "serve", "--host", "127.0.0.1",
                                           "--port", str(zport)], env=env, stdout=subprocess.DEVNULL))
            wait_ready(f"{zurl}/healthz", procs[-1])
            r = httpx.post(f"{zurl}/api/v1/events", content=bodies[0],
                           headers={"X-Zhizhi-User": USER, "Content-Type": "application/json"})
            if r.status_code != 201:
                raise RuntimeError(f"create-event answered {r.status_code}: {r.text[:500]}")
            (d / "response.json").write_bytes(r.content)
            print(f"zhizhi create-event response ({len(r.content)} bytes): {r.text[:160]}…")
            bare_cmd = [sys.executable, __file__, "--bare-server", "--port", str(bport),
                        "--response", str(d / "response.json")]
            procs.append(subprocess.Popen(bare_cmd, stdout=subprocess.DEVNULL))
            wait_ready(f"{burl}/healthz", procs[-1])

            results = {}
            for name, url in (("zhizhi serve (create event)", zurl), ("bare FastAPI (canned JSON)", burl)):
                results[name] = asyncio.run(drive(url, bodies[1:], a.rate, a.seconds, a.warmup,
                                                  a.max_inflight))
        finally:
            for p in procs:
                stop(p)

        z, b = results["zhizhi serve (create event)"], results["bare FastAPI (canned JSON)"]
        rows: list[tuple[str, ...]] = [
            ("server", "done", "rate/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "statuses", "skipped")]
        for name, res in results.items():
            st = " ".join(f"{k}:{v}" for k, v in sorted(res["statuses"].items()))
            st += "".join(f" {k}:{v}" for k, v in res["errors"].items())
            rows.append((name, f"{res['done']:,}", f"{res['rate']:.1f}", f"{res['p50']:.1f}",
                         f"{res['p90']:.1f}", f"{res['p99']:.1f}", f"{res['max']:.1f}", st,
                         str(res["skipped"])))
        ratios = [f"{z[k] / b[k]:.2f}x" for k in ("p50", "p90", "p99", "max")]
        rows.append(("ratio zhizhi/bare", "", "", *ratios, "", ""))
        print()
        print(table(rows))
        ok_p99 = z["p99"] < GOAL_P99_MS
        ok_ratio = z["p99"] / b["p99"] <= GOAL_RATIO
        print(f"goal p99 < {GOAL_P99_MS:g} ms: {'MET' if ok_p99 else 'MISSED'}; "
              f"goal p99 <= {GOAL_RATIO:g}x bare: {'MET' if ok_ratio else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
