// A small in-browser stand-in for the Rust core, for the browser end-to-end
// tests only: it answers the app's commands through Tauri's official IPC mock
// and emits the same events. The real core is tested in the desktop e2e.

import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import type { CommandError } from "../src/bindings/CommandError";
import type { AuthLinkResult } from "../src/bindings/AuthLinkResult";
import type { DeliveryRules } from "../src/bindings/DeliveryRules";
import type { DeliveryState } from "../src/bindings/DeliveryState";
import type { ErrorCode } from "../src/bindings/ErrorCode";
import type { HomeSettings } from "../src/bindings/HomeSettings";
import type { IntervalView } from "../src/bindings/IntervalView";
import type { InvitationView } from "../src/bindings/InvitationView";
import type { MemberAction } from "../src/bindings/MemberAction";
import type { MemberRole } from "../src/bindings/MemberRole";
import type { MemberView } from "../src/bindings/MemberView";
import type { ModeView } from "../src/bindings/ModeView";
import type { MarketEvent } from "../src/bindings/MarketEvent";
import type { OrderView } from "../src/bindings/OrderView";
import type { ReadingView } from "../src/bindings/ReadingView";
import type { Setup } from "../src/bindings/Setup";
import type { SettingsChange } from "../src/bindings/SettingsChange";
import type { Statement } from "../src/bindings/Statement";
import type { StatementLine } from "../src/bindings/StatementLine";
import type { TradeView } from "../src/bindings/TradeView";
import { checkHome } from "../src/market/home";
import { ENERGY_SCALE, MONEY_SCALE, PRICE_SCALE, checkOrderAmount, checkPrice, checkPurchase, formatSteps, parseSteps, steps } from "../src/market/rules";

/**
 * extraAsks: neighbours' offers to add; failFirst: the code the first command
 * fails with; project: the project the local mode prefills sign-in with (as the
 * last one used, or the developer's environment); home: the home saved before
 * the app starts; setup: the first run's choice ("unset": the app asks; by
 * default "home" with a home, else "demo"); community: start signed in to the
 * community as Alice, an active member with this role (see "Operator console").
 */
/** startedWith: the invitation link the OS started the app with. fees: the market's buyer and seller fees in $/kWh (none by default, as the core's rules). */
type Config = {
  extraAsks?: number;
  failFirst?: ErrorCode;
  project?: { url: string; anonKey: string };
  home?: HomeSettings;
  setup?: Setup;
  community?: MemberRole;
  startedWith?: string;
  fees?: { buyer: string; seller: string };
};
const config: Config = (window as unknown as { __LUMEA_MOCK_CONFIG__?: Config }).__LUMEA_MOCK_CONFIG__ ?? {};

const e = (s: bigint) => formatSteps(s, ENERGY_SCALE);
const p = (s: bigint) => formatSteps(s, PRICE_SCALE);
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
let nextId = 1;
const uuid = () => `00000000-0000-4000-8000-${String(nextId++).padStart(12, "0")}`;

const battery = { capacity: 1350n, level: 850n, bids: 0n, asks: 0n, tokensMg: 0n };
const grid = { buy: 2000n, sell: 1000n };

// Delivery intervals ----------------------------------------------------------
// The core's rules (crates/market/src/delivery.rs): an interval starts on a
// whole multiple of its length since the epoch; the first open one is the
// first start strictly after now + gate closure; books open up to
// open_hours_ahead; at gate closure the interval's open orders expire.

/**
 * The mock's clock: the page's own, which the tests set and move with
 * Playwright's clock (page.clock), so that the app and this market read the
 * same time, as the app and the core do on one device.
 */
const now = () => Date.now();
const MINUTE = 60_000;
const rules: DeliveryRules = {
  interval_minutes: 15,
  open_hours_ahead: 24,
  gate_closure_minutes: 5,
  settlement_deadline_hours: 48,
  buyer_fee: config.fees?.buyer ?? "0",
  seller_fee: config.fees?.seller ?? "0",
};
const LENGTH = rules.interval_minutes * MINUTE;
/** How many intervals the market modal is offered (the core's DeliveryView::OFFERED). */
const OFFERED = 8;
/** An instant as the core writes it: RFC 3339 to the second, in UTC. */
const rfc3339 = (at: number) => new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
const gate = (start: number) => start - rules.gate_closure_minutes * MINUTE;
const nextOpen = (at: number) => (Math.floor((Math.floor(at / 1000) * 1000 + rules.gate_closure_minutes * MINUTE) / LENGTH) + 1) * LENGTH;
/** Whether orders for the interval starting at `start` may be placed at `at`: its refusal, or null. */
const notOpen = (start: number, at: number): ErrorCode | null =>
  at >= gate(start) ? "interval_closed" : start - at > rules.open_hours_ahead * 60 * MINUTE ? "interval_not_open" : null;
function openIntervals(at: number): IntervalView[] {
  const intervals: IntervalView[] = [];
  for (let start = nextOpen(at); intervals.length < OFFERED && notOpen(start, at) === null; start += LENGTH) {
    intervals.push({ start: rfc3339(start), end: rfc3339(start + LENGTH), closes_at: rfc3339(gate(start)) });
  }
  return intervals;
}
/** The first interval open when the app starts: the neighbours' book is for it (and one for the next). */
const FIRST = nextOpen(now());

function order(username: string, side: "buy" | "sell", price: string, amount: string, minutes: number, distance: string, mine = false, interval: number | null = nextOpen(now())): OrderView {
  return {
    id: uuid(),
    user_id: mine ? "household" : username.toLowerCase(),
    username,
    side,
    price,
    amount,
    filled: "0",
    remaining: amount,
    status: "active",
    created_at: ago(minutes),
    updated_at: ago(minutes),
    expires_at: null,
    interval: interval === null ? null : rfc3339(interval),
    distance_km: distance,
    mine,
    pending: false,
  };
}

const orders: OrderView[] = [
  order("Bob", "sell", "0.17", "5", 42, "0.7"),
  order("Erin", "sell", "0.175", "6", 30, "1.2"),
  order("Frank", "sell", "0.185", "4", 12, "1.4"),
  order("Heidi", "sell", "0.19", "8", 5, "1.5"),
  order("Diana", "buy", "0.15", "25", 50, "0.5"),
  order("Grace", "buy", "0.14", "5", 20, "1.5"),
  // The next interval's book, and an undated order of before delivery intervals, which no dated view shows.
  order("Ivan", "sell", "0.2", "3", 8, "0.9", false, FIRST + LENGTH),
  order("Olga", "sell", "0.21", "2", 60, "1.1", false, null),
];
for (let n = 0; n < (config.extraAsks ?? 0); n++) {
  orders.push(order(`Neighbour ${n}`, "sell", p(2000n + BigInt(n % 500)), "3", n % 600, "2.1"));
}
orders[0].filled = "10";
orders[0].amount = "15";
orders[0].status = "partial";
const trades: TradeView[] = [];
const history = [
  { at: ago(120), price: "0.16", amount: "10" },
  { at: ago(119), price: "0.17", amount: "10" },
];
let failNext: ErrorCode | null = config.failFirst ?? null;

const open = (o: OrderView) => o.status === "active" || o.status === "partial";
const book = () => ({
  asks: orders.filter((o) => o.side === "sell" && open(o)).sort((a, b) => Number(steps(a.price, 4) - steps(b.price, 4))),
  bids: orders.filter((o) => o.side === "buy" && open(o)).sort((a, b) => Number(steps(b.price, 4) - steps(a.price, 4))),
});
const depth = (side: OrderView[]) => {
  const levels = new Map<string, { price: string; amount: bigint; orders: number }>();
  for (const o of side) {
    const level = levels.get(o.price) ?? { price: o.price, amount: 0n, orders: 0 };
    level.amount += steps(o.remaining, ENERGY_SCALE);
    level.orders += 1;
    levels.set(o.price, level);
  }
  return [...levels.values()].map((l) => ({ price: l.price, amount: e(l.amount), orders: l.orders }));
};
const energy = () => ({
  capacity: e(battery.capacity),
  level: e(battery.level),
  reserved_for_bids: e(battery.bids),
  reserved_for_asks: e(battery.asks),
  headroom: e(battery.capacity - battery.level - battery.bids),
  sellable: e(battery.level - battery.asks),
  co2_tokens: formatSteps(battery.tokensMg, 6),
});

class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string = code,
  ) {
    super(code);
  }
}
/** Refuses as the core does: its code, and its message (the code itself when the UI never reads it). */
const refuse = (code: ErrorCode, message?: string): never => {
  throw new Refusal(code, message);
};
let home: HomeSettings | null = config.home ?? null;
const localMode: ModeView = {
  setup: config.setup ?? (home ? "home" : "demo"),
  community: false,
  connection: "local",
  project_url: config.project?.url ?? null,
  anon_key: config.project?.anonKey ?? null,
  email: null,
  username: null,
  community_id: null,
  community_name: null,
  membership: null,
  role: null,
};
let mode = localMode;

/** The invitation's project, community and standing, as the core and the server would answer. */
const INVITATION_PROJECT = { url: "https://demo.supabase.co", anonKey: "sb_publishable_demo" };
function redeem(invitation: string): Pick<ModeView, "community_id" | "community_name" | "membership" | "role"> {
  const text = invitation.trim();
  // The core reads a link or a code; anything else it refuses before asking the server.
  if (!text.startsWith("lumea://join?") && !text.startsWith("LUMEA1-")) refuse("invalid_invitation");
  // What the server would say of its token.
  if (text.includes("bad")) refuse("invalid_invitation");
  if (text.includes("expired")) refuse("invitation_expired");
  if (text.includes("used")) refuse("invitation_used_up");
  return { community_id: "default", community_name: "Default Street", membership: text.includes("pending") ? "pending" : "active", role: "member" };
}
/** Signed up where email is confirmed first: the account the confirmation link signs in. */
let awaitingConfirmation: Pick<ModeView, "email" | "username" | "community_id" | "community_name" | "membership" | "role"> | null = null;
/** Where the last password reset link was sent. */
let resetFor: string | null = null;

/** Signed in to a community's market, as the core is once it opens it. */
async function enter(account: Partial<ModeView>, project = { url: mode.project_url ?? INVITATION_PROJECT.url, anonKey: mode.anon_key ?? INVITATION_PROJECT.anonKey }) {
  mode = { ...mode, community: true, connection: "online", project_url: project.url, anon_key: project.anonKey, ...account };
  await announce({ type: "connection_changed", connection: "online" });
  return mode;
}
/** An account that has joined the mock's community and trades. */
const ALICE = { username: "Alice", community_id: "default", community_name: "Default Street", membership: "active" as const, role: "member" as const };

/** Names taken in the mock's community. */
const TAKEN = new Set(["bob", "erin #2"]);

const announce = async (...events: MarketEvent[]) => {
  for (const event of events) await emit("market", event);
};

// Meter readings and settlement ---------------------------------------------
// The core's meter files (crates/store/src/meter_files.rs), whole or nothing,
// with its messages; settlement as crates/market/src/delivery.rs settles, for
// the household's side: a trade delivers its pro-rata share of what the
// household metered (export for its sales, import for its purchases), never
// more than contracted. The neighbours' meters are taken to match their
// contracts, so the household's reading decides. All energy in whole Wh.

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const MAX_READING = 10_000_000n;
const kwhText = (wh: bigint) => formatSteps(wh, 3);
/** The household's current reading of each interval (by its start, in ms): the latest of its revisions. */
const readings = new Map<number, ReadingView>();
/** Each settled trade's settlement revision. */
const revisions = new Map<string, number>();
const CO2_GRAMS_PER_KWH = 367n;

function record(start: number, importWh: bigint, exportWh: bigint, source: string) {
  const previous = readings.get(start);
  readings.set(start, {
    interval_start: rfc3339(start),
    import: kwhText(importWh),
    export: kwhText(exportWh),
    source,
    recorded_at: rfc3339(now()),
    revisions: (previous?.revisions ?? 0) + 1,
  });
}
// Two intervals the meter has already reported, the later one revised.
record(FIRST - 4 * LENGTH, 400n, 2100n, "device");
record(FIRST - 3 * LENGTH, 500n, 1200n, "file");
record(FIRST - 3 * LENGTH, 300n, 1850n, "file");

const contractedWh = (trade: TradeView) => steps(trade.amount, ENERGY_SCALE) * 10n;

/** Settles the household's trades of the interval starting at `start` against its reading, as a new revision when the figures change. */
function settle(start: number) {
  const reading = readings.get(start);
  if (!reading) return;
  const mine = trades.filter((t) => t.interval !== null && Date.parse(t.interval) === start);
  const metered = { bought: steps(reading.import, 3), sold: steps(reading.export, 3) };
  const total = { bought: 0n, sold: 0n };
  for (const t of mine) total[t.role === "bought" ? "bought" : "sold"] += contractedWh(t);
  for (const t of mine) {
    const side = t.role === "bought" ? "bought" : "sold";
    const amount = contractedWh(t);
    const share = (amount * metered[side]) / total[side];
    const delivered = kwhText(share < amount ? share : amount);
    if (t.delivered === delivered) continue;
    t.delivered = delivered;
    revisions.set(t.id, (revisions.get(t.id) ?? 0) + 1);
  }
}

type MeterRow = { household: string | null; start: number; importWh: bigint; exportWh: bigint };

const meterFileError = (location: string, problem: string): never =>
  refuse("invalid_meter_file", `the meter file cannot be imported, nothing was: ${location}: ${problem}`);

function readingValue(column: string, text: string, location: string): bigint {
  const wh = parseSteps(text, 3);
  return wh === null || wh < 0n || wh > MAX_READING ? meterFileError(location, `${column} ${JSON.stringify(text)} is not 0 to 10,000 kWh with at most 3 decimals`) : wh;
}

function intervalStart(text: string, location: string): number {
  const start = Date.parse(text);
  if (!RFC3339.test(text) || Number.isNaN(start)) meterFileError(location, `interval_start ${JSON.stringify(text)} is not an RFC 3339 time such as 2026-06-01T12:00:00Z`);
  if (start % LENGTH !== 0) meterFileError(location, `interval_start ${JSON.stringify(text)} is not the start of one of the market's ${rules.interval_minutes}-minute intervals`);
  return start;
}

const HEADER = ["household", "interval_start", "import_kwh", "export_kwh"];

/** A CSV meter file: a header (with or without households), then one reading a line. Quoted fields aside, as the core reads it. */
function parseCsv(text: string): MeterRow[] {
  let households: boolean | null = null;
  const rows: MeterRow[] = [];
  const firstLines = new Map<string, number>();
  text.replace(/^\uFEFF/, "").split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const location = `line ${line}`;
    const fields = raw.split(",").map((field) => field.trim().replace(/^"(.*)"$/, "$1"));
    if (fields.length === 1 && fields[0] === "") return;
    if (households === null) {
      const names = fields.map((field) => field.toLowerCase()).join(",");
      if (names === HEADER.join(",")) households = true;
      else if (names === HEADER.slice(1).join(",")) households = false;
      else meterFileError(location, `expected the header ${HEADER.join(",")} (or ${HEADER.slice(1).join(",")} without households), found ${JSON.stringify(fields.join(","))}`);
      return;
    }
    const columns = households ? HEADER : HEADER.slice(1);
    if (fields.length !== columns.length) meterFileError(location, `expected ${columns.length} fields (${columns.join(",")}), found ${fields.length}`);
    const household = households ? fields[0] : null;
    const values = households ? fields.slice(1) : fields;
    if (household === "") meterFileError(location, "household is empty");
    const row = { household, start: intervalStart(values[0], location), importWh: readingValue("import_kwh", values[1], location), exportWh: readingValue("export_kwh", values[2], location) };
    const key = `${household ?? ""} ${row.start}`;
    const first = firstLines.get(key);
    if (first !== undefined) meterFileError(location, `a second reading${household === null ? "" : ` for household ${JSON.stringify(household)}`} at ${rfc3339(row.start)} (the first is on line ${first})`);
    firstLines.set(key, line);
    rows.push(row);
  });
  return rows;
}

/** A Green Button file with one ReadingType (the core also links several through MeterReading, which the mock leaves out). */
function parseGreenButton(text: string): MeterRow[] {
  const xml = new DOMParser().parseFromString(text, "application/xml");
  if (xml.getElementsByTagName("parsererror").length > 0) meterFileError("the XML", "malformed XML");
  const all = (name: string, within: Element | Document = xml) => [...within.getElementsByTagNameNS("*", name)];
  const value = (name: string, within: Element) => all(name, within)[0]?.textContent?.trim() ?? null;
  const types = all("ReadingType");
  if (types.length !== 1) meterFileError("the feed", "the mock reads Green Button files with exactly one ReadingType");
  const [type] = types;
  const direction = value("flowDirection", type);
  if (direction !== "1" && direction !== "19") meterFileError("ReadingType 1", `flowDirection ${JSON.stringify(direction)} is neither 1 (forward) nor 19 (reverse)`);
  if (value("uom", type) !== "72") meterFileError("ReadingType 1", "uom must be 72 (Wh)");
  const power = BigInt(value("powerOfTenMultiplier", type) ?? "0");
  const rows: MeterRow[] = all("IntervalReading").map((reading, index) => {
    const location = `IntervalReading ${index + 1}`;
    const duration = Number(value("duration", reading));
    const start = Number(value("start", reading)) * 1000;
    if (duration * 1000 !== LENGTH) meterFileError(location, `duration ${duration} is not the market's ${rules.interval_minutes * 60} s`);
    if (!Number.isInteger(start) || start % LENGTH !== 0) meterFileError(location, `start ${start / 1000} is not the start of one of the market's ${rules.interval_minutes}-minute intervals`);
    const raw = BigInt(value("value", reading) ?? "0");
    const wh = power >= 0n ? raw * 10n ** power : raw / 10n ** -power;
    if (wh < 0n || wh > MAX_READING || (power < 0n && raw % 10n ** -power !== 0n)) meterFileError(location, "the energy is not a whole number of 0 to 10,000 kWh in Wh");
    return { household: null, start, importWh: direction === "1" ? wh : 0n, exportWh: direction === "19" ? wh : 0n };
  });
  return rows;
}

/** A meter file, whole or not at all: its readings recorded (each interval ended), its intervals settled again. */
function importMeterFile(contents: string): number {
  const rows = /^[\s\uFEFF]*</.test(contents) ? parseGreenButton(contents) : parseCsv(contents);
  if (rows.length === 0) meterFileError("end of file", "the file holds no readings");
  const names = new Set(orders.map((o) => o.username).concat(home?.display_name ?? []));
  for (const row of rows) {
    if (now() < row.start + LENGTH) refuse("interval_not_ended", "the delivery interval has not ended");
    if (row.household !== null && !names.has(row.household)) refuse("unknown_user", "unknown user");
  }
  // The neighbours' rows settle nothing here: their meters are taken to match their contracts.
  const mine = rows.filter((row) => row.household === null || row.household === home?.display_name);
  for (const row of mine) record(row.start, row.importWh, row.exportWh, "file");
  for (const start of new Set(mine.map((row) => row.start))) settle(start);
  return rows.length;
}

/** `wh` at `ticks` ($0.0001/kWh), in micro-dollars rounded half to even, as delivery::value. */
function value(wh: bigint, ticks: bigint): bigint {
  const tenths = wh * ticks;
  const [whole, rest] = [tenths / 10n, tenths % 10n];
  return rest > 5n || (rest === 5n && whole % 2n === 1n) ? whole + 1n : whole;
}
const money = (micros: bigint) => formatSteps(micros, MONEY_SCALE);

/** The household's statement for the intervals starting in [from, to), as crates/store/src/statement.rs computes it. */
function statement(fromText: string, toText: string): Statement {
  const [from, to] = [Date.parse(fromText), Date.parse(toText)];
  if (Number.isNaN(from) || Number.isNaN(to)) refuse("unknown", "invalid args");
  const fee = { bought: steps(rules.buyer_fee, PRICE_SCALE), sold: steps(rules.seller_fee, PRICE_SCALE) };
  const t = { bought: 0n, sold: 0n, paid: 0n, received: 0n, fees: 0n };
  const delivered = new Map<number, { bought: bigint; sold: bigint }>();
  const lines: StatementLine[] = trades
    .filter((trade) => trade.interval !== null && Date.parse(trade.interval) >= from && Date.parse(trade.interval) < to)
    .sort((a, b) => Date.parse(a.interval!) - Date.parse(b.interval!))
    .map((trade) => {
      const start = Date.parse(trade.interval!);
      const side = trade.role === "bought" ? "bought" : "sold";
      const wh = trade.delivered === null ? 0n : steps(trade.delivered, 3);
      const energyValue = value(wh, steps(trade.price, PRICE_SCALE));
      const own = value(wh, fee[side]);
      const entry = delivered.get(start) ?? { bought: 0n, sold: 0n };
      entry[side] += wh;
      delivered.set(start, entry);
      t[side] += wh;
      if (side === "bought") t.paid += energyValue + own;
      else t.received += energyValue - own;
      t.fees += own;
      const state: DeliveryState = trade.delivered !== null ? "settled" : now() >= start + LENGTH ? "awaiting_meter" : "contracted";
      return {
        trade_id: trade.id,
        interval_start: rfc3339(start),
        role: trade.role,
        counterparty: side === "bought" ? trade.seller : trade.buyer,
        contracted: trade.amount,
        delivered: trade.delivered,
        price: trade.price,
        energy_value: money(energyValue),
        fee: money(own),
        state,
        revision: revisions.get(trade.id) ?? 0,
      };
    });
  let [gridImport, gridExport, allImport, allExport] = [0n, 0n, 0n, 0n];
  for (const [start, reading] of readings) {
    if (start < from || start >= to) continue;
    const [imported, exported] = [steps(reading.import, 3), steps(reading.export, 3)];
    const covered = delivered.get(start) ?? { bought: 0n, sold: 0n };
    gridImport += imported > covered.bought ? imported - covered.bought : 0n;
    gridExport += exported > covered.sold ? exported - covered.sold : 0n;
    allImport += imported;
    allExport += exported;
  }
  const importCost = value(gridImport, grid.buy);
  const exportIncome = value(gridExport, grid.sell);
  const netCost = t.paid + importCost - t.received - exportIncome;
  const gridOnly = value(allImport, grid.buy) - value(allExport, grid.sell);
  return {
    from: rfc3339(from),
    to: rfc3339(to),
    lines,
    totals: {
      bought: kwhText(t.bought),
      sold: kwhText(t.sold),
      paid: money(t.paid),
      received: money(t.received),
      fees: money(t.fees),
      grid_import: kwhText(gridImport),
      grid_import_cost: money(importCost),
      grid_export: kwhText(gridExport),
      grid_export_income: money(exportIncome),
      net_cost: money(netCost),
      grid_only_cost: money(gridOnly),
      savings: money(gridOnly - netCost),
      co2_kg: formatSteps(t.bought * CO2_GRAMS_PER_KWH, 6),
    },
  };
}

/** A display name as one CSV field, as the core writes it: never a formula, quoted when it must be. */
function csvField(text: string): string {
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[,"\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Statement::to_csv: a row per trade, then the totals as labelled rows. */
function statementCsv({ from, to, lines, totals }: Statement): string {
  let csv = "interval_start,side,counterparty,contracted_kwh,delivered_kwh,price_per_kwh,energy_value,fee,state,revision\n";
  for (const l of lines) {
    csv += `${l.interval_start},${l.role === "bought" ? "bought" : "sold"},${csvField(l.counterparty)},${l.contracted},${l.delivered ?? ""},${l.price},${l.energy_value},${l.fee},${l.state},${l.revision}\n`;
  }
  const rows: [string, string][] = [
    ["bought_kwh", totals.bought],
    ["sold_kwh", totals.sold],
    ["paid", totals.paid],
    ["received", totals.received],
    ["fees", totals.fees],
    ["grid_import_kwh", totals.grid_import],
    ["grid_import_cost", totals.grid_import_cost],
    ["grid_export_kwh", totals.grid_export],
    ["grid_export_income", totals.grid_export_income],
    ["net_cost", totals.net_cost],
    ["grid_only_cost", totals.grid_only_cost],
    ["savings", totals.savings],
    ["co2_kg", totals.co2_kg],
    ["period", `${from} to ${to}`],
  ];
  csv += "\ntotal,value\n";
  for (const [name, figure] of rows) csv += `${name},${figure}\n`;
  return csv;
}

/** Commands answered, by name, for the tests that check which views an event refetches. */
const calls = new Map<string, number>();
/** The arguments each command was sent, in order, for the tests that check what the app sends. */
const sent = new Map<string, Record<string, unknown>[]>();

/**
 * Gate closure: the open orders of every interval whose book has closed
 * expire, as the core's expiry does on each operation and every 5 s.
 */
async function expireDue() {
  const at = now();
  const due = orders.filter((o) => open(o) && o.interval !== null && at >= gate(Date.parse(o.interval)));
  if (due.length === 0) return;
  for (const o of due) {
    o.status = "expired";
    o.updated_at = new Date(at).toISOString();
    if (o.mine) {
      const left = steps(o.remaining, ENERGY_SCALE);
      if (o.side === "sell") battery.asks -= left;
      else battery.bids -= left;
    }
  }
  const updates: MarketEvent[] = due.map((o) => ({ type: "order_updated", id: o.id, user_id: o.user_id, status: o.status, filled: o.filled, remaining: o.remaining }));
  await announce(...updates, { type: "book_changed" }, ...(due.some((o) => o.mine) ? [{ type: "energy_changed", user_id: "household" } as const] : []));
}
setInterval(() => void expireDue(), 5000);

/** A member's meter files are the local market's only: in a community its operator imports the readings. */
const localOnly = () => {
  if (mode.community) refuse("not_available");
};

async function handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  calls.set(cmd, (calls.get(cmd) ?? 0) + 1);
  sent.set(cmd, [...(sent.get(cmd) ?? []), args]);
  if (failNext) {
    const code = failNext;
    failNext = null;
    refuse(code);
  }
  await expireDue();
  switch (cmd) {
    case "delivery":
      return { rules, intervals: openIntervals(now()) };
    case "meter_readings":
      return [...readings.values()].sort((a, b) => Date.parse(b.interval_start) - Date.parse(a.interval_start)).slice(Number(args.offset), Number(args.offset) + Number(args.limit));
    case "import_meter_file":
      localOnly();
      return importMeterFile(String(args.contents));
    case "statement":
      return statement(String(args.from), String(args.to));
    case "statement_csv":
      return statementCsv(statement(String(args.from), String(args.to)));
    case "book":
      return book();
    case "energy":
      return energy();
    case "grid_prices":
      return { buy: p(grid.buy), sell: p(grid.sell) };
    case "price_history":
      return history;
    case "stats": {
      const { asks, bids } = book();
      return {
        best_bid: bids[0]?.price ?? null,
        best_ask: asks[0]?.price ?? null,
        spread: asks[0] && bids[0] ? p(steps(asks[0].price, 4) - steps(bids[0].price, 4)) : null,
        last_price: history.at(-1)?.price ?? null,
        volume: "20",
        vwap: "0.165",
        asks: depth(asks),
        bids: depth(bids),
      };
    }
    case "my_orders":
      return orders.filter((o) => o.mine).reverse();
    case "my_trades":
      return trades.slice().reverse().slice(Number(args.offset), Number(args.offset) + Number(args.limit));
    case "place_order": {
      const side = args.side as "buy" | "sell";
      const price = checkPrice(String(args.price));
      if (!price.ok) return refuse(price.code);
      const limit = side === "sell" ? battery.level - battery.asks : battery.capacity - battery.level - battery.bids;
      const amount = checkOrderAmount(String(args.amount), side, limit);
      if (!amount.ok) return refuse(amount.code);
      // Dated when it names an interval: its start, on the interval grid, while its book is open. Without one, undated (legacy).
      let interval: number | null = null;
      if (args.interval !== undefined && args.interval !== null) {
        const text = typeof args.interval === "string" ? args.interval : "";
        interval = Date.parse(text);
        if (!RFC3339.test(text) || interval % LENGTH !== 0) return refuse("invalid_interval");
        const closed = notOpen(interval, now());
        if (closed) return refuse(closed);
      }
      const placed = order("You", side, p(price.steps), e(amount.steps), 0, "0", true, interval);
      placed.id = String(args.id);
      orders.push(placed);
      if (side === "sell") battery.asks += amount.steps;
      else battery.bids += amount.steps;
      await announce({ type: "book_changed" }, { type: "energy_changed", user_id: "household" });
      return { trades: [], orders: [], pending: false };
    }
    case "cancel_order": {
      const target = orders.find((o) => o.id === args.id) ?? refuse("unknown_order");
      if (!open(target)) refuse("not_open");
      target.status = "cancelled";
      const left = steps(target.remaining, ENERGY_SCALE);
      if (target.side === "sell") battery.asks -= left;
      else battery.bids -= left;
      await announce({ type: "book_changed" }, { type: "energy_changed", user_id: "household" });
      return { trades: [], orders: [], pending: false };
    }
    case "buy_now": {
      const offer = orders.find((o) => o.id === args.order && o.side === "sell") ?? refuse("unknown_order");
      if (!open(offer)) refuse("not_open");
      const headroom = battery.capacity - battery.level - battery.bids;
      const amount = checkPurchase(String(args.amount), steps(offer.remaining, ENERGY_SCALE), headroom);
      if (!amount.ok) return refuse(amount.code);
      const remaining = steps(offer.remaining, ENERGY_SCALE) - amount.steps;
      offer.remaining = e(remaining);
      offer.filled = e(steps(offer.filled, ENERGY_SCALE) + amount.steps);
      offer.status = remaining === 0n ? "filled" : "partial";
      battery.level += amount.steps;
      battery.tokensMg += amount.steps * 3670n;
      const trade: TradeView = {
        id: uuid(),
        buy_order: null,
        sell_order: offer.id,
        buyer_id: "household",
        seller_id: offer.user_id,
        buyer: "You",
        seller: offer.username,
        price: offer.price,
        amount: e(amount.steps),
        total: formatSteps(steps(offer.price, PRICE_SCALE) * amount.steps, MONEY_SCALE),
        created_at: new Date().toISOString(),
        role: "bought",
        taker: "buy",
        interval: offer.interval,
        delivered: null,
      };
      trades.push(trade);
      history.push({ at: trade.created_at, price: trade.price, amount: trade.amount });
      await announce({ type: "trade_executed", trade }, { type: "book_changed" }, { type: "energy_changed", user_id: "household" });
      return { trades: [trade], orders: [], pending: false };
    }
    case "buy_from_grid":
    case "sell_to_grid": {
      const buying = cmd === "buy_from_grid";
      const limit = buying ? battery.capacity - battery.level - battery.bids : battery.level - battery.asks;
      const amount = checkPurchase(String(args.amount), limit, limit);
      if (!amount.ok) return refuse(amount.code === "invalid_amount" ? "invalid_amount" : buying ? "exceeds_battery" : "insufficient_energy");
      battery.level += buying ? amount.steps : -amount.steps;
      const price = buying ? grid.buy : grid.sell;
      await announce({ type: "energy_changed", user_id: "household" });
      return { id: uuid(), direction: buying ? "buy" : "sell", amount: e(amount.steps), price: p(price), total: formatSteps(price * amount.steps, MONEY_SCALE), created_at: new Date().toISOString() };
    }
    case "mode":
      return mode;
    case "sign_in": {
      if (args.password !== "correct-horse-battery") return refuse("invalid_credentials");
      const email = String(args.email);
      // new@…: an account that has not joined a community yet.
      const member = email.startsWith("new@") ? { username: null, community_id: null, community_name: null, membership: "none" as const, role: null } : ALICE;
      return enter({ email, ...member }, { url: String(args.url), anonKey: String(args.anonKey) });
    }
    case "sign_up": {
      const joined = redeem(String(args.invitation));
      // The core sends the home's location with the sign-up: the one set up, never the demo's.
      if (home === null) return refuse("home_not_set");
      if (args.password !== "correct-horse-battery") return refuse("weak_password");
      const username = String(args.username).trim();
      if (TAKEN.has(username.toLowerCase())) return refuse("username_taken");
      const email = String(args.email);
      // confirm@…: the project confirms email first; the core keeps the invitation for the first sign-in.
      if (email.startsWith("confirm@")) {
        awaitingConfirmation = { email, username, ...joined };
        return refuse("email_not_confirmed");
      }
      return enter({ email, username, ...joined }, INVITATION_PROJECT);
    }
    case "join_community": {
      if (!mode.community) return refuse("signed_out");
      if (mode.membership !== "none") return refuse("already_member");
      const joined = redeem(String(args.invitation));
      const username = String(args.username).trim();
      if (TAKEN.has(username.toLowerCase())) return refuse("username_taken");
      mode = { ...mode, username, ...joined };
      await announce({ type: "connection_changed", connection: mode.connection });
      return mode;
    }
    case "use_local_mode":
      mode = { ...localMode, setup: mode.setup };
      await announce({ type: "connection_changed", connection: "local" });
      return mode;
    case "home_settings":
      return home;
    case "save_home": {
      const checked = checkHome(args.home as HomeSettings);
      // The core stops at the first field that is wrong.
      if (!checked.ok) return refuse(Object.values(checked.problems)[0]);
      const reopens = home?.location !== checked.home.location || home.battery_capacity !== checked.home.battery_capacity || home.battery_level !== checked.home.battery_level;
      home = checked.home;
      mode = { ...mode, setup: "home" };
      // In a community, a moved home or a corrected battery opens its market again.
      if (mode.community && reopens) await announce({ type: "connection_changed", connection: mode.connection });
      return home;
    }
    case "opened_links": {
      const links = { invitation: config.startedWith ?? null, auth: null };
      config.startedWith = undefined;
      return links;
    }
    case "explore_demo":
      if (mode.setup === "unset") mode = { ...mode, setup: "demo" };
      return mode;
    case "request_password_reset": {
      if (mode.project_url === null) return refuse("invalid_project");
      const email = String(args.email).trim();
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) return refuse("invalid_email");
      resetFor = email;
      return null;
    }
    case "set_new_password":
      if (!mode.community) return refuse("not_authenticated");
      return String(args.password).length < 6 ? refuse("weak_password") : null;
    default:
      return consoleCommand(cmd, args);
  }
}

mockIPC(
  async (cmd, args) => {
    try {
      return await handle(cmd, (args ?? {}) as Record<string, unknown>);
    } catch (err) {
      // The real shell rejects with a plain {code, message} object, not an Error; so does this.
      if (err instanceof Refusal) {
        const rejection: CommandError = { code: err.code, message: err.detail };
        throw rejection;
      }
      throw err;
    }
  },
  { shouldMockEvents: true },
);

/** Controls for the tests: what a neighbour or a failing backend would do. */
(window as unknown as { lumeaMock: unknown }).lumeaMock = {
  /** `interval`: the start of the interval it is for; the first open one by default. */
  neighbourOffers: async (username: string, price: string, amount: string, interval?: string) => {
    orders.push(order(username, "sell", price, amount, 0, "0.9", false, interval === undefined ? nextOpen(now()) : Date.parse(interval)));
    await announce({ type: "book_changed" });
  },
  neighbourBuysFromMe: async (amount: string) => {
    const mine = orders.find((o) => o.mine && o.side === "sell" && open(o));
    if (!mine) return;
    const bought = steps(amount, ENERGY_SCALE);
    mine.remaining = e(steps(mine.remaining, ENERGY_SCALE) - bought);
    mine.filled = e(steps(mine.filled, ENERGY_SCALE) + bought);
    mine.status = mine.remaining === "0" ? "filled" : "partial";
    battery.level -= bought;
    battery.asks -= bought;
    const trade: TradeView = {
      id: uuid(), buy_order: uuid(), sell_order: mine.id, buyer_id: "alice", seller_id: "household", buyer: "Alice", seller: "You",
      price: mine.price, amount, total: formatSteps(steps(mine.price, PRICE_SCALE) * bought, MONEY_SCALE), created_at: new Date().toISOString(), role: "sold", taker: "buy",
      interval: mine.interval, delivered: null,
    };
    trades.push(trade);
    await announce({ type: "trade_executed", trade }, { type: "book_changed" }, { type: "energy_changed", user_id: "household" });
  },
  /** The meter reports solar energy stored, as the core's record_generation does. */
  generate: async (amount: string) => {
    battery.level += steps(amount, ENERGY_SCALE);
    await announce({ type: "energy_changed", user_id: "household" });
  },
  /** An admin approves, suspends or reinstates this household: the core hears it and says so. */
  setMembership: async (membership: NonNullable<ModeView["membership"]>) => {
    mode = { ...mode, membership };
    await announce({ type: "membership_changed" });
  },
  /** The system opens the app with an invitation link, as a click on it in a browser or a mail does. */
  openInvitation: (link: string) => emit("invitation-opened", link),
  /**
   * The household opens the link of an e-mail: "confirmed" signs in the account
   * that signed up before confirming, "recovery" the one a reset link was sent
   * to; "used" is a link that no longer works.
   */
  openAuthLink: async (link: "confirmed" | "recovery" | "used") => {
    let result: AuthLinkResult = { kind: null, error: "invalid_auth_link" };
    if (link === "confirmed" && awaitingConfirmation) {
      await enter(awaitingConfirmation, INVITATION_PROJECT);
      awaitingConfirmation = null;
      result = { kind: "confirmed", error: null };
    } else if (link === "recovery" && resetFor) {
      await enter({ email: resetFor, ...ALICE });
      result = { kind: "recovery", error: null };
    }
    await emit("auth-link", result);
  },
  failNext: (code: ErrorCode) => {
    failNext = code;
  },
  announce,
  calls: () => Object.fromEntries(calls),
  resetCalls: () => calls.clear(),
  /** The arguments `cmd` was sent, in order. */
  sent: (cmd: string) => sent.get(cmd) ?? [],
  /** The household's readings, by interval start, as import_meter_file left them. */
  readings: () => [...readings.values()],
};

// Operator console -------------------------------------------------------------
// The admins' commands, refused as the server refuses them (community_members,
// manage_member, make_invitation, revoke_invitation and update_community_settings
// in the communities migration). The household is Alice, the only active admin
// when it starts as one.

const daysAgo = (days: number) => ago(days * 24 * 60);

function member(display_name: string, role: MemberRole, status: MemberView["status"], joined: number, activity: Partial<MemberView> = {}): MemberView {
  return {
    membership_id: uuid(),
    display_name,
    role,
    status,
    joined_at: daysAgo(joined),
    approved_at: status === "pending" ? null : daysAgo(joined),
    open_orders: 0,
    trades: 0,
    bought: "0",
    sold: "0",
    last_trade_at: null,
    ...activity,
  };
}

const members: MemberView[] = [
  member("Alice", config.community ?? "member", "active", 60, { open_orders: 1, trades: 12, bought: "30", sold: "9.5", last_trade_at: ago(90) }),
  member("Bob", "member", "active", 45, { open_orders: 2, trades: 9, bought: "3.5", sold: "120", last_trade_at: ago(30) }),
  member("Carol", "member", "pending", 1),
  member("Dave", "member", "pending", 0),
  member("Erin", "member", "active", 30, { trades: 1, sold: "45", last_trade_at: daysAgo(2) }),
  member("Frank", "member", "suspended", 20, { trades: 3, bought: "12.25", last_trade_at: daysAgo(6) }),
];

function invitation(created: number, expires: number, fields: Partial<InvitationView> = {}): InvitationView {
  return {
    invitation_id: uuid(), role: "member", pre_approved: false, uses_left: 5, expires_at: daysAgo(-expires), created_at: daysAgo(created),
    revoked_at: null, made_by: "Alice", link: null, code: null, qr_svg: null, ...fields,
  };
}

/** Newest first, as community_invitations answers; none keeps its token. */
const invitations: InvitationView[] = [
  invitation(2, 5, { uses_left: 4 }),
  invitation(5, 2, { revoked_at: daysAgo(1), pre_approved: true }),
  invitation(12, -3, { uses_left: 2, made_by: null }),
];

/** The community's own settings; its grid prices are the mock's `grid`, its name the mode's. */
const community = { min: 500n, max: 10000n, co2Grams: 367n, cap: 20 };
/** Every change update_community_settings was sent, for the tests. */
const settingsSent: SettingsChange[] = [];

/** A QR code's look, not a real one; with a script no real one has, to show that the image never runs it. */
function qrSvg(token: string): string {
  const cells = [...token].map((c, i) => (c.charCodeAt(0) % 2 ? `M${(i * 3) % 21} ${Math.floor(i / 7) + 8}h1v1h-1z` : "")).join("");
  return `<?xml version="1.0" standalone="yes"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 21 21" width="240" height="240"><rect width="21" height="21" fill="#fff"/><path fill="#000" d="M0 0h7v7h-7zM14 0h7v7h-7zM0 14h7v7h-7z${cells}"/><script>window.qrScriptRan = true;</script></svg>`;
}

async function hearOwnMembership(changed: MemberView) {
  // The core hears its own membership change through Realtime and says so.
  if (changed.display_name !== mode.username) return;
  mode = { ...mode, role: changed.role, membership: changed.status };
  await announce({ type: "membership_changed" });
}

async function manageMember(id: unknown, action: MemberAction): Promise<MemberView> {
  const target = members.find((m) => m.membership_id === id) ?? refuse("unknown_member");
  const keepAnAdmin = () => {
    const others = members.some((m) => m !== target && m.role === "admin" && m.status === "active");
    if (target.role === "admin" && target.status === "active" && !others) refuse("last_admin");
  };
  if (action === "approve" && target.status === "pending") {
    Object.assign(target, { status: "active", approved_at: new Date().toISOString() });
  } else if (action === "reinstate" && target.status === "suspended") {
    Object.assign(target, { status: "active", approved_at: target.approved_at ?? new Date().toISOString() });
  } else if (action === "suspend" && (target.status === "pending" || target.status === "active")) {
    keepAnAdmin();
    // A suspension cancels the member's open orders.
    Object.assign(target, { status: "suspended", open_orders: 0 });
  } else if (action === "make_admin" && target.role === "member" && target.status === "active") {
    target.role = "admin";
  } else if (action === "make_member" && target.role === "admin") {
    keepAnAdmin();
    target.role = "member";
  } else {
    refuse(["approve", "reinstate", "suspend", "make_admin", "make_member"].includes(action) ? "invalid_member_status" : "invalid_action");
  }
  await hearOwnMembership(target);
  return target;
}

function createInvitation(uses: unknown, days: unknown, preApproved: unknown): InvitationView {
  const within = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (!within(uses, 1000) || !within(days, 90) || typeof preApproved !== "boolean") refuse("invalid_invitation_settings");
  const made = invitation(0, Number(days), { uses_left: Number(uses), pre_approved: Boolean(preApproved), created_at: new Date().toISOString() });
  invitations.unshift(made);
  const token = `tok-${made.invitation_id.slice(-6)}`;
  const query = `project=${encodeURIComponent(INVITATION_PROJECT.url)}&key=${INVITATION_PROJECT.anonKey}&community=default&token=${token}`;
  const code = `LUMEA1-${btoa(query).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
  // The token is shown this once: the list keeps only what the server keeps.
  return { ...made, link: `lumea://join?${query}`, code, qr_svg: qrSvg(token) };
}

async function updateSettings(change: SettingsChange): Promise<null> {
  settingsSent.push(change);
  const price = (text: string | null, was: bigint) => {
    if (text === null) return was;
    const checked = checkPrice(text);
    return checked.ok ? checked.steps : refuse("invalid_setting");
  };
  const name = change.name === null ? mode.community_name : change.name.trim();
  const [min, max] = [price(change.min_price, community.min), price(change.max_price, community.max)];
  const [buy, sell] = [price(change.grid_buy_price, grid.buy), price(change.grid_sell_price, grid.sell)];
  const co2 = change.co2_kg_per_kwh === null ? community.co2Grams : parseSteps(change.co2_kg_per_kwh, 3);
  const cap = change.open_order_cap ?? community.cap;
  if (!name || name.length > 80 || min > max || co2 === null || co2 < 0n || co2 > 2000n || !Number.isInteger(cap) || cap < 1 || cap > 10_000) refuse("invalid_setting");
  Object.assign(community, { min, max, co2Grams: co2, cap });
  Object.assign(grid, { buy, sell });
  mode = { ...mode, community_name: name };
  // New settings reach every member's market as a membership change.
  await announce({ type: "membership_changed" });
  return null;
}

/** The console's commands, by name. */
const CONSOLE: Record<string, (args: Record<string, unknown>) => unknown> = {
  community_members: () =>
    [...members].sort((a, b) => Number(b.status === "pending") - Number(a.status === "pending") || a.display_name.localeCompare(b.display_name)),
  manage_member: (args) => manageMember(args.member, args.action as MemberAction),
  create_invitation: (args) => createInvitation(args.uses, args.days, args.preApproved),
  community_invitations: () => invitations,
  revoke_invitation: (args) => {
    const target = invitations.find((i) => i.invitation_id === args.invitation) ?? refuse("unknown_invitation");
    target.revoked_at ??= new Date().toISOString();
    return target;
  },
  community_settings: (): SettingsChange => ({
    name: mode.community_name,
    min_price: p(community.min),
    max_price: p(community.max),
    grid_buy_price: p(grid.buy),
    grid_sell_price: p(grid.sell),
    co2_kg_per_kwh: formatSteps(community.co2Grams, 3),
    open_order_cap: community.cap,
  }),
  update_community_settings: (args) => updateSettings(args.change as SettingsChange),
};

async function consoleCommand(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  if (!Object.hasOwn(CONSOLE, cmd)) return refuse("unknown");
  // The server's caller_admin: an active admin of this community, or nobody.
  if (!mode.community || mode.role !== "admin" || mode.membership !== "active") return refuse("not_admin");
  // A copy, as the real IPC's JSON is: the UI's cache never shares the mock's objects.
  return structuredClone(await CONSOLE[cmd](args));
}

if (config.community) {
  // A household trading in a community has set its home up.
  home ??= { display_name: "Alice", location: "51.507, -0.128", battery_capacity: "13.5", battery_level: "8.5", pv_kwp: "4", locale: "en-US", currency: "USD" };
  mode = { ...localMode, setup: "home", email: "alice@example.com", project_url: INVITATION_PROJECT.url, anon_key: INVITATION_PROJECT.anonKey, ...ALICE, community: true, connection: "online", role: config.community };
}

Object.assign((window as unknown as { lumeaMock: object }).lumeaMock, {
  /** The changes update_community_settings was sent, in order. */
  settingsSent: () => settingsSent,
});
