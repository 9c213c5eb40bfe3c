// Prices of the last day's trades.

import { useMemo } from "react";
import type uPlot from "uplot";
import type { TradePrint } from "../bindings/TradePrint";
import { Chart } from "./Chart";

const OPTIONS: Omit<uPlot.Options, "width" | "height"> = {
  axes: [{}, { label: "$/kWh" }],
  series: [{}, { label: "Trade price", stroke: "#2563eb", points: { show: true, size: 5 } }],
};

export function PriceChart({ history }: { history: TradePrint[] }) {
  const data = useMemo<uPlot.AlignedData>(
    () => [history.map((print) => new Date(print.at).getTime() / 1000), history.map((print) => Number(print.price))],
    [history],
  );
  if (history.length === 0) return <p className="empty">No trades in the last 24 hours yet.</p>;
  return <Chart label="Price history of the last 24 hours" options={OPTIONS} data={data} />;
}
