// The camera register's maps and the footage upload check. Progressive enhancement:
// every map sits beside fields or a table that say the same, and every page works
// without it. Data comes from json_script blocks and data- attributes (CSP allows no
// inline script); tiles only when the page passes data-tile-url (MAP_TILE_URL).
//
// <div data-camera-map="pick|results|coverage" hidden ...>: see MODES below.
// <input type="file" data-max-bytes="N">: a file over N bytes is refused before it is sent.
// The maps use map.js's helpers (window.MCVMap): pages load map.js first.
(function () {
  "use strict";

  const { PLACES, readJSON, say, createMap, fit } = window.MCVMap || {}; // map.js, loaded first
  const OUTLINE = { color: "#003a70", weight: 2, fillOpacity: 0.04, interactive: false };
  const CIRCLE = { color: "#b3261e", weight: 2, fillOpacity: 0.08, interactive: false };
  // Light to dark blue: a ward with more cameras is darker (contrast against the
  // background increases with the count; the table says the numbers).
  const SHADES = ["#f1f5fa", "#c6d8ee", "#8fb3dd", "#4f86c6", "#1d4f91", "#0b2a55"];

  function text(tag, content) {
    const node = document.createElement(tag);
    node.textContent = content;
    return node;
  }

  const MODES = {
    // The incident's place: click or tap to put it (it fills the latitude and longitude
    // fields), and the circle follows the radius field. The organisation's area is outlined.
    pick(el, map) {
      const lat = document.getElementById(el.dataset.latitudeInput);
      const lon = document.getElementById(el.dataset.longitudeInput);
      const radius = document.getElementById(el.dataset.radiusInput);
      const outline = readJSON(el.dataset.outline);
      const area = outline && outline.features.length ? L.geoJSON(outline, { style: OUTLINE }).addTo(map) : null;
      let marker = null;
      let circle = null;
      const draw = () => {
        const la = parseFloat(lat.value);
        const lo = parseFloat(lon.value);
        const metres = parseFloat(radius.value) || 500;
        if (!Number.isFinite(la) || !Number.isFinite(lo) || Math.abs(la) > 90 || Math.abs(lo) > 180) return false;
        const at = L.latLng(la, lo);
        if (!marker) {
          marker = L.marker(at, { title: "The incident", alt: "The incident" }).addTo(map);
          circle = L.circle(at, { ...CIRCLE, radius: metres }).addTo(map);
        } else {
          marker.setLatLng(at);
          circle.setLatLng(at);
          circle.setRadius(metres);
        }
        return true;
      };
      map.on("click", (event) => {
        const at = event.latlng.wrap();
        lat.value = at.lat.toFixed(PLACES);
        lon.value = at.lng.toFixed(PLACES);
        draw();
        say(el.dataset.status, `Incident put at latitude ${lat.value}, longitude ${lon.value}.`);
      });
      for (const input of [lat, lon, radius]) input.addEventListener("change", draw);
      if (draw()) {
        fit(map, circle, 16);
      } else if (area) {
        fit(map, area);
      }
    },

    // The cameras a search found, and its circle. Popups are built from text nodes.
    results(el, map) {
      const data = readJSON(el.dataset.results);
      const centre = L.latLng(data.centre[1], data.centre[0]);
      const circle = L.circle(centre, { ...CIRCLE, radius: data.radius }).addTo(map);
      const group = L.featureGroup([circle]);
      data.cameras.forEach((camera, index) => {
        const marker = L.marker([camera.latitude, camera.longitude], {
          title: `Camera ${index + 1}: ${camera.kind_label}`,
          alt: `Camera ${index + 1}`,
        });
        marker.bindPopup(() => {
          const box = document.createElement("div");
          box.append(
            text("p", `Camera ${index + 1}: ${camera.kind_label}, ${camera.distance_m} m away`),
            text("p", camera.covers ? `Covers: ${camera.covers}` : "No description of what it covers."),
            text("p", `Keeps footage ${camera.retention_days} days${camera.lapsed ? " (may be overwritten)" : ""}`),
          );
          return box;
        });
        group.addLayer(marker);
      });
      group.addTo(map);
      fit(map, group, 17);
    },

    // Registered cameras per ward, shaded by count (counts only: no camera is drawn).
    coverage(el, map) {
      const data = readJSON(el.dataset.geojson);
      const counts = data.features.map((f) => f.properties.registered);
      const top = Math.max(1, ...counts);
      const shade = (n) => (n === 0 ? SHADES[0] : SHADES[Math.min(SHADES.length - 1, 1 + Math.floor(((SHADES.length - 2) * n) / top))]);
      const layer = L.geoJSON(data, {
        style: (f) => ({ color: "#484949", weight: 1, fillColor: shade(f.properties.registered), fillOpacity: 0.85 }),
        onEachFeature: (f, shape) =>
          shape.bindPopup(() => {
            const box = document.createElement("div");
            box.append(
              text("p", f.properties.name),
              text("p", `${f.properties.registered} registered, ${f.properties.findable} can be asked`),
            );
            return box;
          }),
      }).addTo(map);
      fit(map, layer);
      const legend = document.getElementById(el.dataset.legend);
      if (legend) {
        legend.hidden = false;
        legend.append(text("span", "Fewer cameras"));
        for (const colour of SHADES) {
          const swatch = document.createElement("span");
          swatch.className = "swatch";
          swatch.dataset.colour = colour;
          swatch.setAttribute("aria-hidden", "true");
          legend.append(swatch);
        }
        legend.append(text("span", "more"));
        // CSP forbids inline styles in the markup, not styles set from script.
        for (const swatch of legend.querySelectorAll(".swatch")) swatch.style.background = swatch.dataset.colour;
      }
    },
  };

  // A file bigger than the limit is refused here, before minutes of uploading end in an error.
  function guardUploads() {
    for (const input of document.querySelectorAll("input[type=file][data-max-bytes]")) {
      const limit = Number(input.dataset.maxBytes);
      const form = input.form;
      const status = document.getElementById("upload-status");
      const check = () => {
        const file = input.files && input.files[0];
        const tooBig = Boolean(file && file.size > limit);
        input.setCustomValidity(tooBig ? "The file is too big." : "");
        if (status) {
          status.textContent = tooBig
            ? `This file is ${(file.size / 1048576).toFixed(0)} MB: the limit is ${(limit / 1048576).toFixed(0)} MB. Choose a shorter clip.`
            : "";
        }
        return !tooBig;
      };
      input.addEventListener("change", check);
      if (form) {
        form.addEventListener("submit", (event) => {
          if (!check()) {
            event.preventDefault();
            input.focus();
            return;
          }
          if (input.files && input.files.length && status) status.textContent = "Uploading your file: keep this page open.";
        });
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    guardUploads();
    if (!window.L || !window.MCVMap) return; // Leaflet or map.js did not load: the page works without the maps
    for (const el of document.querySelectorAll("[data-camera-map]")) {
      const mode = MODES[el.dataset.cameraMap];
      if (mode) mode(el, createMap(el));
    }
  });
})();
