//! The Tauri shell: thin commands into the lumea core, its events forwarded to
//! the UI, fill notifications, the app's log, and (on the desktop) one instance
//! with a remembered window. Everything else lives in the core.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use lumea_core::{
    App, AuthLinkResult, BookView, CommandError, DeliveryView, DeveloperSettings, EnergyView, GridPrices, GridTransactionView, HomeSettings,
    InvitationView, MarketEvent, MarketStats, MemberAction, MemberView, ModeView, OpenedLinks, OrderFilter, OrderView, Outcome, Page, PlaceRequest,
    ReadingView, Role, SettingsChange, Side, Statement, SystemClock, TradePrint, TradeView,
};
use tauri::{Emitter, Manager, State};
use tauri_plugin_deep_link::DeepLinkExt;
use tauri_plugin_notification::NotificationExt;
use uuid::Uuid;

type Market<'a> = State<'a, Arc<App>>;
type Reply<T> = Result<T, CommandError>;

#[tauri::command]
async fn book(market: Market<'_>) -> Reply<BookView> {
    market.book().await
}

#[tauri::command]
async fn energy(market: Market<'_>) -> Reply<EnergyView> {
    market.energy().await
}

#[tauri::command]
async fn stats(market: Market<'_>, hours: i64) -> Reply<MarketStats> {
    market.stats(market.now() - Span::hours(hours)).await
}

#[tauri::command]
async fn price_history(market: Market<'_>, hours: i64) -> Reply<Vec<TradePrint>> {
    market.price_history(market.now() - Span::hours(hours)).await
}

#[tauri::command]
async fn delivery(market: Market<'_>) -> Reply<DeliveryView> {
    Ok(market.delivery().await)
}

#[tauri::command]
async fn meter_readings(market: Market<'_>, limit: u32, offset: u32) -> Reply<Vec<ReadingView>> {
    market.readings(Page { limit, offset }).await
}

/// The file's text, as the UI's file picker read it.
#[tauri::command]
async fn import_meter_file(market: Market<'_>, contents: String) -> Reply<u32> {
    market.import_meter_file(&contents).await
}

#[tauri::command]
async fn statement(market: Market<'_>, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> Reply<Statement> {
    market.statement(from, to).await
}

#[tauri::command]
async fn statement_csv(market: Market<'_>, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> Reply<String> {
    market.statement_csv(from, to).await
}

#[tauri::command]
async fn grid_prices(market: Market<'_>) -> Reply<GridPrices> {
    Ok(market.grid_prices().await)
}

#[tauri::command]
async fn place_order(market: Market<'_>, id: Uuid, side: Side, price: String, amount: String, interval: Option<String>) -> Reply<Outcome> {
    let request = PlaceRequest {
        id,
        side,
        price,
        amount,
        expires_at: None,
        interval,
    };
    market.place(&request).await
}

#[tauri::command]
async fn cancel_order(market: Market<'_>, id: Uuid) -> Reply<Outcome> {
    market.cancel(id).await
}

#[tauri::command]
async fn buy_now(market: Market<'_>, order: Uuid, amount: String) -> Reply<Outcome> {
    market.buy_now(order, &amount).await
}

#[tauri::command]
async fn buy_from_grid(market: Market<'_>, amount: String) -> Reply<GridTransactionView> {
    market.grid_trade(Side::Buy, &amount).await
}

#[tauri::command]
async fn sell_to_grid(market: Market<'_>, amount: String) -> Reply<GridTransactionView> {
    market.grid_trade(Side::Sell, &amount).await
}

#[tauri::command]
async fn my_orders(market: Market<'_>, open: Option<bool>, limit: u32, offset: u32) -> Reply<Vec<OrderView>> {
    market.orders(&OrderFilter { open, side: None }, Page { limit, offset }).await
}

#[tauri::command]
async fn my_trades(market: Market<'_>, limit: u32, offset: u32) -> Reply<Vec<TradeView>> {
    market.trades(Page { limit, offset }).await
}

#[tauri::command]
async fn mode(market: Market<'_>) -> Reply<ModeView> {
    Ok(market.mode().await)
}

#[tauri::command]
async fn home_settings(market: Market<'_>) -> Reply<Option<HomeSettings>> {
    Ok(market.home_settings())
}

#[tauri::command]
async fn save_home(market: Market<'_>, home: HomeSettings) -> Reply<HomeSettings> {
    market.save_home(&home).await
}

#[tauri::command]
async fn explore_demo(market: Market<'_>) -> Reply<ModeView> {
    market.explore_demo().await
}

#[tauri::command]
async fn sign_in(market: Market<'_>, url: String, anon_key: String, email: String, password: String) -> Reply<ModeView> {
    market.sign_in(&url, &anon_key, &email, &password).await
}

#[tauri::command]
async fn sign_up(market: Market<'_>, invitation: String, email: String, password: String, username: String) -> Reply<ModeView> {
    market.sign_up(&invitation, &email, &password, &username).await
}

#[tauri::command]
async fn join_community(market: Market<'_>, invitation: String, username: String) -> Reply<ModeView> {
    market.join(&invitation, &username).await
}

#[tauri::command]
async fn community_members(market: Market<'_>) -> Reply<Vec<MemberView>> {
    market.members().await
}

#[tauri::command]
async fn manage_member(market: Market<'_>, member: Uuid, action: MemberAction) -> Reply<MemberView> {
    market.manage_member(member, action).await
}

#[tauri::command]
async fn create_invitation(market: Market<'_>, uses: u32, days: u32, pre_approved: bool) -> Reply<InvitationView> {
    market.create_invitation(uses, days, pre_approved).await
}

#[tauri::command]
async fn community_invitations(market: Market<'_>) -> Reply<Vec<InvitationView>> {
    market.invitations().await
}

#[tauri::command]
async fn revoke_invitation(market: Market<'_>, invitation: Uuid) -> Reply<InvitationView> {
    market.revoke_invitation(invitation).await
}

#[tauri::command]
async fn community_settings(market: Market<'_>) -> Reply<SettingsChange> {
    market.community_settings().await
}

#[tauri::command]
async fn update_community_settings(market: Market<'_>, change: SettingsChange) -> Reply<()> {
    market.update_community_settings(&change).await
}

#[tauri::command]
async fn request_password_reset(market: Market<'_>, email: String) -> Reply<()> {
    market.request_password_reset(&email).await
}

#[tauri::command]
async fn set_new_password(market: Market<'_>, password: String) -> Reply<()> {
    market.set_new_password(&password).await
}

#[tauri::command]
fn opened_links(inbox: State<'_, LinkInbox>) -> OpenedLinks {
    std::mem::take(&mut inbox.0.lock().unwrap())
}

#[tauri::command]
async fn use_local_mode(market: Market<'_>) -> Reply<ModeView> {
    Ok(market.use_local().await)
}

#[derive(Default)]
struct LinkInbox(std::sync::Mutex<OpenedLinks>);

/// A lumea:// link the OS opened the app with: an invitation goes to the UI's
/// sign-up, an e-mail's link is finished by the core and its outcome told.
/// At the app's start, before the UI has loaded, both wait in the inbox instead.
fn open_link(app: &tauri::AppHandle, url: &str, at_start: bool) {
    if url.starts_with("lumea://join") {
        if at_start {
            app.state::<LinkInbox>().0.lock().unwrap().invitation = Some(url.to_string());
        } else {
            let _ = app.emit("invitation-opened", url);
        }
    } else if url.starts_with("lumea://auth/") {
        let (app, url) = (app.clone(), url.to_string());
        tauri::async_runtime::spawn(async move {
            let market = app.state::<Arc<App>>().inner().clone();
            let outcome = match market.complete_auth_link(&url).await {
                Ok(kind) => AuthLinkResult {
                    kind: Some(kind),
                    error: None,
                },
                Err(err) => AuthLinkResult {
                    kind: None,
                    error: Some(err.code),
                },
            };
            if at_start {
                app.state::<LinkInbox>().0.lock().unwrap().auth = Some(outcome);
            } else {
                let _ = app.emit("auth-link", &outcome);
            }
        });
    } else {
        log::warn!("a lumea link of no known kind was ignored");
    }
    #[cfg(desktop)]
    focus_main_window(app);
}

/// The system notification for a fill of one of the household's waiting orders
/// (its own purchases and crossing orders it has just seen confirmed).
fn fill_notice(trade: &TradeView) -> Option<(String, String)> {
    if !trade.filled_resting_order_of_viewer() {
        return None;
    }
    let (title, counterpart) = match trade.role {
        Role::Sold => ("Your sell order filled", &trade.buyer),
        Role::Bought | Role::Other => ("Your buy order filled", &trade.seller),
    };
    Some((
        title.to_string(),
        format!("{} kWh at ${}/kWh with {counterpart}: ${}", trade.amount, trade.price, trade.total),
    ))
}

/// Sends every market event to the UI, and a system notification for each of the household's fills.
fn forward_events(app: tauri::AppHandle, market: &App) {
    let mut events = market.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let MarketEvent::TradeExecuted { trade } = &event
                        && let Some((title, body)) = fill_notice(trade)
                    {
                        // No notification service (a bare test display) must not stop the market.
                        let _ = app.notification().builder().title(title).body(body).show();
                    }
                    let _ = app.emit("market", &event);
                }
                // Events were dropped: the UI reads every view again.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let _ = app.emit("market", &MarketEvent::Resync);
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Expires due orders every few seconds, so an idle book still changes on time.
fn expire_orders(market: Arc<App>) {
    tauri::async_runtime::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticker.tick().await;
            if let Err(err) = market.expire_due().await {
                log::warn!("expiring orders: {err}");
            }
        }
    });
}

/// The app's log: stdout, and `lumea-market.log` in the platform's log
/// directory (on Linux `$XDG_DATA_HOME/market.lumea.energy/logs/`, by default
/// `~/.local/share/market.lumea.energy/logs/`), a file a household can send.
/// `info` and up; `LUMEA_LOG=debug` (or `trace`, `warn`, …) changes the level.
fn logger() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    use tauri_plugin_log::{RotationStrategy, Target, TargetKind};
    let level = std::env::var("LUMEA_LOG")
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    tauri_plugin_log::Builder::new()
        .clear_targets()
        .targets([
            Target::new(TargetKind::Stdout),
            Target::new(TargetKind::LogDir {
                file_name: Some("lumea-market".into()),
            }),
        ])
        .level(level)
        // The single-instance plugin's D-Bus calls, one line each at `info`.
        .level_for("zbus", log::LevelFilter::Warn)
        .max_file_size(1_000_000)
        .rotation_strategy(RotationStrategy::KeepSome(3))
        .build()
}

/// A second launch brings the running window forward instead of opening the market file twice.
#[cfg(desktop)]
fn focus_main_window(app: &tauri::AppHandle) {
    log::info!("a second launch: focusing the running window");
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The links the app was started with and those opened while it runs.
fn follow_links(app: &tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    // Linux (and Windows in development) learn the scheme at run time; the
    // installed packages also declare it in their desktop entry.
    #[cfg(any(target_os = "linux", all(windows, debug_assertions)))]
    if let Err(err) = app.deep_link().register_all() {
        log::warn!("lumea:// links could not be registered: {err}");
    }
    for url in app.deep_link().get_current()?.unwrap_or_default() {
        open_link(app.handle(), url.as_str(), true);
    }
    let handle = app.handle().clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            open_link(&handle, url.as_str(), false);
        }
    });
    Ok(())
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let builder = tauri::Builder::default();
    // First of all: a second instance hands over to the running one and exits
    // before any other plugin or the setup (which locks the market file) runs.
    #[cfg(desktop)]
    let builder = builder
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| focus_main_window(app)))
        .plugin(tauri_plugin_window_state::Builder::new().build());
    let ran = builder
        .plugin(logger())
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let dir = app.path().app_data_dir()?;
            std::fs::create_dir_all(&dir)?;
            let path = std::env::var_os("LUMEA_DB").map_or_else(|| dir.join("market.sqlite"), Into::into);
            log::info!("Luméa Market {} on {}", app.package_info().version, path.display());
            let opened = tauri::async_runtime::block_on(App::open(&dir, &path, Arc::new(SystemClock), rand_seed(), DeveloperSettings::from_env()));
            // Tauri panics on a setup error: say why in the log first.
            let market = opened.inspect_err(|err| log::error!("the market file {} could not be opened: {err}", path.display()))?;
            forward_events(app.handle().clone(), &market);
            expire_orders(market.clone());
            app.manage(market);
            app.manage(LinkInbox::default());
            follow_links(app)?;
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            // Each one is listed in build.rs and granted in capabilities/ (permissions/market.toml).
            book,
            energy,
            stats,
            price_history,
            grid_prices,
            delivery,
            meter_readings,
            import_meter_file,
            statement,
            statement_csv,
            place_order,
            cancel_order,
            buy_now,
            buy_from_grid,
            sell_to_grid,
            my_orders,
            my_trades,
            mode,
            home_settings,
            save_home,
            explore_demo,
            sign_in,
            sign_up,
            join_community,
            community_members,
            manage_member,
            create_invitation,
            community_invitations,
            revoke_invitation,
            community_settings,
            update_community_settings,
            request_password_reset,
            set_new_password,
            opened_links,
            use_local_mode
        ])
        .run(tauri::generate_context!());
    // In the log file too, when the logger got that far.
    ran.inspect_err(|err| log::error!("the Luméa window could not be opened: {err}"))
        .expect("the Luméa window could not be opened");
}

/// A different neighbourhood story each run.
fn rand_seed() -> u64 {
    Uuid::new_v4().as_u64_pair().0
}
