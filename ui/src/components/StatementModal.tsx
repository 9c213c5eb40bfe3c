// The household's statement for a month (this one by default) or a range of
// days: each dated trade with what the meters say it delivered and what it
// paid, the grid's share, the totals and savings; as CSV or printed alone.

import { useQuery } from "@tanstack/react-query";
import { useRef, useState } from "react";
import type { GridPrices } from "../bindings/GridPrices";
import type { Statement } from "../bindings/Statement";
import { api } from "../api";
import { DELIVERY_STATES, intervalEnd } from "../market/delivery";
import { sentence } from "../market/errors";
import { clockRange, exactMoney, kwh, meterFigure, meterKwh, perKwh, writtenDay, writtenMonth } from "../market/format";
import { csvFileName, dayOf, monthOf, periodRange, type Period } from "../market/statement";
import { views } from "../queries";
import { codeOf, useCommand } from "../useCommand";
import { useNow } from "../useMarket";
import { Modal } from "./Modal";

type Props = { grid: GridPrices; minutes: number; onClose: () => void };

export function StatementModal({ grid, minutes, onClose }: Props) {
  const now = useNow([]);
  const [kind, setKind] = useState<Period["kind"]>("month");
  const [month, setMonth] = useState(() => monthOf(now));
  const [first, setFirst] = useState(() => `${monthOf(now)}-01`);
  const [last, setLast] = useState(() => dayOf(now));
  const period: Period = kind === "month" ? { kind, month } : { kind, first, last };
  const range = periodRange(period);
  const statement = useQuery({ ...views.statement(range?.from ?? "", range?.to ?? ""), enabled: range !== null });
  const download = useCommand();
  const link = useRef<HTMLAnchorElement>(null);

  const saveCsv = () => {
    if (range === null) return;
    void download.run(
      () => api.statementCsv(range.from, range.to),
      (csv) => {
        const anchor = link.current;
        if (!anchor) return;
        const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
        anchor.href = url;
        anchor.click();
        // Once the download has surely started with it.
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
    );
  };

  const title =
    range === null
      ? "Statement"
      : kind === "month"
      ? `Statement for ${writtenMonth(range.from)}`
      : `Statement from ${writtenDay(range.from)} to ${writtenDay(Date.parse(range.to) - 1)}`;

  return (
    <Modal title="Statements" description="What you bought and sold for each delivery interval, what the meters say was delivered, and what it came to." onClose={onClose} wide>
      <div className="statement-controls">
        <fieldset className="statement-period">
          <legend>Period</legend>
          <label className="check">
            <input type="radio" name="statement-kind" checked={kind === "month"} onChange={() => setKind("month")} />
            A month
          </label>
          <label className="check">
            <input type="radio" name="statement-kind" checked={kind === "days"} onChange={() => setKind("days")} />
            Custom range
          </label>
          {kind === "month" ? (
            <div className="field">
              <label htmlFor="statement-month">Month</label>
              <input id="statement-month" type="month" value={month} required onChange={(event) => setMonth(event.target.value)} />
            </div>
          ) : (
            <div className="field-pair">
              <div className="field">
                <label htmlFor="statement-from">From</label>
                <input id="statement-from" type="date" value={first} required onChange={(event) => setFirst(event.target.value)} />
              </div>
              <div className="field">
                <label htmlFor="statement-to">To</label>
                <input id="statement-to" type="date" value={last} required onChange={(event) => setLast(event.target.value)} />
              </div>
            </div>
          )}
          {range === null && (
            <p className="error" role="alert">
              {kind === "month" ? "Choose a month." : "Choose a range that ends on or after the day it starts."}
            </p>
          )}
        </fieldset>
        <div className="actions">
          <button type="button" className="button" disabled={range === null || download.busy} onClick={saveCsv}>
            Download CSV
          </button>
          <button type="button" className="button" disabled={statement.data === undefined} onClick={() => window.print()}>
            Print
          </button>
          {/* The CSV's download link, followed once its text has come. */}
          <a ref={link} download={csvFileName(period)} className="visually-hidden" tabIndex={-1} aria-hidden="true" />
        </div>
        {download.error && (
          <p className="error" role="alert">
            {download.error}
          </p>
        )}
      </div>
      <div className="statement">
        <h3 className="statement-title">{title}</h3>
        {range !== null && <StatementBody statement={statement.data} error={statement.isError ? statement.error : null} retry={() => void statement.refetch()} grid={grid} minutes={minutes} />}
      </div>
    </Modal>
  );
}

type BodyProps = { statement: Statement | undefined; error: Error | null; retry: () => void; grid: GridPrices; minutes: number };

function StatementBody({ statement, error, retry, grid, minutes }: BodyProps) {
  if (error !== null && codeOf(error) === "not_available") return <p className="empty">{sentence("not_available")}</p>;
  if (statement === undefined) {
    if (error === null) return <p className="loading">Loading the statement…</p>;
    return (
      <div className="banner banner-error" role="alert">
        <p>Couldn't load the statement. {sentence(codeOf(error))}</p>
        <button type="button" className="button" onClick={retry}>
          Try again
        </button>
      </div>
    );
  }
  const { lines, totals } = statement;
  return (
    <>
      {lines.length === 0 ? (
        <p className="empty">No trades for delivery in this period.</p>
      ) : (
        <table className="statement-lines" aria-label="Trades in this period">
          <thead>
            <tr>
              <th scope="col">Interval</th>
              <th scope="col">With</th>
              <th scope="col">Trade</th>
              <th scope="col">Contracted</th>
              <th scope="col">Delivered</th>
              <th scope="col">Price</th>
              <th scope="col">Paid or received</th>
              <th scope="col">Fee</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {lines.map((line) => (
              <tr key={line.trade_id}>
                <td>{clockRange(line.interval_start, intervalEnd(line.interval_start, minutes), true)}</td>
                <td>{line.counterparty}</td>
                <td>{line.role === "bought" ? "Bought" : "Sold"}</td>
                <td>{kwh(line.contracted)}</td>
                <td>{line.delivered === null ? "—" : meterKwh(line.delivered)}</td>
                <td>{perKwh(line.price)}</td>
                <td>{exactMoney(line.energy_value)}</td>
                <td>{exactMoney(line.fee)}</td>
                <td>
                  {DELIVERY_STATES[line.state]}
                  {line.revision > 1 && " (revised)"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <dl className="figures statement-totals" aria-label="Totals">
        <dt>Bought from neighbours (delivered)</dt>
        <dd>{meterKwh(totals.bought)}</dd>
        <dt>Sold to neighbours (delivered)</dt>
        <dd>{meterKwh(totals.sold)}</dd>
        <dt>Paid, fees included</dt>
        <dd>{exactMoney(totals.paid)}</dd>
        <dt>Received, fees deducted</dt>
        <dd>{exactMoney(totals.received)}</dd>
        <dt>Fees</dt>
        <dd>{exactMoney(totals.fees)}</dd>
        <dt>Grid import not covered</dt>
        <dd>
          {meterKwh(totals.grid_import)} × {perKwh(grid.buy)} = {exactMoney(totals.grid_import_cost)}
        </dd>
        <dt>Export not sold, fed in</dt>
        <dd>
          {meterKwh(totals.grid_export)} × {perKwh(grid.sell)} = {exactMoney(totals.grid_export_income)}
        </dd>
        <dt>Net cost</dt>
        <dd>{exactMoney(totals.net_cost)}</dd>
        <dt>With the grid alone</dt>
        <dd>{exactMoney(totals.grid_only_cost)}</dd>
        <dt>Savings</dt>
        <dd className={totals.savings.startsWith("-") ? "negative" : "positive"}>{exactMoney(totals.savings)}</dd>
        <dt>CO2 avoided</dt>
        <dd>{meterFigure(totals.co2_kg)} kg</dd>
      </dl>
      <p className="hint">
        Trades are paid for the energy the meters say was delivered, and fees are charged on it. The grid's share comes from your meter
        readings at the grid's prices.
      </p>
    </>
  );
}
