{#- Strefa Klienta's service worker. It keeps the static assets and one offline page, in
the visitor's language, and nothing else: never pages with personal data, htmx fragments
or anything posted. Its bytes are the same for every visitor and language, so the browser
installs it again only when a new version is deployed, never because the customer
switched. These comments are Jinja's: they are not sent. -#}
const CACHE = "strefa-klienta-{{ version }}";
const PRECACHE = {{ precache|tojson }};
{# The offline page: fetched at install from the URL without a language, which answers in
the visitor's (chosen, else the browser's), and kept under that URL. When a page comes in
another language (its Content-Language), that language's page replaces it, from the URL
naming the language. #}
const OFFLINE_URL = {{ offline_url|tojson }};
const OFFLINE_URL_IN = {{ offline_url_in|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll([...PRECACHE, OFFLINE_URL]))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name !== CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
  );
});

{# Only when the language changed, not on every page. #}
function followLanguage(page) {
  const language = page.headers.get("Content-Language");
  if (!language) return Promise.resolve();
  return caches.open(CACHE).then((cache) => cache.match(OFFLINE_URL).then((kept) => {
    if (kept && kept.headers.get("Content-Language") === language) return undefined;
    return fetch(OFFLINE_URL_IN.replace("LANGUAGE", encodeURIComponent(language)))
      .then((offline) => (offline.ok ? cache.put(OFFLINE_URL, offline) : undefined));
  }));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    {#- Pages always come from the network; only when it fails, the offline page. The
    worker is kept alive until the offline page is in the page's language. #}
    const page = fetch(request);
    event.respondWith(page.catch(() => caches.match(OFFLINE_URL, { cacheName: CACHE })));
    event.waitUntil(page.then(followLanguage).catch(() => undefined));
    return;
  }
  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((cached) => cached || fetch(request)));
  }
  {#- Everything else (htmx fragments among them) goes to the network untouched. #}
});
