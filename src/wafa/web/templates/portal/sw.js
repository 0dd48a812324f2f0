// The member portal's service worker: pages network-first (the cache keeps the last card seen, so it
// shows offline), our static files cache-first. Sign-out clears the cache (Clear-Site-Data).
const CACHE = "wafa-{{ portal.slug }}-{{ version }}";
const BASE = "{{ portal.base }}/";
const STATIC = ["/static/wafa.css", "/static/wafa.js", "/static/icon.svg", "/static/vendor/htmx.min.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(STATIC)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith("wafa-{{ portal.slug }}-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate" && url.pathname.startsWith(BASE.slice(0, -1))) {
    event.respondWith(
      fetch(request).then((response) => {
        // Keep pages that are the member's own (not a sign-in page after a redirect).
        if (response.ok && !response.redirected) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      }).catch(() => caches.match(request).then((hit) => hit || caches.match(BASE)))
    );
  }
});
