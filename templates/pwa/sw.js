// Strefa Klienta service worker. It keeps the static assets and the offline page in each
// language, and nothing else: never pages with personal data, htmx fragments or anything
// posted. Its bytes are the same for every visitor and language, so the browser installs
// it again only when a new version is deployed, never because the customer switched.
const CACHE = "strefa-klienta-{{ version }}";
const PRECACHE = {{ precache|tojson }};
// The offline page per language; the one shown is in the language of the last page
// loaded (its Content-Language), before any in the browser's language if it is offered,
// else in the default one.
const OFFLINE_URLS = {{ offline_urls|tojson }};
const DEFAULT_LANGUAGE = {{ default_language|tojson }};
// Where that language is remembered: a cache of its own, which a new version keeps.
const LANGUAGE_CACHE = "strefa-klienta-language";
const LANGUAGE_KEY = "/sw-language";

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
      .then((names) => Promise.all(names
        .filter((name) => name !== CACHE && name !== LANGUAGE_CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
  );
});

function browserLanguage() {
  const tags = self.navigator.languages || [self.navigator.language];
  const offered = tags.map((tag) => String(tag).toLowerCase().split("-")[0])
    .find((language) => OFFLINE_URLS[language]);
  return offered || DEFAULT_LANGUAGE;
}

function rememberedLanguage() {
  return caches.open(LANGUAGE_CACHE)
    .then((cache) => cache.match(LANGUAGE_KEY))
    .then((remembered) => (remembered ? remembered.text() : null));
}

// Written only when the language changed, not on every page.
function rememberLanguage(response) {
  const language = response.headers.get("Content-Language");
  if (!language || !OFFLINE_URLS[language]) return Promise.resolve();
  return rememberedLanguage().then((remembered) => remembered === language ||
    caches.open(LANGUAGE_CACHE)
      .then((cache) => cache.put(LANGUAGE_KEY, new Response(language))));
}

function offlinePage() {
  return rememberedLanguage().then((language) =>
    caches.match(OFFLINE_URLS[language] || OFFLINE_URLS[browserLanguage()], { cacheName: CACHE }));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    // Pages always come from the network; only when it fails, the offline page. The
    // worker is kept alive until the page's language is remembered.
    const page = fetch(request);
    event.respondWith(page.catch(offlinePage));
    event.waitUntil(page.then(rememberLanguage).catch(() => undefined));
    return;
  }
  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((cached) => cached || fetch(request)));
  }
  // Everything else (htmx fragments among them) goes to the network untouched.
});
