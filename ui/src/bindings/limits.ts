// Generated from the Rust market rules (lumea-market); do not edit by hand.
// Regenerate: scripts/bindings.sh

/** Prices are whole $0.0001 ticks. */
export const PRICE_SCALE = 4;

/** Energy is whole 0.01 kWh steps. */
export const ENERGY_SCALE = 2;

/** Money is whole $0.000001 (a price tick times an energy step). */
export const MONEY_SCALE = 6;

/** The lowest price an order may carry, in ticks ($0.05/kWh). */
export const MIN_PRICE = 500n;

/** The highest price an order may carry, in ticks ($1.00/kWh). */
export const MAX_PRICE = 10000n;

/** The smallest order, in steps (1 kWh). */
export const MIN_ORDER = 100n;

/** The largest order, in steps (100 kWh). */
export const MAX_ORDER = 10000n;

/** The most energy an amount can state, in steps: beyond it, text is not an amount. */
export const MAX_ENERGY = 18446744073709551615n;
