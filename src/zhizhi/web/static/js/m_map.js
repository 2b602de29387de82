/* m_map.js — the small map of the phone page (m.js), with no map library: inline SVG of the worker's
   grid (or town) and its village's other grids, north up, metres equal both ways; tap or drag the pin,
   or move it with the arrow keys. One global, MMap; the GeoJSON helpers are plain functions of it. */
"use strict";

const MMap = (() => {
  const SVG = "http://www.w3.org/2000/svg";

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

  /** The map drawn in `svg` (hidden until show), its sentence in `note`. `inGrid`: the worker's area is
      a grid (the sentence then names the grid the pin fell in), else a town. `onPick(lon, lat)`: the
      pin was put or moved on the map (by pointer or arrow key), in degrees. Returns {show(area, near),
      place(at), gps(at, accuracy)}. */
  function create(svg, note, inGrid, onPick) {
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
      onPick(pin[0], pin[1]);
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
      onPick(pin[0], pin[1]);
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
  }

  return { contains, bounds, create };
})();
