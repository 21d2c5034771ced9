// The web desk's only script: keeps the count of new reports in the title and the menu
// current (server-sent events from /events), and reloads the new-reports list when it
// changes. Without it every page still works; it only saves a reload.
"use strict";
(() => {
  const body = document.body;
  let shown = Number(body.dataset.new || 0);
  const events = new EventSource("/events");
  events.addEventListener("count", (e) => {
    const count = Number(e.data);
    document.title = (count > 0 ? `(${count}) ` : "") + document.title.replace(/^\(\d+\) /, "");
    const link = document.querySelector('nav a[href="/cases?show=new"]');
    if (link) {
      let badge = link.querySelector(".count");
      if (count > 0 && !badge) {
        badge = document.createElement("span");
        badge.className = "count";
        link.append(" ", badge);
      }
      if (badge) {
        if (count > 0) badge.textContent = String(count);
        else badge.remove();
      }
    }
    if (body.dataset.live === "new" && count !== shown) {
      shown = count;
      location.reload();
    }
  });
})();
