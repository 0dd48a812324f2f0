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

  // Rule editor rows: show the fields of the chosen condition or action type only.
  function ruleRows() {
    document.querySelectorAll("[data-row]").forEach(function (row) {
      var select = row.querySelector("select[data-kind]");
      if (!select) return;
      var sync = function () {
        row.querySelectorAll("[data-for]").forEach(function (part) {
          part.hidden = part.dataset.for.split(" ").indexOf(select.value) < 0;
        });
      };
      if (!select.dataset.bound) { select.dataset.bound = "1"; select.addEventListener("change", sync); }
      sync();
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

  function offline() { document.body.classList.toggle("offline", !navigator.onLine); }

  function registerWorker() {
    var sw = document.querySelector('link[rel="serviceworker"]');
    if (sw && "serviceWorker" in navigator) {
      navigator.serviceWorker.register(sw.getAttribute("href"), { scope: sw.dataset.scope }).catch(function () {});
    }
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(); confirmForms(); ruleRows(); hijriDates(); sharing(); offline(); registerWorker(); });
  document.addEventListener("htmx:afterSettle", function () { drawCharts(); confirmForms(); ruleRows(); hijriDates(); });
  window.addEventListener("online", offline);
  window.addEventListener("offline", offline);
})();
