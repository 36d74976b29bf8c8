// The canvas's internal resolution: how many pixels the app draws, upscaled by the browser to the
// canvas's size on the page. A software renderer (SwiftShader, llvmpipe: a laptop without a usable
// GPU) spends most of a frame on pixels: full-screen passes that Bevy and wgpu make whatever is
// drawn (docs/BENCHMARKS.md). Drawing 3/4 of the pixels across and down (56 % of them) made the
// crowd draw 1.33x as many frames a second there, and 1/2 2.1x.
//
// How: the app sees the page through winit, which sizes the canvas's drawing buffer from the
// canvas's CSS size times `window.devicePixelRatio`, and converts pointer positions with the same
// ratio. So reporting the ratio times the scale lowers the drawing buffer and keeps every
// coordinate the app works in (CSS pixels, "logical" in Bevy) right: picking, the layout JSON,
// the panels' layout. winit reads the device-pixel box of a ResizeObserver when the browser has
// one, which would bypass the ratio, so that is hidden from it, and it watches the ratio with a
// `(resolution: Ndppx)` media query, which is pointed at the real ratio (zooming still works).
// A change of scale tells winit through that query's change event. Tested by
// `xtask/e2e/render-scale.test.mjs`; written against winit 0.30's web backend (a Bevy bump must
// run that test).
//
// `window.orbitalRenderScale`: `choice` ("auto", "1", "0.75", "0.5"), `scale` (what is drawn),
// `software` (the renderer the page's check found), `renderer` (its name), and `set(choice)`,
// which applies at once and is remembered in this browser. `?resolution=` in the address
// overrides the remembered choice for that load.
const CHOICES = ["auto", "1", "0.75", "0.5"];
const STORAGE_KEY = "orbital.resolution";
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;
/** The scale "auto" draws at on a software renderer. */
const AUTO_SOFTWARE_SCALE = 0.75;

function remembered() {
  const asked = new URLSearchParams(location.search).get("resolution");
  if (asked !== null) {
    if (CHOICES.includes(asked)) return asked;
    console.warn(`?resolution=${asked} is not one of ${CHOICES.join(", ")}; using "auto"`);
    return "auto";
  }
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (CHOICES.includes(saved)) return saved;
  } catch {
    // Storage refused (private mode, sandboxed frame): the choice lasts for this page only.
  }
  return "auto";
}

/**
 * Installs the scale before the app starts (winit reads the ratio when the app creates its
 * window). `renderer` is the WebGL2 renderer's name the page's check read ("" if withheld).
 */
export function installRenderScale(renderer) {
  const software = SOFTWARE.test(renderer);
  // The browser's own ratio: an accessor on the window (a global's attributes live on the
  // object itself) or, in some engines, on its prototype; a plain value if a script replaced it.
  const own = Object.getOwnPropertyDescriptor(window, "devicePixelRatio")
    ?? Object.getOwnPropertyDescriptor(Window.prototype, "devicePixelRatio");
  const fixed = Number(window.devicePixelRatio) || 1;
  const realRatio = own?.get ? () => Number(own.get.call(window)) || 1 : () => fixed;
  const scaleOf = (choice) => (choice === "auto" ? (software ? AUTO_SOFTWARE_SCALE : 1) : Number(choice));
  let choice = remembered();
  let scale = scaleOf(choice);

  Object.defineProperty(window, "devicePixelRatio", { get: () => realRatio() * scale, configurable: true });
  // winit prefers the ResizeObserver's device-pixel box (real pixels) when the browser has it.
  if (typeof ResizeObserverEntry !== "undefined") {
    delete ResizeObserverEntry.prototype.devicePixelContentBoxSize;
  }

  // winit's media queries for the ratio: each asks about the ratio it read (real x scale); the
  // browser is asked about the real one, so the query matches until the page is zoomed. A
  // change of scale marks the live queries as no longer matching and fires their change event:
  // winit then reads the ratio again and resizes the drawing buffer.
  const liveQueries = new Set();
  const matchMedia = window.matchMedia.bind(window);
  window.matchMedia = (query) => {
    if (!/dppx/.test(query)) return matchMedia(query);
    const real = realRatio();
    const list = matchMedia(`(resolution: ${real}dppx), (-webkit-device-pixel-ratio: ${real})`);
    let stale = false;
    const browserMatches = Object.getOwnPropertyDescriptor(MediaQueryList.prototype, "matches").get;
    Object.defineProperty(list, "matches", { get: () => !stale && browserMatches.call(list) });
    list.__orbitalStale = () => {
      stale = true;
      liveQueries.delete(list);
      list.dispatchEvent(new Event("change"));
    };
    liveQueries.add(list);
    return list;
  };

  const api = {
    get choice() {
      return choice;
    },
    get scale() {
      return scale;
    },
    software,
    renderer,
    choices: CHOICES,
    /** Draws at `next` ("auto", "1", "0.75" or "0.5") from the next frame on; remembered. */
    set(next) {
      const asked = String(next).trim();
      if (!CHOICES.includes(asked)) {
        throw new Error(`unknown resolution ${JSON.stringify(asked)}: use one of ${CHOICES.join(", ")}`);
      }
      choice = asked;
      try {
        localStorage.setItem(STORAGE_KEY, asked);
      } catch {
        // Not remembered; applied all the same.
      }
      const nextScale = scaleOf(asked);
      if (nextScale !== scale) {
        scale = nextScale;
        for (const list of [...liveQueries]) list.__orbitalStale();
      }
      return { choice, scale };
    },
  };
  window.orbitalRenderScale = api;
  return api;
}
