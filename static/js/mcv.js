// Progressive enhancement only: every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the error summary so screen reader and keyboard users hear what went wrong.
  const summary = document.querySelector(".error-summary");
  if (!summary) return;
  summary.focus();
  // Its links lead to the fields. A browser only scrolls to a link's target; put the
  // cursor in the field too, with its label or legend (the question) in view above it.
  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#']");
    const field = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!field || !field.matches("input, select, textarea")) return;
    event.preventDefault();
    const fieldset = field.closest("fieldset");
    const question = (fieldset && fieldset.querySelector("legend")) || document.querySelector(`label[for="${CSS.escape(field.id)}"]`);
    (question || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
});
