// Surveys: progressive enhancement only. Every page works without it: questions shown
// only after an earlier answer carry a hint saying so, questions move with Up and Down
// buttons, and charts are SVG files anyone can download.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // Questions shown only when an earlier answer was chosen: hidden (and left out of
  // what is sent) until it is. Chains work: a hidden question's answers count as none.
  function conditions(form) {
    const blocks = Array.from(form.querySelectorAll("[data-condition-question]"));
    if (!blocks.length) return;
    const chosen = (questionId) => {
      const block = document.getElementById(`question-${questionId}`);
      if (block && block.hidden) return [];
      return Array.from(form.querySelectorAll(`[name="q${questionId}"]:checked`)).map((el) => el.value);
    };
    const update = () => {
      for (const block of blocks) {
        const wanted = block.dataset.conditionOptions.split(",");
        const show = chosen(block.dataset.conditionQuestion).some((v) => wanted.includes(v));
        block.hidden = !show;
        for (const input of block.querySelectorAll("input, select, textarea")) input.disabled = !show;
      }
    };
    form.addEventListener("change", update);
    update();
  }

  // "123 characters left" under a free-text answer.
  function counters(form) {
    for (const area of form.querySelectorAll("textarea[data-counter]")) {
      const hint = document.getElementById(area.dataset.counter);
      const limit = parseInt(area.getAttribute("maxlength"), 10);
      if (!hint || !limit) continue;
      const update = () => {
        const left = limit - area.value.length;
        hint.textContent = `${left} character${left === 1 ? "" : "s"} left of ${limit}.`;
      };
      area.addEventListener("input", update);
      update();
    }
  }

  // Drag a question by its handle to a new place; the new order is saved at once.
  function dragOrder(list) {
    let dragged = null;
    const status = document.getElementById(list.dataset.orderStatus);
    for (const item of list.querySelectorAll(".question-item")) {
      const handle = item.querySelector(".drag-handle");
      if (!handle) continue;
      handle.addEventListener("mousedown", () => { item.draggable = true; });
      item.addEventListener("dragstart", (event) => {
        dragged = item;
        item.classList.add("is-dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.dataset.id);
      });
      item.addEventListener("dragend", () => {
        item.draggable = false;
        item.classList.remove("is-dragging");
        for (const el of list.querySelectorAll(".is-drop-target")) el.classList.remove("is-drop-target");
      });
      item.addEventListener("dragover", (event) => {
        if (!dragged || dragged === item) return;
        event.preventDefault();
        item.classList.add("is-drop-target");
      });
      item.addEventListener("dragleave", () => item.classList.remove("is-drop-target"));
      item.addEventListener("drop", (event) => {
        event.preventDefault();
        if (!dragged || dragged === item) return;
        list.insertBefore(dragged, item);
        save();
      });
    }

    function save() {
      const body = new FormData();
      for (const item of list.querySelectorAll(".question-item")) body.append("order", item.dataset.id);
      fetch(list.dataset.orderUrl, { method: "POST", body, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
        .then((response) => response.json().then((data) => ({ ok: response.ok, data })))
        .then(({ ok, data }) => {
          if (status) status.textContent = ok ? "The new order is saved." : data.detail;
          // The page is drawn again so that the Up and Down buttons match the new order.
          window.location.reload();
        })
        .catch(() => { if (status) status.textContent = "The new order could not be saved. Use the Up and Down buttons."; });
    }
  }

  // A chart's PNG, drawn in the browser from the server's SVG (no library, nothing fetched elsewhere).
  function pngButtons() {
    for (const button of document.querySelectorAll(".png-button[data-svg-url]")) {
      if (button.dataset.ready) continue;
      button.dataset.ready = "1";
      button.hidden = false;
      button.addEventListener("click", () => {
        fetch(button.dataset.svgUrl, { credentials: "same-origin" })
          .then((response) => response.text())
          .then((svg) => {
            const image = new Image();
            image.onload = () => {
              const scale = 2;
              const canvas = document.createElement("canvas");
              canvas.width = image.width * scale;
              canvas.height = image.height * scale;
              const context = canvas.getContext("2d");
              context.fillStyle = "#ffffff";
              context.fillRect(0, 0, canvas.width, canvas.height);
              context.scale(scale, scale);
              context.drawImage(image, 0, 0);
              canvas.toBlob((blob) => {
                const link = document.createElement("a");
                link.href = URL.createObjectURL(blob);
                link.download = button.dataset.filename;
                document.body.appendChild(link);
                link.click();
                link.remove();
                setTimeout(() => URL.revokeObjectURL(link.href), 1000);
              }, "image/png");
            };
            image.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(svg)));
          });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("form.survey-form")) {
      conditions(form);
      counters(form);
    }
    for (const list of document.querySelectorAll(".question-list[data-order-url]")) dragOrder(list);
    pngButtons();
  });
  // The live results are swapped in by htmx: their PNG buttons need wiring too.
  document.addEventListener("htmx:afterSwap", pngButtons);
})();
