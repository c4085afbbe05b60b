// The compose page's map: draw who an alert is for (shapes and circles, each sent to or
// left out), over the vendored Leaflet and Leaflet.draw. Progressive enhancement: without
// it the page offers area and group checkboxes and a typed list of corners and a typed
// circle, and a "Check the audience" button. The drawn shapes live in the form's hidden
// `shapes` field as JSON ([{"polygon": GeoJSON} | {"radius": {lon, lat, metres}}, each with
// "exclude"]); after each change an `audience-changed` event asks htmx for a fresh count.
// It uses map.js's helpers (window.MCVMap): the page loads map.js first.
(function () {
  "use strict";

  const { PLACES, REFERENCE_STYLE, readJSON, say, createMap, fit } = window.MCVMap || {}; // map.js, loaded first
  const SEND = { color: "#00703c", weight: 3, dashArray: null, fillOpacity: 0.18 };
  const LEAVE_OUT = { color: "#b3261e", weight: 3, dashArray: "8 6", fillOpacity: 0.08 };

  function round(value) {
    return Number(value.toFixed(PLACES));
  }

  function describe(shape) {
    if (shape.radius) {
      const c = shape.radius;
      return `A circle of ${Math.round(c.metres).toLocaleString("en-GB")} m around latitude ${c.lat.toFixed(4)}, longitude ${c.lon.toFixed(4)}`;
    }
    const rings = shape.polygon.type === "MultiPolygon" ? shape.polygon.coordinates : [shape.polygon.coordinates];
    const corners = rings.reduce((n, polygon) => n + Math.max(polygon[0].length - 1, 0), 0);
    return `A shape drawn with ${corners} corners`;
  }

  function setUp(el) {
    const input = document.getElementById(el.dataset.shapesInput);
    const list = document.getElementById(el.dataset.shapeList);

    const map = createMap(el);
    const referenceData = readJSON(el.dataset.reference);
    const reference = referenceData && referenceData.features.length
      ? L.geoJSON(referenceData, { style: REFERENCE_STYLE, interactive: false }).addTo(map)
      : null;

    const drawn = new L.FeatureGroup().addTo(map);
    const entries = []; // {layer, exclude}, in the order drawn

    map.addControl(
      new L.Control.Draw({
        position: "topleft",
        draw: {
          polygon: { allowIntersection: false, showArea: false, shapeOptions: SEND },
          circle: { showRadius: true, metric: true, shapeOptions: SEND },
          polyline: false,
          rectangle: false,
          circlemarker: false,
          marker: false,
        },
        edit: { featureGroup: drawn, remove: true },
      }),
    );

    function toShape(entry) {
      const layer = entry.layer;
      if (layer instanceof L.Circle) {
        const centre = layer.getLatLng().wrap();
        return {
          radius: { lon: round(centre.lng), lat: round(centre.lat), metres: Math.max(1, Math.round(layer.getRadius())) },
          exclude: entry.exclude,
        };
      }
      return { polygon: layer.toGeoJSON(PLACES).geometry, exclude: entry.exclude };
    }

    function checkbox(entry, number) {
      const box = document.createElement("span");
      box.className = "checkbox";
      const tick = document.createElement("input");
      tick.type = "checkbox";
      tick.id = `shape-exclude-${number}`;
      tick.checked = entry.exclude;
      const label = document.createElement("label");
      label.htmlFor = tick.id;
      label.textContent = `Leave shape ${number} out`;
      tick.addEventListener("change", (event) => {
        // Not the form's own change (which would count twice): sync() asks for the count.
        event.stopPropagation();
        entry.exclude = tick.checked;
        sync(`Shape ${number} is ${entry.exclude ? "left out" : "sent to"}.`, tick.id);
      });
      box.append(tick, label);
      return box;
    }

    function removeButton(entry, number) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button button-small button-secondary";
      button.textContent = `Remove shape ${number}`;
      button.addEventListener("click", () => {
        drawn.removeLayer(entry.layer);
        entries.splice(entries.indexOf(entry), 1);
        sync(`Shape ${number} is removed.`);
      });
      return button;
    }

    function renderList(focusId) {
      list.replaceChildren();
      if (!entries.length) {
        const none = document.createElement("li");
        none.textContent = "None.";
        list.append(none);
      }
      entries.forEach((entry, i) => {
        const number = i + 1;
        const item = document.createElement("li");
        const text = document.createElement("span");
        text.textContent = `${number}. ${describe(toShape(entry))}: ${entry.exclude ? "left out" : "sent to"}. `;
        item.append(text, checkbox(entry, number), removeButton(entry, number));
        list.append(item);
      });
      if (focusId) {
        const again = document.getElementById(focusId);
        if (again) again.focus();
      }
    }

    function sync(announce, focusId) {
      input.value = entries.length ? JSON.stringify(entries.map(toShape)) : "";
      entries.forEach((entry) => entry.layer.setStyle(entry.exclude ? LEAVE_OUT : SEND));
      renderList(focusId);
      if (announce) say(el.dataset.status, announce);
      document.body.dispatchEvent(new Event("audience-changed"));
    }

    map.on(L.Draw.Event.CREATED, (event) => {
      drawn.addLayer(event.layer);
      entries.push({ layer: event.layer, exclude: false });
      const number = entries.length;
      sync(`Shape ${number} is drawn and sent to. It is listed below the map, where you can leave it out instead.`);
    });
    map.on(L.Draw.Event.EDITED, () => sync("The shapes are changed."));
    map.on(L.Draw.Event.DELETED, (event) => {
      event.layers.eachLayer((layer) => {
        const at = entries.findIndex((entry) => entry.layer === layer);
        if (at >= 0) entries.splice(at, 1);
      });
      sync("The shapes are removed.");
    });

    // The shapes saved with a draft (or sent back with a form that had errors).
    let saved = [];
    try {
      saved = input.value ? JSON.parse(input.value) : [];
    } catch (e) {
      saved = [];
    }
    for (const shape of saved) {
      let layer = null;
      if (shape.radius) {
        layer = L.circle([shape.radius.lat, shape.radius.lon], { radius: shape.radius.metres, ...SEND });
      } else if (shape.polygon) {
        L.geoJSON(shape.polygon).eachLayer((l) => {
          layer = l;
        });
      }
      if (layer) {
        drawn.addLayer(layer);
        entries.push({ layer, exclude: Boolean(shape.exclude) });
      }
    }
    entries.forEach((entry) => entry.layer.setStyle(entry.exclude ? LEAVE_OUT : SEND));
    renderList();

    const bbox = readJSON(el.dataset.bbox);
    if (drawn.getLayers().length) {
      fit(map, drawn, 16);
    } else if (bbox) {
      map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]], { padding: [16, 16] });
    } else if (reference) {
      map.fitBounds(reference.getBounds(), { padding: [16, 16] });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.L || !L.Control || !L.Control.Draw || !window.MCVMap) return; // the page works without the map
    for (const el of document.querySelectorAll("[data-alerts-map]")) setUp(el);
  });
})();
