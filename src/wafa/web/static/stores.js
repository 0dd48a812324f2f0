// The portal's Stores page (portal/stores.html): "Use my location" asks the browser for the member's position,
// puts it in the form and sends it, to list the stores near them. Nothing is sent until the member presses the button.
(function () {
  "use strict";
  function locate(form) {
    var button = form.querySelector("[data-locate-button]");
    var status = form.querySelector("[data-locate-status]");
    if (!button || button.dataset.bound) return;
    button.dataset.bound = "1";
    function say(text) { status.textContent = text; status.hidden = false; }
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { say(status.dataset.unavailable); return; }
      say(status.dataset.finding);
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        form.elements.latitude.value = position.coords.latitude.toFixed(6);
        form.elements.longitude.value = position.coords.longitude.toFixed(6);
        form.submit();
      }, function () {
        button.disabled = false;
        say(status.dataset.unavailable);
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-locate]").forEach(locate);
  });
})();
