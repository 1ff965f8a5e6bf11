// CRM Hub's few live parts, in plain JavaScript (no build step):
// confirmation dialogs, copy buttons, the initial-sync progress bars, the booking page's time zone,
// the IMAP preset switch, the booking confirmation's video link, and an embedded booking page's messages
// to the page that frames it (its height, and `booked`; see embed.js).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // <button data-dialog="id"> opens <dialog id="id">; [data-close] inside closes it.
  function dialogs() {
    document.querySelectorAll("[data-dialog]").forEach(function (button) {
      button.addEventListener("click", function () {
        var dialog = document.getElementById(button.dataset.dialog);
        if (dialog && dialog.showModal) { dialog.showModal(); }
        else if (dialog && window.confirm(dialog.textContent.trim())) { dialog.querySelector("form").submit(); }
      });
    });
    document.querySelectorAll("dialog [data-close]").forEach(function (button) {
      button.addEventListener("click", function () { button.closest("dialog").close(); });
    });
  }

  // <button data-copy="#selector"> copies the element's text.
  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.querySelector(button.dataset.copy);
        var text = source ? source.textContent.trim() : "";
        var done = function () { var old = button.textContent; button.textContent = "Copied"; setTimeout(function () { button.textContent = old; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
        } else { fallbackCopy(text); done(); }
      });
    });
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more we can do */ }
    document.body.removeChild(area);
  }

  function formatCount(n) { return Number(n).toLocaleString("en-US"); }

  // [data-progress-url]: poll the API's sync-status until every folder finished its initial sync.
  function progressBars() {
    document.querySelectorAll("[data-progress-url]").forEach(function (box) {
      if (box.hasAttribute("data-finished")) { return; }
      var poll = function () {
        fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data) { setTimeout(poll, 5000); return; }
            renderProgress(box, data);
            if (data.finished && data.folders.length) { box.setAttribute("data-finished", ""); }
            else { setTimeout(poll, 1000); }
          })
          .catch(function () { setTimeout(poll, 5000); });
      };
      setTimeout(poll, 500);
    });
  }

  function renderProgress(box, data) {
    var waiting = box.querySelector(".waiting");
    if (waiting && data.folders.length) { waiting.remove(); }
    data.folders.forEach(function (f) {
      var row = box.querySelector('[data-folder="' + f.folder + '"]');
      if (!row) {
        row = document.createElement("div");
        row.className = "folder"; row.dataset.folder = f.folder;
        row.innerHTML = '<span class="folder-name"></span> <progress max="100"></progress> <span class="progress-text"></span>';
        row.querySelector(".folder-name").textContent = f.folder.charAt(0).toUpperCase() + f.folder.slice(1);
        box.appendChild(row);
      }
      row.querySelector("progress").value = f.percent;
      row.querySelector(".progress-text").textContent = f.finished
        ? "Initial sync complete (" + formatCount(f.done) + " messages)"
        : (f.total ? formatCount(f.done) + " of " + formatCount(f.total) + " messages" : formatCount(f.done) + " messages…");
    });
    var card = box.closest("[data-account]");
    var badge = card && card.querySelector("[data-status]");
    if (badge) { badge.textContent = data.status.charAt(0).toUpperCase() + data.status.slice(1); badge.className = "badge " + data.status; }
  }

  // The booking page: show times in the guest's zone (once), and let them pick another.
  function bookingZone() {
    var page = document.querySelector("[data-booking-page]");
    if (!page) { return; }
    var params = new URLSearchParams(window.location.search);
    var guess = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!params.get("tz") && guess && guess !== page.dataset.zone) {
      params.set("tz", guess);
      window.location.replace(window.location.pathname + "?" + params.toString());
      return;
    }
    var select = page.querySelector("[data-tz-select]");
    if (select && Intl.supportedValuesOf) {
      var current = select.value;
      Intl.supportedValuesOf("timeZone").forEach(function (zone) {
        if (zone !== current) { var o = document.createElement("option"); o.textContent = zone; select.appendChild(o); }
      });
      select.addEventListener("change", function () { select.form.submit(); });
    }
  }

  // The booking confirmation: the video link appears once the host's calendar created it.
  function videoLink() {
    var box = document.querySelector("[data-status-url]");
    if (!box || box.hasAttribute("data-done") || !document.getElementById("video-pending")) { return; }
    var tries = 0;
    var poll = function () {
      fetch(box.dataset.statusUrl, { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.video_url) {
            var pending = document.getElementById("video-pending");
            var link = document.createElement("a");
            link.id = "video-link"; link.href = data.video_url; link.rel = "noopener"; link.textContent = data.video_url;
            pending.replaceWith(link);
          } else if (++tries < 60) { setTimeout(poll, 1000); }
        })
        .catch(function () { if (++tries < 60) { setTimeout(poll, 2000); } });
    };
    poll();
  }

  // <form data-confirm="question"> asks before it submits (no inline handlers: the CSP forbids them).
  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }

  // A form's preset select (IMAP): fold the server settings away unless "custom" is chosen.
  function presets() {
    document.querySelectorAll("select[data-preset]").forEach(function (select) {
      var details = select.form.querySelector("details.server-settings");
      if (!details) { return; }
      select.addEventListener("change", function () { details.open = !select.value || select.value === "custom"; });
    });
  }

  // [data-live-state]: an account's live state on the Integrations page ("Syncing 3,200 of 10,000
  // messages", "Up to date · 2 min ago"); polled often while it syncs, now and then once it is done.
  function liveStates() {
    document.querySelectorAll("[data-live-state]").forEach(function (line) {
      var card = line.closest("[data-account]");
      var badge = card && card.querySelector("[data-live-badge]");
      var poll = function () {
        fetch(line.dataset.liveState, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (state) {
            if (!state) { return; }
            line.textContent = state.text;
            if (badge) { badge.textContent = state.badge; badge.className = "badge " + state.status; }
            var busy = /^(Syncing|Waiting)/.test(state.text);
            setTimeout(poll, busy ? 1500 : 30000);
          })
          .catch(function () { setTimeout(poll, 10000); });
      };
      setTimeout(poll, /^(Syncing|Waiting)/.test(line.textContent) ? 1000 : 30000);
    });
  }

  // An embedded booking page (body[data-embedded]) tells the framing page its height whenever it
  // changes, and `booked` once the confirmation shows. Only times and the link's slug: nothing about the
  // guest. Any origin may listen: only sites in HUB_EMBED_ORIGINS can frame the page at all (CSP).
  function embedded() {
    if (!document.body.hasAttribute("data-embedded") || window.parent === window) { return; }
    var last = 0;
    var report = function () {
      var height = Math.ceil(document.documentElement.scrollHeight);
      if (height !== last) { last = height; window.parent.postMessage({ type: "hub:resize", height: height }, "*"); }
    };
    report();
    if (window.ResizeObserver) { new ResizeObserver(report).observe(document.body); }
    var booked = document.querySelector("[data-booked]");
    if (booked) {
      window.parent.postMessage({ type: "booked", meetingType: booked.dataset.booked,
                                  start: booked.dataset.start, end: booked.dataset.end }, "*");
    }
  }

  window.hub = { csrfToken: csrfToken };
  document.addEventListener("DOMContentLoaded", function () {
    dialogs(); confirmations(); copyButtons(); progressBars(); bookingZone(); videoLink(); presets(); liveStates(); embedded();
  });
})();
