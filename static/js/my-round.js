// "My round" on a phone: ask the browser for its position once and list the
// inspector's stops nearest first (the server orders by ?lat=&lng=).
(function () {
  "use strict";
  var button = document.getElementById("locate-stops");
  var status = document.getElementById("locate-stops-status");
  if (!button || !navigator.geolocation) { return; }
  button.hidden = false;
  function locate() {
    navigator.geolocation.getCurrentPosition(function (pos) {
      var url = new URL(window.location.href);
      url.searchParams.set("lat", pos.coords.latitude.toFixed(6));
      url.searchParams.set("lng", pos.coords.longitude.toFixed(6));
      url.searchParams.delete("page");
      window.location.replace(url.toString());
    }, function () {
      if (status) { status.textContent = button.dataset.failed; }
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 120000 });
  }
  button.addEventListener("click", locate);
  if (!button.dataset.located) { locate(); }
})();
