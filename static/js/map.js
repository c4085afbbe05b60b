// Maps over the vendored Leaflet (static/vendor/). Progressive enhancement: every map
// sits beside a table, a text box or fields that say the same, and each page works
// without it. Data comes from json_script blocks and data- attributes, as CSP allows no
// inline script. Tiles are drawn only if the page passes data-tile-url (MAP_TILE_URL);
// otherwise shapes and pins go on the container's plain background (static/css/map.css)
// and the map asks nothing of any other site.
//
// <div data-map="areas|draw|pin" hidden ...>: see the modes at the bottom.
//
// Its helpers are lent to the other maps' scripts (alerts.js, cameras.js) as
// window.MCVMap: a page loads this file before them (all deferred, so in order).
(function () {
  "use strict";

  const UK = { center: [54.0, -2.5], zoom: 5 };
  const PLACES = 6; // decimal places of a degree: about 10 cm
  const STYLES = {
    force: { color: "#003a70", weight: 3, fillOpacity: 0.03 },
    district: { color: "#003a70", weight: 2, fillOpacity: 0.06 },
    ward: { color: "#1d4f91", weight: 2, fillOpacity: 0.12 },
    custom: { color: "#b3261e", weight: 3, fillOpacity: 0.18 },
  };
  const CHILD_STYLE = { color: "#0b0c0c", weight: 1.5, dashArray: "6 4", fillOpacity: 0 };
  const REFERENCE_STYLE = { color: "#484949", weight: 1, fill: false, interactive: false };

  function readJSON(id) {
    const el = id && document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function say(id, text) {
    const el = id && document.getElementById(id);
    if (el) el.textContent = text;
  }

  function reveal(el) {
    el.hidden = false;
    const hint = document.getElementById(el.getAttribute("aria-describedby"));
    if (hint) hint.hidden = false;
  }

  function createMap(el) {
    reveal(el); // before Leaflet measures it
    const map = L.map(el, { center: UK.center, zoom: UK.zoom, zoomSnap: 0.5 });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
    }
    return map;
  }

  function fit(map, layer, maxZoom) {
    const bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], maxZoom: maxZoom || 18 });
  }

  function addReference(el, map) {
    const data = readJSON(el.dataset.reference);
    return data ? L.geoJSON(data, { style: REFERENCE_STYLE, interactive: false }).addTo(map) : null;
  }

  // A popup built from text nodes: area names are never parsed as HTML.
  function popupFor(el, feature) {
    const p = feature.properties;
    const box = document.createElement("div");
    const title = document.createElement("p");
    const link = document.createElement("a");
    link.href = el.dataset.areaUrl.replace("/0/", `/${p.id}/`);
    link.textContent = p.name;
    title.appendChild(link);
    const count = document.createElement("p");
    count.textContent = `${p.member_count} member${p.member_count === 1 ? "" : "s"} living there`;
    box.append(title, count);
    return box;
  }

  function areaLayer(el, data, style) {
    return L.geoJSON(data, {
      style: style || ((feature) => STYLES[feature.properties.level] || STYLES.custom),
      onEachFeature: (feature, layer) => layer.bindPopup(() => popupFor(el, feature)),
    });
  }

  // "lat, lon" lines or GeoJSON, as the server reads them (groups/area_views.shape_from_text);
  // null if it cannot be read (the server then says why).
  function shapeFromText(text) {
    text = (text || "").trim();
    if (!text) return null;
    if (text[0] === "{") {
      try {
        let data = JSON.parse(text);
        if (data.type === "FeatureCollection") data = data.features && data.features[0];
        if (data && data.type === "Feature") data = data.geometry;
        return data && (data.type === "Polygon" || data.type === "MultiPolygon") ? data : null;
      } catch (e) {
        return null;
      }
    }
    const corners = [];
    for (const line of text.split(/\r?\n/)) {
      if (!line.trim()) continue;
      const m = line.match(/^\s*([-+]?[\d.]+)\s*[,;\s]\s*([-+]?[\d.]+)\s*$/);
      if (!m) return null;
      corners.push([parseFloat(m[2]), parseFloat(m[1])]);
    }
    if (corners.length < 3) return null;
    return { type: "Polygon", coordinates: [[...corners, corners[0]]] };
  }

  // One "lat, lon" line per corner of a drawn polygon (the ring's closing point left out).
  function textFromLayer(layer) {
    const ring = layer.getLatLngs()[0];
    return ring.map((p) => `${p.lat.toFixed(PLACES)}, ${p.lng.toFixed(PLACES)}`).join("\n");
  }

  window.MCVMap = Object.freeze({ PLACES, REFERENCE_STYLE, readJSON, say, reveal, createMap, fit });

  const MODES = {
    // The areas in a json_script block (data-geojson), and optionally the areas inside
    // them outlined (data-children). Each shape's popup links to its page.
    areas(el, map) {
      const main = areaLayer(el, readJSON(el.dataset.geojson)).addTo(map);
      const children = readJSON(el.dataset.children);
      if (children && children.features.length) areaLayer(el, children, CHILD_STYLE).addTo(map);
      fit(map, main);
    },

    // Leaflet.draw, polygons only, writing the corners into the Shape box
    // (data-shape-input); what is typed there is shown on the map in turn.
    draw(el, map) {
      const input = document.getElementById(el.dataset.shapeInput);
      const reference = addReference(el, map);
      const drawn = new L.FeatureGroup().addTo(map);
      map.addControl(
        new L.Control.Draw({
          position: "topleft",
          draw: {
            polygon: { allowIntersection: false, showArea: false, shapeOptions: STYLES.custom },
            polyline: false,
            rectangle: false,
            circle: false,
            circlemarker: false,
            marker: false,
          },
          edit: { featureGroup: drawn, remove: true },
        }),
      );
      const write = (layer) => {
        input.value = textFromLayer(layer);
        const corners = layer.getLatLngs()[0].length;
        say(el.dataset.status, `The shape has ${corners} corners; they are in the Shape box. Save the area to keep it.`);
      };
      const show = () => {
        drawn.clearLayers();
        const shape = shapeFromText(input.value);
        if (!shape) return;
        L.geoJSON(shape, { style: STYLES.custom }).eachLayer((layer) => drawn.addLayer(layer));
        fit(map, drawn);
      };
      map.on(L.Draw.Event.CREATED, (event) => {
        drawn.clearLayers();
        drawn.addLayer(event.layer);
        write(event.layer);
      });
      map.on(L.Draw.Event.EDITED, () => drawn.eachLayer(write));
      map.on(L.Draw.Event.DELETED, () => {
        if (drawn.getLayers().length) return;
        input.value = "";
        say(el.dataset.status, "The shape is removed.");
      });
      input.addEventListener("change", show);
      show();
      if (!drawn.getLayers().length && reference) fit(map, reference);
    },

    // A pin for where a resident lives: click or tap to put it, drag to move it, or
    // put it in the middle of the map with a button (keyboard users pan with the arrow
    // keys first). It writes the latitude and longitude fields, and follows them.
    pin(el, map) {
      const lat = document.getElementById(el.dataset.latitudeInput);
      const lon = document.getElementById(el.dataset.longitudeInput);
      const reference = addReference(el, map);
      let marker = null;
      const place = (latlng, announce) => {
        if (!marker) {
          marker = L.marker(latlng, { draggable: true, title: "Your pin", alt: "Your pin" }).addTo(map);
          marker.on("dragend", () => place(marker.getLatLng().wrap(), true));
        } else {
          marker.setLatLng(latlng);
        }
        if (announce) {
          lat.value = latlng.lat.toFixed(PLACES);
          lon.value = latlng.lng.toFixed(PLACES);
          say(el.dataset.status, `Pin put at latitude ${lat.value}, longitude ${lon.value}. Save your place to keep it.`);
        }
      };
      map.on("click", (event) => place(event.latlng.wrap(), true));
      const follow = () => {
        const la = parseFloat(lat.value);
        const lo = parseFloat(lon.value);
        if (Number.isFinite(la) && Number.isFinite(lo) && Math.abs(la) <= 90 && Math.abs(lo) <= 180) {
          place(L.latLng(la, lo), false);
          map.panTo([la, lo]);
        }
      };
      lat.addEventListener("change", follow);
      lon.addEventListener("change", follow);
      const centre = document.getElementById(el.dataset.centreButton);
      if (centre) {
        centre.hidden = false;
        centre.addEventListener("click", () => place(map.getCenter().wrap(), true));
      }
      const mine = readJSON(el.dataset.mine);
      const wards = mine && mine.features.length ? L.geoJSON(mine, { style: STYLES.ward, interactive: false }) : null;
      if (wards) wards.addTo(map);
      if (el.dataset.pin) {
        const [la, lo] = el.dataset.pin.split(",").map(parseFloat);
        place(L.latLng(la, lo), false);
        if (el.dataset.tileUrl) {
          map.setView([la, lo], 16); // streets to find your home by
        } else {
          // No streets to see: show the pin within its ward (or the districts) for bearings.
          const around = L.featureGroup([marker, ...(wards ? [wards] : reference ? [reference] : [])]);
          fit(map, around, 15);
        }
      } else if (reference) {
        fit(map, reference);
      }
    },
  };

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.L) return; // Leaflet did not load: the page works without the map
    for (const el of document.querySelectorAll("[data-map]")) {
      const mode = MODES[el.dataset.map];
      if (mode) mode(el, createMap(el));
    }
  });
})();
