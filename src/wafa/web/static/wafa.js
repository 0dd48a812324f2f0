// Progressive enhancement: charts from the JSON beside each canvas; pages work without this file.
(function () {
  "use strict";
  var palette = ["#0b6e4f", "#e0a100", "#b42318", "#1a56db", "#7a3fbf", "#0f3d3e"];
  var arabicDigits = function (s) { return String(s).replace(/[0-9]/g, function (d) { return "٠١٢٣٤٥٦٧٨٩"[d]; }); };

  function drawCharts() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.querySelector('script[data-for="' + canvas.id + '"]');
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var kind = canvas.dataset.chart;
      var format = function (v) {
        var s = Number(v).toLocaleString(data.locale === "ar" ? "ar-u-nu-latn" : "en");
        return data.numerals === "arab" ? arabicDigits(s) : s;
      };
      var datasets = data.datasets.map(function (pair, i) {
        var color = kind === "doughnut" ? palette : palette[i % palette.length];
        return { label: pair[0], data: pair[1], backgroundColor: color, borderColor: color, tension: 0.25, fill: false };
      });
      var options = {
        responsive: true, maintainAspectRatio: false, animation: false, locale: data.locale,
        layout: { padding: { left: 14, right: 14 } },
        plugins: { legend: { rtl: data.rtl, position: "bottom" }, tooltip: { rtl: data.rtl } },
      };
      if (kind !== "doughnut") {
        var stacked = canvas.dataset.stacked === "true";
        options.scales = {
          // Time runs right to left in Arabic: the latest period sits at the reading end.
          x: { reverse: data.rtl, stacked: stacked, ticks: { callback: function (v) { var l = this.getLabelForValue(v); return data.numerals === "arab" ? arabicDigits(l) : l; } } },
          y: { position: data.rtl ? "right" : "left", stacked: stacked, beginAtZero: true, ticks: { callback: format } },
        };
      }
      new window.Chart(canvas, { type: kind, data: { labels: data.labels, datasets: datasets }, options: options });
      canvas.dataset.drawn = "1";
    });
  }

  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      form.addEventListener("submit", function (e) { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
    });
  }

  // Rule editor rows: show the fields of the chosen condition or action type only, and disable the
  // others, so what is sent is what is seen. A part holding a refused field stays in view to be fixed.
  function ruleRows() {
    document.querySelectorAll("[data-row]").forEach(function (row) {
      var select = row.querySelector("select[data-kind]");
      if (!select) return;
      var sync = function () {
        row.querySelectorAll("[data-for]").forEach(function (part) {
          var off = part.dataset.for.split(" ").indexOf(select.value) < 0 && !part.querySelector(".field-error");
          part.hidden = off;
          part.querySelectorAll("input, select, textarea").forEach(function (field) { field.disabled = off; });
        });
      };
      if (!select.dataset.bound) { select.dataset.bound = "1"; select.addEventListener("change", sync); }
      sync();
    });
    // Enter in the simulate panel simulates (it would otherwise press the form's first button: Save).
    document.querySelectorAll("[data-simulate]").forEach(function (panel) {
      if (panel.dataset.bound) return;
      panel.dataset.bound = "1";
      panel.addEventListener("keydown", function (e) {
        var button = panel.querySelector("[data-simulate-button]");
        if (e.key !== "Enter" || e.target.tagName !== "INPUT" || !button) return;
        e.preventDefault();
        button.click();
      });
    });
  }

  // Referral link: the phone's share sheet where there is one, copying otherwise.
  function sharing() {
    document.querySelectorAll("[data-share]").forEach(function (button) {
      if (!navigator.share) return;
      button.hidden = false;
      button.onclick = function () { navigator.share({ title: button.dataset.title, url: button.dataset.share }).catch(function () {}); };
    });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.onclick = function () {
        navigator.clipboard.writeText(button.dataset.copy).then(function () { button.textContent = button.dataset.done; });
      };
    });
  }

  // Date pickers: the Hijri (Umm al-Qura) date follows the chosen Gregorian day on Arabic pages.
  function hijriDates() {
    var numerals = document.body.dataset.numerals === "arab" ? "arab" : "latn";
    document.querySelectorAll("input[type=date][data-hijri]").forEach(function (input) {
      var out = document.getElementById(input.dataset.hijri);
      if (!out || input.dataset.bound) return;
      input.dataset.bound = "1";
      var format;
      try {
        format = new Intl.DateTimeFormat("ar-SA-u-ca-islamic-umalqura-nu-" + numerals, { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
      } catch (e) { return; }
      input.addEventListener("change", function () {
        out.textContent = input.value ? format.format(new Date(input.value + "T12:00:00Z")) : "";
      });
    });
  }

  // Layout (phones): a table wider than the screen scrolls in its own box; the keyboard must reach it too.
  function scrollers() {
    document.querySelectorAll("main table, main .scroll").forEach(function (box) {
      var wide = box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX === "auto";
      if (wide && !box.hasAttribute("tabindex")) { box.tabIndex = 0; box.dataset.scroller = "1"; }
      if (!wide && box.dataset.scroller) { box.removeAttribute("tabindex"); delete box.dataset.scroller; }
    });
  }

  // Dashboard period: choosing dates means a custom period (the server refuses a bad one beside the fields).
  function periodPicker() {
    document.querySelectorAll("form.period").forEach(function (form) {
      var select = form.querySelector('select[name="period"]');
      if (!select || form.dataset.bound) return;
      form.dataset.bound = "1";
      form.querySelectorAll('input[type="date"]').forEach(function (input) {
        input.addEventListener("change", function () { select.value = "custom"; });
      });
    });
  }

  function offline() { document.body.classList.toggle("offline", !navigator.onLine); }

  function registerWorker() {
    var sw = document.querySelector('link[rel="serviceworker"]');
    if (sw && "serviceWorker" in navigator) {
      navigator.serviceWorker.register(sw.getAttribute("href"), { scope: sw.dataset.scope }).catch(function () {});
    }
  }

  document.addEventListener("DOMContentLoaded", function () { periodPicker(); drawCharts(); confirmForms(); ruleRows(); hijriDates(); sharing(); offline(); registerWorker(); scrollers(); });
  document.addEventListener("htmx:afterSettle", function () { drawCharts(); confirmForms(); ruleRows(); hijriDates(); scrollers(); });
  window.addEventListener("resize", scrollers);
  window.addEventListener("online", offline);
  window.addEventListener("offline", offline);
})();
