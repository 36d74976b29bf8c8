// Cross-origin isolation on static hosts that send no COOP/COEP headers.
//
// The playground needs SharedArrayBuffer, which browsers give only to cross-origin isolated pages.
// `cargo xtask serve` sends the headers itself and stays the first choice. Elsewhere (GitHub Pages,
// a school's file server, `python3 -m http.server`) this one file gets the same result in the
// browser, by the technique of coi-serviceworker (written for this project, not copied):
//
// - In the page (a classic script in <head>, before the app): if the page is not isolated but is
//   a secure context (HTTPS or localhost), register this file as a service worker whose scope is
//   the page's own folder, mark sessionStorage and reload once. At most one automatic reload per
//   session (tab): if the page is still not isolated after it, the page explains instead of
//   reloading again (coi-serviceworker's issues #5 and #30 were reload loops).
// - In the service worker: every same-origin response is re-wrapped with COOP `same-origin`,
//   COEP `require-corp` and CORP `same-origin`, unless it carries COOP and COEP already. It caches
//   nothing and leaves cross-origin requests alone (the playground makes none).
//
// Only relative URLs: the site works from a sub-path (https://host/some/path/).
//
// Outcome for the page: `window.orbitalIsolation = { status, detail, settled }`, where `settled`
// is a promise of the final status (it never resolves while the page is about to reload):
//   "headers"            isolated by the server's headers (the worker did nothing)
//   "worker"             isolated through the service worker (a later visit or reload)
//   "enabled-by-worker"  isolated through the service worker after this session's one reload
//   "reloading"          the worker is being installed; the page reloads once
//   "file"               opened from file://: no service workers there
//   "insecure"           plain http from a host other than localhost: no service workers there
//   "old-browser"        the browser knows nothing of cross-origin isolation
//   "no-service-worker"  no service workers (some private-browsing modes, policy, old browsers)
//   "register-failed"    registering the worker failed (detail: the error)
//   "not-controlled"     reloaded once already, but this load bypassed the worker (hard reload)
//   "worker-not-enough"  the worker handled the page but the browser did not isolate it
//   "reload-needed"      the worker is installed, but without sessionStorage the page will not
//                        reload by itself (it could not tell a first reload from a loop)
"use strict";

if (typeof ServiceWorkerGlobalScope !== "undefined" && self instanceof ServiceWorkerGlobalScope) {
  const ISOLATION_HEADERS = [
    ["Cross-Origin-Opener-Policy", "same-origin"],
    ["Cross-Origin-Embedder-Policy", "require-corp"],
    ["Cross-Origin-Resource-Policy", "same-origin"],
  ];

  // Take over at once: the page reloads as soon as this worker is active.
  self.addEventListener("install", () => self.skipWaiting());
  self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

  self.addEventListener("fetch", (event) => {
    const request = event.request;
    if (new URL(request.url).origin !== self.location.origin) return;
    // fetch() throws for this combination (sent by developer tools); let the browser handle it.
    if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
    event.respondWith(withIsolationHeaders(request));
  });

  async function withIsolationHeaders(request) {
    const response = await fetch(request);
    // Only plain same-origin responses: redirects of navigations come back "opaqueredirect" and
    // must reach the browser as they are, so that relative URLs resolve against the final URL.
    if (response.type !== "basic" || response.status < 200) return response;
    const headers = new Headers(response.headers);
    if (headers.has("Cross-Origin-Opener-Policy") && headers.has("Cross-Origin-Embedder-Policy")) return response;
    for (const [name, value] of ISOLATION_HEADERS) headers.set(name, value);
    try {
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    } catch {
      return response;
    }
  }
} else {
  (() => {
    const KEY = "orbital-coi"; // sessionStorage: "reloading" just before the one reload, "done" after
    const ACTIVATION_TIMEOUT_MS = 15000;
    let settle;
    const state = { status: "unknown", detail: "", settled: new Promise((resolve) => (settle = resolve)) };
    window.orbitalIsolation = state;
    const finish = (status, detail = "") => {
      state.status = status;
      state.detail = detail;
      settle(state);
    };

    let store = null;
    try {
      store = window.sessionStorage;
      store.getItem(KEY);
    } catch {
      store = null;
    }
    const mark = store ? store.getItem(KEY) : null;
    const container = navigator.serviceWorker; // undefined on file://, on insecure pages, in some private modes
    const controlled = !!(container && container.controller);
    // This file's own URL: the worker is this same script, wherever the page lives.
    const scriptUrl = document.currentScript ? document.currentScript.src : new URL("coi.js", document.baseURI).href;

    /** Resolves when `registration` has an active worker; rejects if it fails or takes too long. */
    function activated(registration) {
      return new Promise((resolve, reject) => {
        if (registration.active) return resolve();
        const worker = registration.installing || registration.waiting;
        if (!worker) return reject(new Error("the registration has no worker"));
        const timer = setTimeout(() => reject(new Error(`the service worker did not activate within ${ACTIVATION_TIMEOUT_MS / 1000} s`)), ACTIVATION_TIMEOUT_MS);
        worker.addEventListener("statechange", () => {
          if (worker.state === "activated") {
            clearTimeout(timer);
            resolve();
          } else if (worker.state === "redundant") {
            clearTimeout(timer);
            reject(new Error("the service worker was discarded while installing"));
          }
        });
      });
    }

    async function register() {
      // The scope is the page's folder, relative to the page: a sub-path works.
      const registration = await container.register(scriptUrl, { scope: "./" });
      if (!registration) throw new Error("the browser did not register the service worker");
      await activated(registration);
    }

    if (window.crossOriginIsolated) {
      if (mark === "reloading") {
        store.setItem(KEY, "done");
        finish("enabled-by-worker");
      } else {
        finish(controlled ? "worker" : "headers");
      }
    } else if (location.protocol === "file:") {
      finish("file");
    } else if (!("crossOriginIsolated" in window)) {
      finish("old-browser");
      // The page's own script may be too new for such a browser to run at all: say it from here.
      document.addEventListener("DOMContentLoaded", () => {
        const text = document.getElementById("notice-text");
        if (text && (!window.orbital || window.orbital.state === "loading")) {
          text.innerHTML =
            "This browser is too old for the playground, which needs <b>cross-origin isolation</b> " +
            "for <code>SharedArrayBuffer</code>.<br><br>Update it, or use a current Chrome or Edge (92+), " +
            "Firefox (79+) or Safari (15.2+).";
        }
      });
    } else if (!window.isSecureContext) {
      finish("insecure");
    } else if (!container) {
      finish("no-service-worker");
    } else if (mark !== null) {
      // This session's one automatic reload is spent: explain, never reload again by ourselves.
      finish(controlled ? "worker-not-enough" : "not-controlled", mark);
    } else if (!store) {
      register().then(
        () => finish("reload-needed"),
        (e) => finish("register-failed", String(e && e.message ? e.message : e)),
      );
    } else {
      state.status = "reloading";
      register().then(
        () => {
          store.setItem(KEY, "reloading");
          location.reload();
        },
        (e) => finish("register-failed", String(e && e.message ? e.message : e)),
      );
    }

    /** For the page's Reload button: a reload the user asked for may try the worker once more. */
    state.reload = () => {
      if (store) store.removeItem(KEY);
      location.reload();
    };
  })();
}
