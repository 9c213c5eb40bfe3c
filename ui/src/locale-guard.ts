// Under the POSIX locale (LANG=C), WebKit reports navigator.language as "C",
// which Intl rejects; a library that hands it to Intl at load time (uPlot
// does) would stop the whole app before it draws anything. Imported first.

try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, "language", { value: "en-US", configurable: true });
  Object.defineProperty(navigator, "languages", { value: ["en-US"], configurable: true });
}
