// The delivery interval the market shows and orders are placed for: one of the
// intervals open for orders now, earliest first (the first by default).

import type { IntervalView } from "../bindings/IntervalView";
import { intervalLabel } from "../market/delivery";

/** The open intervals, the one chosen (null when none is open), and how to choose another (by its start). */
export type IntervalChoice = { intervals: IntervalView[]; selected: IntervalView | null; onSelect: (start: string) => void };

export function IntervalPicker({ id, choice }: { id: string; choice: IntervalChoice }) {
  const { intervals, selected, onSelect } = choice;
  if (selected === null) {
    return (
      <p className="notice" role="status">
        No delivery interval is open for orders right now.
      </p>
    );
  }
  return (
    <div className="field interval-picker">
      <label htmlFor={id}>Delivery interval</label>
      <select id={id} value={selected.start} onChange={(event) => onSelect(event.target.value)} aria-describedby={`${id}-hint`}>
        {intervals.map((interval) => (
          <option key={interval.start} value={interval.start}>
            {intervalLabel(interval)}
          </option>
        ))}
      </select>
      <p id={`${id}-hint`} className="hint">
        Energy is traded for delivery in one interval; its market closes shortly before it starts.
      </p>
    </div>
  );
}
