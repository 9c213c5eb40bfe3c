import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useEffectEvent, useRef, useState } from "react";
import { api, onAuthLink, onInvitationOpened } from "./api";
import type { AuthLinkResult } from "./bindings/AuthLinkResult";
import type { Connection } from "./bindings/Connection";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { ModeView } from "./bindings/ModeView";
import type { OrderView } from "./bindings/OrderView";
import type { TradeView } from "./bindings/TradeView";
import { BuyOptionsModal } from "./components/BuyOptionsModal";
import { CommunitySettingsModal } from "./components/CommunitySettingsModal";
import { ConfirmMarketOrderModal } from "./components/ConfirmMarketOrderModal";
import { ConsoleButton } from "./components/Console";
import { FirstRun, type FirstRunStep } from "./components/FirstRun";
import { Battery, MarketSummary, Meter, MyOrders, Tokens, TradeHistory } from "./components/Home";
import { HomeModal } from "./components/HomeForm";
import type { IntervalChoice } from "./components/IntervalPicker";
import { NewPasswordModal } from "./components/NewPasswordModal";
import { P2PMarketModal } from "./components/P2PMarketModal";
import { PlaceBuyOrderModal, PlaceSellOrderModal } from "./components/PlaceSellOrderModal";
import { PriceChart } from "./components/PriceChart";
import { SellOptionsModal } from "./components/SellOptionsModal";
import { StatementModal } from "./components/StatementModal";
import { Toasts, type Toast } from "./components/Toasts";
import { selectedInterval, stillOpen } from "./market/delivery";
import { sentence } from "./market/errors";
import { kwh, money, perKwh, writeFiguresAs } from "./market/format";
import { joinedMessage, membershipBanner } from "./market/membership";
import { homeQuery, views } from "./queries";
import { codeOf } from "./useCommand";
import { useHome, useMarket, useMode, useNow, type Market } from "./useMarket";

type Open =
  | { modal: "buy-options" }
  | { modal: "sell-options" }
  | { modal: "market"; tab: "asks" | "bids" }
  | { modal: "place"; side: "sell" | "buy" }
  | { modal: "confirm"; offer: OrderView }
  | { modal: "statement" }
  | { modal: "settings"; invitation?: string }
  | { modal: "home" }
  | { modal: "new-password" }
  | null;

const TOAST_MS = 6000;

export function App() {
  const [open, setOpenState] = useState<Open>(null);
  // Focus goes back to what opened the first modal of a chain (Buy Energy →
  // market → confirm) once the last one closes.
  const opener = useRef<HTMLElement | null>(null);
  const setOpen = useCallback((next: Open) => {
    setOpenState((current) => {
      if (current === null && next !== null) opener.current = document.activeElement as HTMLElement | null;
      return next;
    });
  }, []);
  useEffect(() => {
    if (open === null && opener.current?.isConnected) {
      opener.current.focus();
      opener.current = null;
    }
  }, [open]);
  const [tradePage, setTradePage] = useState(0);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextToast = useRef(1);

  const notify = useCallback((message: string, tone: Toast["tone"] = "info") => {
    const id = nextToast.current++;
    setToasts((all) => [...all, { id, message, tone }]);
    setTimeout(() => setToasts((all) => all.filter((toast) => toast.id !== id)), TOAST_MS);
  }, []);
  const onFill = useCallback(
    (trade: TradeView) =>
      notify(
        trade.role === "sold"
          ? `${trade.buyer} bought ${kwh(trade.amount)} of your energy at ${perKwh(trade.price)} (${money(trade.total)}).`
          : `You bought ${kwh(trade.amount)} from ${trade.seller} at ${perKwh(trade.price)} (${money(trade.total)}).`,
      ),
    [notify],
  );
  const onRefused = useCallback((code: ErrorCode) => notify(`An order made offline was refused: ${sentence(code)}`, "error"), [notify]);
  const onRefreshFailed = useCallback(
    (code: ErrorCode) => notify(`Couldn't refresh the market, so it shows the last figures received. ${sentence(code)}`, "error"),
    [notify],
  );
  const { state, reload } = useMarket(tradePage, { onFill, onRefused, onRefreshFailed });
  const mode = useMode();
  const home = useHome();
  // Every figure rendered below is written the home's way (the demo's $ without a home).
  writeFiguresAs(home);
  const done = (message: string) => {
    setOpen(null);
    notify(message);
  };

  const [step, setStep] = useState<FirstRunStep | null>(null);
  const [invitation, setInvitation] = useState<string | null>(null);
  // The join step outlives "unset": the home is saved by then.
  const firstRun = mode !== null && (mode.setup === "unset" || step !== null);
  const finishFirstRun = (message: string) => {
    setStep(null);
    setInvitation(null);
    done(message);
  };

  const client = useQueryClient();
  /** A member already: says so. Signed in without a membership: the join form. Otherwise the first run's sign-up, after the home. */
  const invitationOpened = useEffectEvent((link: string) => {
    if (mode?.community && mode.membership !== "none") return notify(sentence("already_member"), "error");
    if (mode?.community) return setOpen({ modal: "settings", invitation: link });
    setOpen(null);
    setInvitation(link);
    setStep(home ? "join" : "home");
  });
  const authLinkOpened = useEffectEvent(async ({ kind, error }: AuthLinkResult) => {
    if (kind === "recovery") return setOpen({ modal: "new-password" });
    if (kind === null) return notify(sentence(error ?? "invalid_auth_link"), "error");
    try {
      // Confirmed, the core has signed in and joined with the invitation it kept.
      const next = await client.fetchQuery({ ...views.mode, staleTime: 0 });
      finishFirstRun(`Your email is confirmed. ${joinedMessage(next)}`);
    } catch (err) {
      notify(sentence(codeOf(err)), "error");
    }
  });
  useEffect(() => {
    const stops = [onInvitationOpened((link) => invitationOpened(link)), onAuthLink((result) => void authLinkOpened(result))];
    return () => {
      for (const stop of stops) void stop.then((unlisten) => unlisten());
    };
  }, []);
  // A link the app was started with waited in the shell: taken once the mode and home it is read against are known.
  const homeLoaded = useQuery(homeQuery).isSuccess;
  const linksReady = mode !== null && homeLoaded;
  useEffect(() => {
    if (!linksReady) return;
    void api.openedLinks().then(({ invitation, auth }) => {
      if (invitation !== null) invitationOpened(invitation);
      if (auth !== null) void authLinkOpened(auth);
    });
  }, [linksReady]);

  return (
    <div className="app">
      <header className="app-header">
        <h1>
          Luméa <span className="muted">Market</span>
        </h1>
        <p className="muted">Trade energy with your neighbours.</p>
        {mode && !firstRun && (
          <button type="button" className="connection" onClick={() => setOpen({ modal: "settings" })} aria-label={`${CONNECTION[mode.connection]}. Market settings`}>
            <span className={`dot dot-${mode.connection}`} aria-hidden="true" />
            {mode.community ? `${mode.community_id} · ${CONNECTION[mode.connection]}` : CONNECTION.local}
          </button>
        )}
        {mode && <ConsoleButton mode={mode} />}
      </header>
      {mode && !firstRun && <MembershipBanner mode={mode} onJoin={() => setOpen({ modal: "settings" })} />}
      {open?.modal === "settings" && mode && (
        <CommunitySettingsModal
          key={open.invitation}
          mode={mode}
          home={home}
          invitation={open.invitation}
          onChanged={(_, message) => done(message)}
          onEditHome={() => setOpen({ modal: "home" })}
          onClose={() => setOpen(null)}
        />
      )}
      {open?.modal === "home" && <HomeModal home={home} onSaved={() => done("Your home is saved.")} onClose={() => setOpen(null)} />}
      {open?.modal === "new-password" && <NewPasswordModal onSaved={() => done("Your new password is saved.")} onClose={() => setOpen(null)} />}
      {firstRun && <FirstRun mode={mode} home={home} step={step} invitation={invitation} onStep={setStep} onFinished={finishFirstRun} />}
      {!firstRun && state.status === "loading" && <p className="loading">Loading the market…</p>}
      {!firstRun && state.status === "failed" && (
        <div className="banner banner-error" role="alert">
          <p>{sentence(state.code)}</p>
          <button type="button" className="button" onClick={() => void reload()}>
            Try again
          </button>
        </div>
      )}
      {!firstRun && state.status === "ready" && (
        <Screen market={state.market} open={open} setOpen={setOpen} done={done} notify={notify} tradePage={tradePage} setTradePage={setTradePage} />
      )}
      <Toasts toasts={toasts} onDismiss={(id) => setToasts((all) => all.filter((toast) => toast.id !== id))} />
    </div>
  );
}

/** Community mode, while the household can't trade: why, until an admin approves or reinstates it. */
function MembershipBanner({ mode, onJoin }: { mode: ModeView; onJoin: () => void }) {
  const text = membershipBanner(mode);
  if (text === null) return null;
  return (
    <div className={`banner banner-membership banner-${mode.membership}`} role="status">
      <p>{text}</p>
      {mode.membership === "none" && (
        <button type="button" className="button" onClick={onJoin}>
          Paste an invitation
        </button>
      )}
    </div>
  );
}

/** What the connection indicator says. */
const CONNECTION: Record<Connection, string> = {
  local: "Local demo market",
  connecting: "Connecting…",
  online: "Online",
  offline: "Offline: orders wait and are sent when back",
  signed_out: "Signed out: sign in again",
};

type ScreenProps = {
  market: Market;
  open: Open;
  setOpen: (open: Open) => void;
  done: (message: string) => void;
  notify: (message: string, tone?: Toast["tone"]) => void;
  tradePage: number;
  setTradePage: (page: number) => void;
};

function Screen({ market, open, setOpen, done, notify, tradePage, setTradePage }: ScreenProps) {
  const close = () => setOpen(null);
  const { rules } = market.delivery;
  // The interval the market shows and orders are for: the one chosen while it is open, else the first open one.
  const now = useNow(market.delivery.intervals.map((interval) => Date.parse(interval.closes_at)));
  const intervals = stillOpen(market.delivery.intervals, now);
  const [chosen, setChosen] = useState<string | null>(null);
  const interval: IntervalChoice = { intervals, selected: selectedInterval(intervals, chosen), onSelect: setChosen };
  return (
    <main>
      <div className="actions hero">
        <button type="button" className="button button-primary button-large" onClick={() => setOpen({ modal: "buy-options" })}>
          Buy Energy
        </button>
        <button type="button" className="button button-primary button-large" onClick={() => setOpen({ modal: "sell-options" })}>
          Sell Energy
        </button>
        <button type="button" className="button button-large" onClick={() => setOpen({ modal: "market", tab: "asks" })}>
          Order Book
        </button>
        <button type="button" className="button button-large" onClick={() => setOpen({ modal: "statement" })}>
          Statements
        </button>
      </div>
      <div className="cards">
        <Battery energy={market.energy} />
        <Tokens energy={market.energy} />
        <MarketSummary stats={market.stats} />
        <section className="card wide" aria-labelledby="history-title">
          <h2 id="history-title">Price history</h2>
          <PriceChart history={market.history} />
        </section>
        <MyOrders orders={market.orders} minutes={rules.interval_minutes} onMessage={notify} />
        <TradeHistory trades={market.trades} minutes={rules.interval_minutes} page={tradePage} onPage={setTradePage} />
        <Meter minutes={rules.interval_minutes} onMessage={notify} />
      </div>
      {open?.modal === "buy-options" && (
        <BuyOptionsModal energy={market.energy} grid={market.grid} onViewOffers={() => setOpen({ modal: "market", tab: "asks" })} onDone={done} onClose={close} />
      )}
      {open?.modal === "sell-options" && (
        <SellOptionsModal energy={market.energy} grid={market.grid} onPlaceSellOrder={() => setOpen({ modal: "place", side: "sell" })} onDone={done} onClose={close} />
      )}
      {open?.modal === "market" && (
        <P2PMarketModal
          book={market.book}
          interval={interval}
          initialTab={open.tab}
          onBuy={(offer) => setOpen({ modal: "confirm", offer })}
          onPlaceSellOrder={() => setOpen({ modal: "place", side: "sell" })}
          onPlaceBuyOrder={() => setOpen({ modal: "place", side: "buy" })}
          onClose={close}
        />
      )}
      {open?.modal === "place" && open.side === "sell" && (
        <PlaceSellOrderModal energy={market.energy} grid={market.grid} rules={rules} interval={interval} onPlaced={done} onClose={close} />
      )}
      {open?.modal === "place" && open.side === "buy" && (
        <PlaceBuyOrderModal energy={market.energy} grid={market.grid} rules={rules} interval={interval} onPlaced={done} onClose={close} />
      )}
      {open?.modal === "confirm" && (
        <ConfirmMarketOrderModal
          offer={market.book.asks.find((order) => order.id === open.offer.id) ?? open.offer}
          energy={market.energy}
          grid={market.grid}
          rules={rules}
          onBought={done}
          onClose={() => setOpen({ modal: "market", tab: "asks" })}
        />
      )}
      {open?.modal === "statement" && <StatementModal grid={market.grid} minutes={rules.interval_minutes} onClose={close} />}
    </main>
  );
}
