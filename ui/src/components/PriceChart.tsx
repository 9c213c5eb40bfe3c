// Prices of the last day's trades.

import { useMemo } from "react";
import type uPlot from "uplot";
import type { TradePrint } from "../bindings/TradePrint";
import { Chart } from "./Chart";

const HOUR = 3600;

const OPTIONS: Omit<uPlot.Options, "width" | "height"> = {
  // At least an hour across, so trades seconds apart read as minutes, not milliseconds. Measured
  // on the data: when every trade shares one instant (one order filling two asks), uPlot widens
  // the scale by 1000 days before this sees it.
  scales: {
    x: {
      range: (plot, min, max) => {
        const times = plot.data[0];
        const last = times[times.length - 1];
        return last - times[0] < HOUR ? [last - HOUR, last + HOUR / 60] : [min, max];
      },
    },
  },
  axes: [{}, { label: "Price per kWh" }],
  series: [{}, { label: "Trade price", stroke: "#2563eb", points: { show: true, size: 5 } }],
  legend: { show: true, live: false },
};

export function PriceChart({ history }: { history: TradePrint[] }) {
  const data = useMemo<uPlot.AlignedData>(
    () => [history.map((print) => new Date(print.at).getTime() / 1000), history.map((print) => Number(print.price))],
    [history],
  );
  if (history.length === 0) return <p className="empty">No trades in the last 24 hours yet.</p>;
  return <Chart label="Price history of the last 24 hours" options={OPTIONS} data={data} />;
}
