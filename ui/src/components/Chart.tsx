// A uPlot chart (canvas, small and fast) sized to its container.

import { useEffect, useEffectEvent, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

type Props = {
  label: string;
  options: Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  height?: number;
};

export function Chart({ label, options, data, height = 180 }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The chart is rebuilt only when its shape (options, height) changes, starting
  // from the data of that moment; new data alone goes through setData below.
  const currentData = useEffectEvent(() => data);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    plot.current = new uPlot({ ...options, width: Math.max(element.clientWidth, 240), height }, currentData(), element);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(element.clientWidth, 240), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [options, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={container} className="chart" role="img" aria-label={label} />;
}
