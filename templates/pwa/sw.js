// Strefa Klienta service worker. It keeps the static assets and the offline page in each
// language, and nothing else: never pages with personal data, htmx fragments or anything
// posted.
const CACHE = "strefa-klienta-{{ version }}";
// The offline page per language; the one shown is in the language of the last page
// loaded (its Content-Language, remembered in the cache), at first the one this worker
// was fetched in.
const OFFLINE_URLS = {{ offline_urls|tojson }};
const FIRST_LANGUAGE = {{ language|tojson }};
const LANGUAGE_KEY = "/sw-language";
const PRECACHE = {{ precache|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll([...PRECACHE, ...Object.values(OFFLINE_URLS)]))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
  );
});

function rememberLanguage(response) {
  const language = response.headers.get("Content-Language");
  if (language && OFFLINE_URLS[language]) {
    caches.open(CACHE).then((cache) => cache.put(LANGUAGE_KEY, new Response(language)));
  }
  return response;
}

function offlinePage() {
  return caches.match(LANGUAGE_KEY)
    .then((remembered) => (remembered ? remembered.text() : FIRST_LANGUAGE))
    .then((language) => caches.match(OFFLINE_URLS[language] || OFFLINE_URLS[FIRST_LANGUAGE]));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    // Pages always come from the network; only when it fails, the offline page.
    event.respondWith(fetch(request).then(rememberLanguage).catch(offlinePage));
    return;
  }
  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((cached) => cached || fetch(request)));
  }
  // Everything else (htmx fragments among them) goes to the network untouched.
});
