// Embeds a CRM Hub booking page in another site. The snippet (shown on the Meetings page):
//
//   <script src="https://hub.example/static/embed.js" data-hub-booking="https://hub.example/book/alice/embed" async></script>
//
// puts an iframe of the booking page where the script tag is, keeps it as tall as its content, and
// passes the page's `booked` message on as a `hub:booked` DOM event on the iframe (it bubbles), so the
// site can react: frame.addEventListener / document.addEventListener("hub:booked", e => e.detail.start).
// The page itself posts `booked` to window too, for sites listening to "message" events.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.hubBooking) { return; }
  var src = new URL(script.dataset.hubBooking, window.location.href);
  var frame = document.createElement("iframe");
  frame.src = src.href;
  frame.title = script.dataset.title || "Book a time";
  frame.className = "hub-booking-frame";
  frame.setAttribute("style", "width:100%;border:0;min-height:480px;height:640px;");
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== src.origin || event.source !== frame.contentWindow || !event.data) { return; }
    if (event.data.type === "hub:resize" && event.data.height > 0) {
      frame.style.height = Math.min(event.data.height, 5000) + "px";
    } else if (event.data.type === "booked") {
      frame.dispatchEvent(new CustomEvent("hub:booked", { bubbles: true, detail: event.data }));
    }
  });
})();
