// Cumulative depth of both sides of the book around the spread.

import { useMemo } from "react";
import uPlot from "uplot";
import type { LevelDepth } from "../bindings/LevelDepth";
import { Chart } from "./Chart";

const OPTIONS: Omit<uPlot.Options, "width" | "height"> = {
  // Depth is measured from zero, or small differences would look large.
  scales: { x: { time: false }, y: { range: (_plot, _min, max) => [0, Math.max(max, 1) * 1.15] } },
  axes: [{ label: "Price per kWh" }, { label: "kWh" }],
  series: [
    { label: "Price" },
    // Depth changes only at a price level: steps, not slopes.
    { label: "Bids", stroke: "#1d7a55", fill: "rgba(29,122,85,0.18)", paths: uPlot.paths.stepped!({ align: -1 }) },
    { label: "Asks", stroke: "#c2410c", fill: "rgba(194,65,12,0.15)", paths: uPlot.paths.stepped!({ align: 1 }) },
  ],
  // The legend names the colours; values under the cursor would only repeat the list below.
  legend: { show: true, live: false },
};

/** Chart coordinates only: plotted as numbers, never used for money. */
const coordinate = (decimal: string) => Number(decimal);

export function depthSeries(asks: LevelDepth[], bids: LevelDepth[]): uPlot.AlignedData {
  const prices = [...new Set([...asks, ...bids].map((level) => coordinate(level.price)))].sort((a, b) => a - b);
  const bidDepth = prices.map((price) => {
    const deeper = bids.filter((level) => coordinate(level.price) >= price);
    return deeper.length === 0 ? null : deeper.reduce((sum, level) => sum + coordinate(level.amount), 0);
  });
  const askDepth = prices.map((price) => {
    const deeper = asks.filter((level) => coordinate(level.price) <= price);
    return deeper.length === 0 ? null : deeper.reduce((sum, level) => sum + coordinate(level.amount), 0);
  });
  return [prices, bidDepth, askDepth];
}

export function DepthChart({ asks, bids }: { asks: LevelDepth[]; bids: LevelDepth[] }) {
  const data = useMemo(() => depthSeries(asks, bids), [asks, bids]);
  return <Chart label="Market depth: energy offered and wanted at each price" options={OPTIONS} data={data} height={160} />;
}
