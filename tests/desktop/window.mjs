// The app's window over W3C WebDriver, as both desktop tests drive it: find an
// element by XPath (waiting, since the app answers events asynchronously),
// click, read, type, and take a screenshot.

import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** `webdriver` and `session` are read when called: both are set up after this. */
export function windowOf(webdriver, session, shots) {
  const s = (path) => `/session/${session()}${path}`;
  async function find(xpath, { within = 15_000 } = {}) {
    const until = Date.now() + within;
    for (;;) {
      try {
        const found = await webdriver()("POST", s("/element"), { using: "xpath", value: xpath });
        // An element reference is an object with one key (W3C names it element-6066-…).
        return Object.values(found)[0];
      } catch (err) {
        if (Date.now() > until) throw new Error(`never appeared: ${xpath} (${err.message})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
  /** Acts on the element; one of a dialog still opening is there but not yet interactable, so that waits as find waits. */
  async function whenInteractable(xpath, act) {
    const until = Date.now() + 5_000;
    for (;;) {
      try {
        return await act(await find(xpath));
      } catch (err) {
        if (!/not interactable/.test(err.message) || Date.now() > until) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
  async function screenshot(name) {
    const png = await webdriver()("GET", s("/screenshot"));
    writeFileSync(join(shots, `${name}.png`), Buffer.from(png, "base64"));
  }
  return {
    s,
    find,
    screenshot,
    async click(xpath) {
      try {
        await whenInteractable(xpath, (element) => webdriver()("POST", s(`/element/${element}/click`), {}));
      } catch (err) {
        await screenshot("desktop-failed-click");
        throw new Error(`clicking ${xpath}: ${err.message}`);
      }
    },
    text: async (xpath) => webdriver()("GET", s(`/element/${await find(xpath)}/text`)),
    async type(xpath, value) {
      await whenInteractable(xpath, async (element) => {
        await webdriver()("POST", s(`/element/${element}/clear`), {});
        await webdriver()("POST", s(`/element/${element}/value`), { text: value });
      });
    },
  };
}

export const button = (name) => `//button[normalize-space()='${name}']`;
export const dialog = (inner) => `//*[@role='dialog']${inner}`;
export const label = (name) => `//input[@id=//label[normalize-space()='${name}']/@for]`;
