// Progressive enhancement only: replying and rating work without JavaScript.
// A reply box with data-maxlength says how many characters are left once the writer
// gets close to the limit, in words a screen reader announces (politely, not on every key).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("textarea[data-maxlength]").forEach((box) => {
    if (box.dataset.counted) return;
    box.dataset.counted = "1";
    const limit = Number(box.dataset.maxlength);
    const note = document.createElement("p");
    note.className = "hint";
    note.id = `${box.id}_count`;
    note.setAttribute("aria-live", "polite");
    box.insertAdjacentElement("afterend", note);
    const described = (box.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    box.setAttribute("aria-describedby", [...described, note.id].join(" "));
    const update = () => {
      const left = limit - box.value.length;
      note.textContent = left <= 200 ? `${left} character${left === 1 ? "" : "s"} left.` : "";
    };
    box.addEventListener("input", update);
    update();
  });
});
