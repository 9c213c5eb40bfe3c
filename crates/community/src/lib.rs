//! Community mode: the household trades in its community's market on a
//! Supabase project. The server holds the market; this app keeps a SQLite
//! cache of the community's open book and of its own orders and trades, kept
//! current by Realtime and by a REST snapshot after every (re)join. The UI
//! reads the cache and hears the same events as in local mode.
//!
//! Commands go through an outbox: each is stored with its own id before it is
//! sent, and sent again with the same id until the server answers (the
//! functions are idempotent), so a command made offline is kept, shown as
//! pending, and happens once. The battery stays here: the server cannot see
//! it, so its headroom and stored energy are checked before anything is sent.

pub mod api;
pub mod auth_link;
mod cache;
pub mod console;
pub mod invitation;
pub mod realtime;
pub mod secrets;
pub mod wire;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tokio::sync::{Mutex, broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use api::{Api, MemberAction, Project, Session, SignUp};
pub use cache::Standing;
use cache::{Account, Command, Queued};
use lumea_market::delivery::DeliveryRules;
use lumea_market::energy::{Battery, Co2Intensity, GridPrices};
use lumea_market::geo::Location;
use lumea_market::rules::{self, BuyNow, Cancel, Place};
use lumea_market::stats::{MarketStats, TradePrint};
use lumea_market::{Energy, ErrorCode, FastBook, Market, Money, Price, Reason, Side, Status};
use lumea_store::clock::Clock;
use lumea_store::rows::{self, Page};
use lumea_store::settlement::ReadingView;
use lumea_store::statement::{self, Statement, StatementTrade};
use lumea_store::{
    BookView, Connection, EnergyView, GridTransactionView, MarketEvent, OrderFilter, OrderUpdate, OrderView, Outcome, PlaceRequest, TradeView,
};
use realtime::{Change, ChangeKind, Feed, Subscription};
pub use secrets::SessionStore;
use sqlx::Row;
use wire::{BookRow, CachedOrder, CachedPrint, CachedTrade, DistanceRow, Numeric, OrderRow, PrintRow, ReadingRow, TradeRow};
pub use wire::{MemberRole, MembershipRow, MembershipStatus};

/// A failure to talk with the community market.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("the community market cannot be reached ({0})")]
    Offline(String),
    #[error("the community market failed (HTTP {0})")]
    Server(u16),
    #[error("the community market sent an answer this app cannot use: {0}")]
    BadAnswer(String),
    /// A refusal by the market's functions that local mode has no reason for.
    #[error("the community market refused: {0}")]
    Refused(String),
    #[error("the session ended: sign in again")]
    SignedOut,
    #[error("sign-in failed: {}", .0.as_str())]
    Auth(ErrorCode),
    #[error("this project setting is not valid: {0}")]
    Settings(&'static str),
    #[error("this invitation link or code is not valid")]
    Invitation,
}

/// Refusals only the community market gives (its rules beyond the engine's,
/// membership, invitations and the operator's console).
const SERVER_REASONS: [ErrorCode; 25] = [
    ErrorCode::TooManyOpenOrders,
    ErrorCode::InvalidSide,
    ErrorCode::InvalidOrderId,
    ErrorCode::InvalidRef,
    ErrorCode::NotAuthenticated,
    ErrorCode::NotMember,
    ErrorCode::MembershipPending,
    ErrorCode::MembershipSuspended,
    ErrorCode::AlreadyMember,
    ErrorCode::InvalidInvitation,
    ErrorCode::InvitationExpired,
    ErrorCode::InvitationUsedUp,
    ErrorCode::InvitationRevoked,
    ErrorCode::InvalidInvitationSettings,
    ErrorCode::UnknownInvitation,
    ErrorCode::UsernameTaken,
    ErrorCode::NotAdmin,
    ErrorCode::LastAdmin,
    ErrorCode::UnknownMember,
    ErrorCode::InvalidMemberStatus,
    ErrorCode::InvalidAction,
    ErrorCode::InvalidCommunity,
    ErrorCode::CommunityExists,
    ErrorCode::HomeChangeTooSoon,
    ErrorCode::InvalidSetting,
];

impl RemoteError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RemoteError::Offline(_) => ErrorCode::Offline,
            RemoteError::Server(_) => ErrorCode::ServerError,
            RemoteError::BadAnswer(_) => ErrorCode::BadServerAnswer,
            RemoteError::Refused(code) => ErrorCode::parse(code)
                .filter(|known| SERVER_REASONS.contains(known))
                .unwrap_or(ErrorCode::Refused),
            RemoteError::SignedOut => ErrorCode::SignedOut,
            RemoteError::Auth(code) => *code,
            RemoteError::Settings(_) => ErrorCode::InvalidProject,
            RemoteError::Invitation => ErrorCode::InvalidInvitation,
        }
    }

    /// The server said no: sending the command again cannot change that.
    fn is_refusal(&self) -> bool {
        matches!(self, RemoteError::Refused(_))
    }
}

/// Why a community-mode command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The market's own rules refused it, here or on the server.
    #[error("{0}")]
    Rejected(#[from] Reason),
    /// The cache could not be read or written.
    #[error(transparent)]
    Store(#[from] lumea_store::Error),
    #[error(transparent)]
    Remote(RemoteError),
}

impl From<RemoteError> for Error {
    /// A refusal by the community market's functions is the same refusal as in local mode.
    fn from(err: RemoteError) -> Self {
        match &err {
            RemoteError::Refused(code) => match Reason::ALL.into_iter().find(|r| r.code() == code) {
                Some(reason) => Error::Rejected(reason),
                None => Error::Remote(err),
            },
            _ => Error::Remote(err),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Store(err.into())
    }
}

impl Error {
    /// The stable code the UI maps to a sentence.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Rejected(reason) => ErrorCode::from(*reason),
            Error::Store(err) => err.code(),
            Error::Remote(err) => err.code(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a community market keeps its files.
pub struct Paths<'a> {
    pub cache: &'a Path,
    /// Where the session's tokens are kept, readable by this user only.
    pub session: SessionStore,
}

/// The community market as this household sees it.
pub struct CommunityMarket {
    api: Api,
    pool: SqlitePool,
    account: Account,
    /// The membership as last heard: an admin approves or suspends it while the app runs.
    standing: std::sync::Mutex<Standing>,
    session: Mutex<Session>,
    sessions: SessionStore,
    tokens: watch::Sender<String>,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<MarketEvent>,
    connection: std::sync::Mutex<Connection>,
    /// One sender of the outbox at a time, so commands reach the server in order.
    outbox: Mutex<()>,
    /// One writer of the cache at a time (snapshot, change, confirmation).
    writer: Mutex<()>,
    /// A command is waiting: the follower retries sending it until it goes.
    queued: tokio::sync::Notify,
    /// The realtime connection and the follower that applies what it hears.
    tasks: std::sync::Mutex<Option<(JoinHandle<()>, JoinHandle<()>)>>,
    /// Asks the follower to stop between two pieces of work, never inside one.
    stopping: watch::Sender<bool>,
}

impl Standing {
    fn of(membership: Option<&MembershipRow>) -> Result<Standing, RemoteError> {
        let Some(row) = membership else {
            return Ok(Standing::default());
        };
        let (grid, co2, delivery) = match &row.settings {
            Some(settings) => {
                let (grid, co2) = settings.check().map_err(RemoteError::BadAnswer)?;
                (grid, co2, settings.delivery().map_err(RemoteError::BadAnswer)?)
            }
            None => (GridPrices::default(), Co2Intensity::default(), DeliveryRules::default()),
        };
        Ok(Standing {
            membership: Some(row.membership_id),
            community_name: row.community_name.clone(),
            role: row.role,
            status: row.status,
            grid,
            co2,
            delivery,
        })
    }
}

/// How a command ended this time.
enum Sent {
    Confirmed(Outcome),
    Refused(Error),
    Pending,
}

impl CommunityMarket {
    /// Opens the cache for `session`'s household and starts following the
    /// market. A new cache starts with `battery`'s capacity and level; offline,
    /// a cache opened before is used as it is.
    pub async fn open(api: Api, session: Session, paths: Paths<'_>, battery: Battery, clock: Arc<dyn Clock>) -> Result<Arc<CommunityMarket>> {
        let pool = cache::open(paths.cache).await?;
        let (tokens, _) = watch::channel(session.access_token.clone());
        let cached = cache::account(&pool)
            .await?
            .filter(|a| a.user_id == session.user_id && a.project_url == api.project().url);
        let placeholder = Account {
            project_url: api.project().url.clone(),
            user_id: session.user_id,
            username: String::new(),
            community: String::new(),
            home: None,
            capacity: battery.capacity,
            opening: battery.level,
            standing: Standing::default(),
        };
        let (events, _) = broadcast::channel(4096);
        let account = cached.clone().unwrap_or(placeholder);
        let mut market = CommunityMarket {
            api,
            pool,
            standing: std::sync::Mutex::new(account.standing.clone()),
            account,
            session: Mutex::new(session),
            sessions: paths.session,
            tokens,
            clock,
            events,
            connection: std::sync::Mutex::new(Connection::Connecting),
            outbox: Mutex::new(()),
            writer: Mutex::new(()),
            queued: tokio::sync::Notify::new(),
            tasks: std::sync::Mutex::new(None),
            stopping: watch::channel(false).0,
        };
        let api = market.api.clone();
        let api = &api;
        let heard = async {
            let profile = market.authorized(|s| async move { api.profile(&s).await }).await?;
            let membership = market.authorized(|s| async move { api.membership(&s).await }).await?;
            Ok::<_, RemoteError>((profile, membership))
        };
        match heard.await {
            Ok((profile, membership)) => {
                let standing = Standing::of(membership.as_ref())?;
                market.account = Account {
                    username: membership.as_ref().map(|m| m.display_name.clone()).unwrap_or_default(),
                    community: membership.map(|m| m.community_id).unwrap_or_default(),
                    home: profile.location(),
                    standing: standing.clone(),
                    ..market.account
                };
                *market.standing.lock().unwrap() = standing;
                cache::save_account(&market.pool, &market.account).await?;
            }
            Err(RemoteError::Offline(_) | RemoteError::Server(_)) if cached.is_some() => {}
            Err(err) => return Err(err.into()),
        }
        let session = market.session.lock().await.clone();
        market.sessions.save(&session).map_err(sqlx::Error::Io)?;
        let market = Arc::new(market);
        market.start();
        Ok(market)
    }

    fn start(self: &Arc<Self>) {
        let subscriptions = vec![
            Subscription {
                table: "open_orders",
                event: "*",
                filter: Some(format!("community_id=eq.{}", self.account.community)),
            },
            Subscription {
                table: "market_orders",
                event: "*",
                filter: Some(format!("user_id=eq.{}", self.account.user_id)),
            },
            Subscription {
                table: "household_trades",
                event: "INSERT",
                filter: Some(format!("user_id=eq.{}", self.account.user_id)),
            },
            Subscription {
                table: "trade_prints",
                event: "INSERT",
                filter: Some(format!("community_id=eq.{}", self.account.community)),
            },
            Subscription {
                table: "memberships",
                event: "*",
                filter: Some(format!("user_id=eq.{}", self.account.user_id)),
            },
            Subscription {
                table: "communities",
                event: "UPDATE",
                filter: Some(format!("id=eq.{}", self.account.community)),
            },
        ];
        let (feed_in, feed_out) = mpsc::channel(4096);
        let endpoint = self.api.project().realtime_endpoint();
        let realtime = tokio::spawn(realtime::run(endpoint, subscriptions, self.tokens.subscribe(), feed_in));
        let follower = tokio::spawn(Arc::clone(self).follow(feed_out, self.stopping.subscribe()));
        *self.tasks.lock().unwrap() = Some((realtime, follower));
    }

    /// Stops following the market; the cache stays as it is.
    pub async fn close(&self) {
        let tasks = self.tasks.lock().unwrap().take();
        if let Some((realtime, follower)) = tasks {
            realtime.abort();
            // Stopped between two transactions, the follower has given back the file's only connection.
            self.stopping.send_replace(true);
            let _ = follower.await;
        }
        lumea_store::close_file(&self.pool).await;
    }

    /// Signs out at the server (best effort: offline, the tokens are forgotten anyway).
    pub async fn sign_out(&self) {
        let session = self.session.lock().await.clone();
        let _ = self.api.sign_out(&session).await;
        self.sessions.forget();
        self.close().await;
    }

    pub fn subscribe(&self) -> broadcast::Receiver<MarketEvent> {
        self.events.subscribe()
    }

    pub fn connection(&self) -> Connection {
        *self.connection.lock().unwrap()
    }

    pub fn household_id(&self) -> String {
        self.account.user_id.to_string()
    }

    pub async fn email(&self) -> String {
        self.session.lock().await.email.clone()
    }

    pub fn username(&self) -> &str {
        &self.account.username
    }

    pub fn community(&self) -> &str {
        &self.account.community
    }

    pub fn project(&self) -> Project {
        self.api.project().clone()
    }

    pub async fn session(&self) -> Session {
        self.session.lock().await.clone()
    }

    /// Joins the invitation's community (on this market's project) under `display_name`.
    pub async fn join(&self, invitation: &invitation::Invitation, display_name: &str) -> Result<MembershipRow> {
        if invitation.project_url != self.api.project().url {
            return Err(RemoteError::Invitation.into());
        }
        let api = &self.api;
        let joined = self
            .authorized(|s| async move { api.join(&s, &invitation.community, &invitation.token, display_name).await })
            .await?;
        self.hear_membership(Some(&joined)).await?;
        Ok(joined)
    }

    // The operator's console ------------------------------------------------

    pub async fn members(&self) -> Result<Vec<console::MemberView>> {
        let (api, community) = (&self.api, self.community());
        let rows = self.authorized(|s| async move { api.members(&s, community).await }).await?;
        Ok(rows
            .into_iter()
            .map(console::MemberRow::check)
            .collect::<Result<_, _>>()
            .map_err(RemoteError::BadAnswer)?)
    }

    pub async fn manage_member(&self, member: Uuid, action: MemberAction) -> Result<console::MemberView> {
        let (api, community) = (&self.api, self.community());
        let row = self
            .authorized(|s| async move { api.manage_member(&s, community, member, action).await })
            .await?;
        Ok(row.check().map_err(RemoteError::BadAnswer)?)
    }

    /// A new invitation to this community, with its link and code.
    pub async fn create_invitation(&self, uses: u32, expires_at: DateTime<Utc>, pre_approved: bool) -> Result<console::InvitationView> {
        let (api, community) = (&self.api, self.community());
        let row = self
            .authorized(|s| async move { api.create_invitation(&s, community, uses, expires_at, pre_approved).await })
            .await?;
        Ok(self.invitation_view(row))
    }

    pub async fn invitations(&self) -> Result<Vec<console::InvitationView>> {
        let (api, community) = (&self.api, self.community());
        let rows = self.authorized(|s| async move { api.invitations(&s, community).await }).await?;
        Ok(rows.into_iter().map(|row| self.invitation_view(row)).collect())
    }

    pub async fn revoke_invitation(&self, invitation: Uuid) -> Result<console::InvitationView> {
        let (api, community) = (&self.api, self.community());
        let row = self
            .authorized(|s| async move { api.revoke_invitation(&s, community, invitation).await })
            .await?;
        Ok(self.invitation_view(row))
    }

    /// Changes the community's settings, checked with the market's rules first.
    pub async fn update_settings(&self, change: &console::SettingsChange) -> Result<()> {
        let arguments = change.arguments(self.community()).ok_or(Reason::InvalidSetting)?;
        let api = &self.api;
        let arguments = &arguments;
        self.authorized(|s| async move { api.update_settings(&s, arguments).await }).await?;
        Ok(())
    }

    /// The community's settings now, every one set, for the console's form.
    pub async fn settings(&self) -> Result<console::SettingsChange> {
        let api = &self.api;
        let membership = self.authorized(|s| async move { api.membership(&s).await }).await?;
        let Some((settings, name)) = membership.and_then(|m| m.settings.zip(Some(m.community_name))) else {
            return Err(RemoteError::Refused(ErrorCode::NotMember.as_str().into()).into());
        };
        let text = |value: Option<Numeric>| value.map(|n| n.0.normalize().to_string());
        Ok(console::SettingsChange {
            name: Some(name),
            min_price: text(settings.min_price),
            max_price: text(settings.max_price),
            grid_buy_price: text(Some(settings.grid_buy_price)),
            grid_sell_price: text(Some(settings.grid_sell_price)),
            co2_kg_per_kwh: text(Some(settings.co2_kg_per_kwh)),
            open_order_cap: settings.open_order_cap,
        })
    }

    /// Moves the household's home on the server (coarsened there too); an
    /// active member's home moves at most once a day.
    pub async fn update_home(&self, home: Location) -> Result<()> {
        let api = &self.api;
        self.authorized(|s| async move { api.update_home(&s, home).await }).await?;
        Ok(())
    }

    /// A new password for this household (after a password-reset link).
    pub async fn update_password(&self, password: &str) -> Result<()> {
        let api = &self.api;
        self.authorized(|s| async move { api.update_password(&s, password).await }).await?;
        Ok(())
    }

    /// The household's new word on its battery; open the market again to use it.
    pub async fn correct_battery(&self, capacity: Energy, level: Energy) -> Result<()> {
        let _writer = self.writer.lock().await;
        let now = cache::battery(&self.pool, &self.account).await?;
        let mut tx = self.pool.begin().await?;
        cache::correct_battery(&mut tx, &now, capacity, level, self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    fn invitation_view(&self, row: console::InvitationRow) -> console::InvitationView {
        let invitation = row.token.map(|token| invitation::Invitation {
            project_url: self.api.project().url.clone(),
            anon_key: self.api.project().anon_key.clone(),
            community: self.account.community.clone(),
            token,
        });
        console::InvitationView {
            invitation_id: row.invitation_id.to_string(),
            role: row.role,
            pre_approved: row.pre_approved,
            uses_left: row.uses_left,
            expires_at: row.expires_at.0,
            created_at: row.created_at.0,
            revoked_at: row.revoked_at.map(|at| at.0),
            made_by: row.made_by,
            qr_svg: invitation.as_ref().and_then(|i| console::qr_svg(&i.link())),
            link: invitation.as_ref().map(invitation::Invitation::link),
            code: invitation.as_ref().map(invitation::Invitation::code),
        }
    }

    /// The community's grid prices, for the household's quotes and grid trades.
    pub fn grid_prices(&self) -> GridPrices {
        self.standing().grid
    }

    /// The community's delivery rules, as its server last said.
    pub fn delivery_rules(&self) -> DeliveryRules {
        self.standing().delivery
    }

    /// The household's home as the server had it when this market opened.
    pub fn home(&self) -> Option<Location> {
        self.account.home
    }

    /// The household's membership as the server last said.
    pub fn standing(&self) -> Standing {
        self.standing.lock().unwrap().clone()
    }

    /// Takes the server's word on the membership; a change is announced and saved.
    async fn hear_membership(&self, membership: Option<&MembershipRow>) -> Result<bool> {
        let standing = Standing::of(membership)?;
        let changed = std::mem::replace(&mut *self.standing.lock().unwrap(), standing.clone()) != standing;
        if changed {
            let account = Account {
                standing,
                ..self.account.clone()
            };
            cache::save_account(&self.pool, &account).await?;
            self.announce([MarketEvent::MembershipChanged]);
        }
        Ok(changed)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn set_connection(&self, connection: Connection) {
        let changed = std::mem::replace(&mut *self.connection.lock().unwrap(), connection) != connection;
        if changed {
            let _ = self.events.send(MarketEvent::ConnectionChanged { connection });
        }
    }

    fn announce(&self, events: impl IntoIterator<Item = MarketEvent>) {
        for event in events {
            let _ = self.events.send(event);
        }
    }

    // Following the market -------------------------------------------------

    /// Applies what Realtime reports; after every join, a snapshot; while the
    /// cache may be behind or commands wait, a retry every few seconds.
    async fn follow(self: Arc<Self>, mut feed: mpsc::Receiver<Feed>, mut stopping: watch::Receiver<bool>) {
        const RETRY: Duration = Duration::from_secs(2);
        let mut joined = false;
        let mut behind = true;
        loop {
            let refresh_in = self.refresh_due_in().await;
            let waiting = cache::waiting(&self.pool).await.unwrap_or(0) > 0;
            tokio::select! {
                _ = stopping.changed() => return,
                item = feed.recv() => match item {
                    None => return,
                    Some(Feed::Joined) => {
                        joined = true;
                        behind = true;
                        self.set_connection(Connection::Connecting);
                    }
                    Some(Feed::Change(change)) if !behind => {
                        if self.apply_change(&change).await.is_err() {
                            behind = true;
                        }
                    }
                    Some(Feed::Change(_)) => {}
                    Some(Feed::Down(_)) => {
                        joined = false;
                        behind = true;
                        if self.connection() != Connection::SignedOut {
                            self.set_connection(Connection::Offline);
                        }
                        // A refused join may be an expired token: the next attempt gets a new one.
                        let _ = self.fresh_session(false).await;
                    }
                },
                _ = tokio::time::sleep(refresh_in) => {
                    let _ = self.fresh_session(true).await;
                    continue;
                }
                _ = tokio::time::sleep(RETRY), if waiting || (joined && behind) => {}
                _ = self.queued.notified() => {}
            }
            if joined && behind && feed.is_empty() {
                match self.resync().await {
                    Ok(()) => {
                        behind = false;
                        self.set_connection(Connection::Online);
                    }
                    Err(_) if self.connection() == Connection::SignedOut => {}
                    Err(_) => self.set_connection(Connection::Offline),
                }
            }
            if !behind || !joined {
                let sent = self
                    .flush(None)
                    .await
                    .is_ok_and(|results| results.values().all(|sent| !matches!(sent, Sent::Pending)));
                match (sent, joined && !behind) {
                    (true, true) => self.set_connection(Connection::Online),
                    (false, _) if self.connection() == Connection::Online => self.set_connection(Connection::Offline),
                    _ => {}
                }
            }
        }
    }

    /// Time until the access token should be renewed (a minute before it expires).
    async fn refresh_due_in(&self) -> Duration {
        let expires_at = self.session.lock().await.expires_at;
        (expires_at - chrono::Duration::seconds(60) - self.clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(1))
    }

    /// The session, renewed first if it is about to expire (or `force`).
    async fn fresh_session(&self, force: bool) -> Result<Session, RemoteError> {
        let mut session = self.session.lock().await;
        if !force && session.expires_at - chrono::Duration::seconds(60) > self.clock.now() {
            return Ok(session.clone());
        }
        match self.api.refresh(&session, self.clock.now()).await {
            Ok(renewed) => {
                *session = renewed;
                let _ = self.sessions.save(&session);
                self.tokens.send_replace(session.access_token.clone());
                Ok(session.clone())
            }
            Err(RemoteError::SignedOut) => {
                self.set_connection(Connection::SignedOut);
                Err(RemoteError::SignedOut)
            }
            Err(err) => Err(err),
        }
    }

    /// Runs `call` with a fresh session; a token the server no longer accepts is renewed once.
    async fn authorized<T, F, Fut>(&self, call: F) -> Result<T, RemoteError>
    where
        F: Fn(Session) -> Fut,
        Fut: Future<Output = Result<T, RemoteError>>,
    {
        match call(self.fresh_session(false).await?).await {
            Err(RemoteError::SignedOut) => call(self.fresh_session(true).await?).await,
            other => other,
        }
    }

    /// Takes the server's state and makes the cache equal to it.
    pub async fn resync(&self) -> Result<()> {
        let api = &self.api;
        let community = self.account.community.as_str();
        let known = cache::latest_order_seq(&self.pool).await?;
        let membership = self.authorized(|s| async move { api.membership(&s).await }).await?;
        self.hear_membership(membership.as_ref()).await?;
        // Only an active member reads the book (book_page refuses the others).
        let book = if self.standing().status == MembershipStatus::Active {
            self.pages(
                0,
                |s, after| async move { api.book_page(&s, after).await },
                |row: &BookRow| row.order.seq.0,
            )
            .await?
        } else {
            Vec::new()
        };
        let mine = self
            .pages(0, |s, after| async move { api.my_orders(&s, after).await }, |row: &OrderRow| row.seq.0)
            .await?;
        let latest = cache::latest_trade_seq(&self.pool).await?;
        let trades = self.trades_after(latest).await?;
        let latest_print = cache::latest_print_seq(&self.pool).await?;
        let prints: Vec<CachedPrint> = self
            .pages(
                latest_print,
                |s, after| async move { api.prints(&s, community, after).await },
                |row: &PrintRow| row.seq.0,
            )
            .await?
            .into_iter()
            .map(PrintRow::check)
            .collect::<Result<_, _>>()
            .map_err(RemoteError::BadAnswer)?;
        let orders: Vec<CachedOrder> = book
            .into_iter()
            .map(BookRow::check)
            .chain(mine.into_iter().map(OrderRow::check))
            .collect::<Result<_, _>>()
            .map_err(RemoteError::BadAnswer)?;
        let shown: HashSet<Uuid> = orders.iter().map(|o| o.id).collect();

        let _writer = self.writer.lock().await;
        let before = self.my_order_states(None).await?;
        let mut tx = self.pool.begin().await?;
        cache::upsert_orders(&mut tx, &orders).await?;
        cache::keep_only(&mut tx, &shown, known).await?;
        let new_trades = cache::insert_trades(&mut tx, &trades, self.account.user_id).await?;
        cache::insert_prints(&mut tx, &prints).await?;
        tx.commit().await?;
        let after = self.my_order_states(None).await?;
        self.announce_changes(&before, &after, &new_trades).await?;
        self.announce([MarketEvent::BookChanged]);
        drop(_writer);
        self.fill_distances().await
    }

    /// Asks the server how far the neighbours' orders without a distance are.
    async fn fill_distances(&self) -> Result<()> {
        if self.standing().status != MembershipStatus::Active {
            return Ok(());
        }
        let missing = cache::without_distance(&self.pool, self.account.user_id).await?;
        let mut answers = Vec::new();
        for ids in missing.chunks(api::PAGE) {
            answers.push(self.distance_page(ids).await?);
        }
        let _writer = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        for distances in &answers {
            cache::set_distances(&mut tx, distances).await?;
        }
        tx.commit().await?;
        drop(_writer);
        if !missing.is_empty() {
            self.announce([MarketEvent::BookChanged]);
        }
        Ok(())
    }

    /// The server's distances to these orders (at most a page); every order
    /// asked about is answered, if only with "not known".
    async fn distance_page(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Option<i64>)>> {
        let api = &self.api;
        let rows: Vec<DistanceRow> = self.authorized(|s| async move { api.distances(&s, ids).await }).await?;
        let known = rows
            .iter()
            .map(|row| row.hectometres().map(|hm| (row.id, hm)))
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(RemoteError::BadAnswer)?;
        Ok(ids.iter().map(|id| (*id, known.get(id).copied().flatten())).collect())
    }

    /// Every page of a list ordered by seq, from after `from`.
    async fn pages<R, F, Fut>(&self, from: i64, page: F, seq: impl Fn(&R) -> i64) -> Result<Vec<R>, RemoteError>
    where
        F: Fn(Session, i64) -> Fut,
        Fut: Future<Output = Result<Vec<R>, RemoteError>>,
    {
        let mut rows = Vec::new();
        let mut after = from;
        loop {
            let batch = self.authorized(|s| page(s, after)).await?;
            let full = batch.len() >= api::PAGE;
            match batch.last().map(&seq) {
                Some(last) if last > after => after = last,
                Some(_) => return Err(RemoteError::BadAnswer("a page out of order".into())),
                None => {}
            }
            rows.extend(batch);
            if !full {
                return Ok(rows);
            }
        }
    }

    async fn trades_after(&self, latest: i64) -> Result<Vec<CachedTrade>> {
        let api = &self.api;
        let rows = self
            .pages(
                latest,
                |s, after| async move { api.my_trades(&s, after).await },
                |row: &TradeRow| row.seq.0,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| row.check(self.account.user_id, &self.account.username))
            .collect::<Result<_, _>>()
            .map_err(RemoteError::BadAnswer)?)
    }

    /// Applies one change Realtime reported; a row that fails its checks changes nothing.
    async fn apply_change(&self, change: &Change) -> Result<()> {
        enum Write {
            Order(CachedOrder),
            LeftBook(Uuid),
            Trade(CachedTrade),
            Print(CachedPrint),
        }
        let bad = |e: serde_json::Error| Error::from(RemoteError::BadAnswer(e.to_string()));
        let write = match (change.table.as_str(), change.kind) {
            ("open_orders" | "market_orders", ChangeKind::Insert | ChangeKind::Update) => Write::Order(
                serde_json::from_value::<OrderRow>(change.row.clone())
                    .map_err(bad)?
                    .check()
                    .map_err(RemoteError::BadAnswer)?,
            ),
            ("open_orders", ChangeKind::Delete) => {
                #[derive(serde::Deserialize)]
                struct Key {
                    id: Uuid,
                }
                Write::LeftBook(serde_json::from_value::<Key>(change.row.clone()).map_err(bad)?.id)
            }
            ("household_trades", ChangeKind::Insert) => Write::Trade(
                serde_json::from_value::<TradeRow>(change.row.clone())
                    .map_err(bad)?
                    .check(self.account.user_id, &self.account.username)
                    .map_err(RemoteError::BadAnswer)?,
            ),
            ("trade_prints", ChangeKind::Insert) => Write::Print(
                serde_json::from_value::<PrintRow>(change.row.clone())
                    .map_err(bad)?
                    .check()
                    .map_err(RemoteError::BadAnswer)?,
            ),
            // Approved, suspended, made admin, or the community's settings: the
            // server's whole answer is read again, and a snapshot follows when
            // what may be read has changed.
            ("memberships" | "communities", _) => {
                let api = &self.api;
                let membership = self.authorized(|s| async move { api.membership(&s).await }).await?;
                if self.hear_membership(membership.as_ref()).await? {
                    self.resync().await?;
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        // The orders of mine this change may touch; a neighbour's book entry touches none.
        let touched: Vec<String> = match &write {
            Write::Order(order) => vec![order.id.to_string()],
            Write::LeftBook(_) | Write::Print(_) => Vec::new(),
            Write::Trade(trade) => trade.buy_order.iter().chain([&trade.sell_order]).map(Uuid::to_string).collect(),
        };
        let me = self.account.user_id;
        let _writer = self.writer.lock().await;
        let before = self.my_order_states(Some(&touched)).await?;
        let mut tx = self.pool.begin().await?;
        let mut new_trades = Vec::new();
        match write {
            Write::Order(order) => {
                cache::upsert_orders(&mut tx, std::slice::from_ref(&order)).await?;
                if !order.status.is_open() && order.user_id != Some(me) {
                    cache::remove_from_book(&mut tx, order.id, me).await?;
                }
            }
            Write::LeftBook(id) => {
                cache::remove_from_book(&mut tx, id, me).await?;
            }
            Write::Trade(trade) => new_trades = cache::insert_trades(&mut tx, &[trade], me).await?,
            Write::Print(print) => cache::insert_prints(&mut tx, &[print]).await?,
        }
        tx.commit().await?;
        let after = self.my_order_states(Some(&touched)).await?;
        self.announce_changes(&before, &after, &new_trades).await?;
        self.announce([MarketEvent::BookChanged]);
        drop(_writer);
        if change.table == "open_orders" && change.kind == ChangeKind::Insert {
            self.fill_distances().await?;
        }
        Ok(())
    }

    /// My orders as they stand (all of them, or only those `among` the given ids).
    async fn my_order_states(&self, among: Option<&[String]>) -> Result<HashMap<String, OrderUpdate>> {
        let mine = rows::all_orders_of(&self.pool, &self.household_id(), among).await?;
        Ok(mine.iter().map(|order| (order.id.to_string(), OrderUpdate::of(order))).collect())
    }

    /// The events of a cache change: my orders that changed, my new trades, my battery.
    async fn announce_changes(
        &self,
        before: &HashMap<String, OrderUpdate>,
        after: &HashMap<String, OrderUpdate>,
        trades: &[CachedTrade],
    ) -> Result<()> {
        let mut events = Vec::new();
        for trade in trades {
            if let Some(view) = cache::trade(&self.pool, trade.id, self.account.user_id).await? {
                events.push(MarketEvent::TradeExecuted { trade: view });
            }
        }
        let changed: Vec<&OrderUpdate> = after
            .iter()
            .filter(|(id, now)| before.get(*id) != Some(*now))
            .map(|(_, now)| now)
            .collect();
        events.extend(changed.iter().map(|update| MarketEvent::OrderUpdated((*update).clone())));
        if !trades.is_empty() || !changed.is_empty() || before.len() != after.len() {
            events.push(MarketEvent::EnergyChanged {
                user_id: self.household_id(),
            });
        }
        self.announce(events);
        Ok(())
    }

    // Commands -------------------------------------------------------------

    /// Places a limit order: the market's rules and the battery checked here, then sent (or kept, offline).
    pub async fn place(&self, request: &PlaceRequest) -> Result<Outcome> {
        let id = request.id.to_string();
        let me = self.household_id();
        let place = Place {
            id: &id,
            user: &me,
            side: request.side,
            price: &request.price,
            amount: &request.amount,
            expires_at: request.expires_at,
            interval: request.interval.as_deref(),
        };
        let existing = rows::order_by_id(&self.pool, &id).await?;
        let now = self.clock.now();
        let valid = rules::check_place(&place, existing.as_ref(), now, &self.delivery_rules())?;
        let command = Command::Place {
            id: request.id,
            side: request.side,
            price: valid.price.to_string(),
            amount: valid.amount.to_string(),
            interval: valid.interval,
        };
        let pending = CachedOrder {
            id: request.id,
            user_id: Some(self.account.user_id),
            username: self.account.username.clone(),
            side: request.side,
            price: valid.price,
            amount: valid.amount,
            filled: Energy::ZERO,
            status: Status::Active,
            distance_hm: None,
            distance_asked: false,
            seq: 0,
            expires_at: request.expires_at,
            interval: valid.interval,
            created_at: now,
            updated_at: now,
        };
        self.submit(command, Some(&pending), Some((request.side, valid.amount))).await
    }

    pub async fn cancel(&self, id: Uuid) -> Result<Outcome> {
        let order = rows::order_by_id(&self.pool, &id.to_string()).await?;
        let me = self.household_id();
        rules::check_cancel(
            &Cancel {
                id: &id.to_string(),
                user: &me,
            },
            order.as_ref(),
        )?;
        self.submit(Command::Cancel { id }, None, None).await
    }

    /// Buys `amount` kWh of a listed ask at its price, up to the battery's headroom.
    pub async fn buy_now(&self, order: Uuid, amount: &str) -> Result<Outcome> {
        let ask = rows::order_by_id(&self.pool, &order.to_string()).await?;
        let battery = cache::battery(&self.pool, &self.account).await?;
        let me = self.household_id();
        let reference = Uuid::new_v4();
        let cmd = BuyNow {
            reference: &reference.to_string(),
            order: &order.to_string(),
            user: &me,
            amount,
            headroom: Some(battery.headroom().to_decimal()),
        };
        let amount = rules::check_buy_now(&cmd, ask.as_ref())?;
        self.submit(
            Command::Buy {
                reference,
                order,
                amount: amount.to_string(),
            },
            None,
            Some((Side::Buy, amount)),
        )
        .await
    }

    /// Stores the command (and its pending order), then sends the outbox.
    async fn submit(&self, command: Command, pending: Option<&CachedOrder>, reserve: Option<(Side, Energy)>) -> Result<Outcome> {
        let id = {
            let _writer = self.writer.lock().await;
            if let Some((side, amount)) = reserve {
                let mut battery = cache::battery(&self.pool, &self.account).await?;
                battery.reserve(side, amount)?;
            }
            let mut tx = self.pool.begin().await?;
            let id = cache::enqueue(&mut tx, &command, self.clock.now()).await?;
            if let Some(order) = pending {
                cache::insert_pending_order(&mut tx, order).await?;
            }
            tx.commit().await?;
            id
        };
        self.announce([
            MarketEvent::EnergyChanged {
                user_id: self.household_id(),
            },
            MarketEvent::BookChanged,
        ]);
        match self.flush(Some(id)).await?.remove(&id) {
            Some(Sent::Confirmed(outcome)) => Ok(outcome),
            Some(Sent::Refused(err)) => Err(err),
            Some(Sent::Pending) | None => {
                self.queued.notify_one();
                let order = rows::order_by_id(&self.pool, &command.order().to_string()).await?;
                let orders = order
                    .filter(|o| o.user.as_str() == self.household_id())
                    .map(|o| OrderUpdate::of(&o))
                    .into_iter()
                    .collect();
                Ok(Outcome {
                    trades: Vec::new(),
                    orders,
                    pending: true,
                })
            }
        }
    }

    /// Sends every waiting command, oldest first, until one cannot be sent.
    /// `awaited` is the command whose caller waits for the answer: its refusal
    /// is that caller's error, not news for the UI.
    async fn flush(&self, awaited: Option<Uuid>) -> Result<HashMap<Uuid, Sent>> {
        let _sending = self.outbox.lock().await;
        let mut results = HashMap::new();
        for queued in cache::outbox(&self.pool).await? {
            let sent = self.send(&queued, awaited == Some(queued.id)).await;
            let stop = matches!(sent, Sent::Pending);
            results.insert(queued.id, sent);
            if stop {
                break;
            }
        }
        Ok(results)
    }

    async fn send(&self, queued: &Queued, awaited: bool) -> Sent {
        let api = &self.api;
        let answer: Result<(Vec<CachedOrder>, Vec<CachedTrade>), RemoteError> = match &queued.command {
            Command::Place {
                id,
                side,
                price,
                amount,
                interval,
            } => self
                .authorized(|s| async move { api.place_order(&s, *id, *side, price, amount, *interval).await })
                .await
                .and_then(|row| row.check().map_err(RemoteError::BadAnswer))
                .map(|order| (vec![order], Vec::new())),
            Command::Cancel { id } => self
                .authorized(|s| async move { api.cancel_order(&s, *id).await })
                .await
                .and_then(|row| row.check().map_err(RemoteError::BadAnswer))
                .map(|order| (vec![order], Vec::new())),
            Command::Buy { reference, order, amount } => self
                .authorized(|s| async move { api.buy_now(&s, *order, amount, *reference).await })
                .await
                .and_then(|row| row.check(self.account.user_id, &self.account.username).map_err(RemoteError::BadAnswer))
                .map(|trade| (Vec::new(), vec![trade])),
        };
        match answer {
            Ok((orders, mut trades)) => {
                // An order that traded as it was placed: its trades, now rather than when Realtime tells.
                if orders.iter().any(|o| o.filled > Energy::ZERO) {
                    let latest = cache::latest_trade_seq(&self.pool).await.unwrap_or(0);
                    trades.extend(self.trades_after(latest).await.unwrap_or_default());
                }
                match self.confirm(queued, &orders, &trades).await {
                    Ok(outcome) => Sent::Confirmed(outcome),
                    Err(_) => Sent::Pending,
                }
            }
            Err(err) if err.is_refusal() => {
                let settled = async {
                    let _writer = self.writer.lock().await;
                    let mut tx = self.pool.begin().await?;
                    cache::settle(&mut tx, queued).await?;
                    tx.commit().await?;
                    Ok::<_, Error>(())
                };
                if settled.await.is_err() {
                    return Sent::Pending;
                }
                let err = Error::from(err);
                if !awaited {
                    self.announce([MarketEvent::CommandRefused {
                        id: queued.id.to_string(),
                        code: err.code(),
                    }]);
                }
                self.announce([
                    MarketEvent::BookChanged,
                    MarketEvent::EnergyChanged {
                        user_id: self.household_id(),
                    },
                ]);
                Sent::Refused(err)
            }
            Err(err) => {
                if err == RemoteError::SignedOut {
                    self.set_connection(Connection::SignedOut);
                }
                Sent::Pending
            }
        }
    }

    /// The server confirmed a command: its rows into the cache, the command out of the outbox.
    async fn confirm(&self, queued: &Queued, orders: &[CachedOrder], trades: &[CachedTrade]) -> Result<Outcome> {
        // My orders this confirmation may touch: its own, and those its trades filled.
        let touched: Vec<String> = orders
            .iter()
            .map(|order| order.id)
            .chain(trades.iter().flat_map(|trade| trade.buy_order.into_iter().chain([trade.sell_order])))
            .chain([queued.command.order()])
            .map(|id| id.to_string())
            .collect();
        let _writer = self.writer.lock().await;
        let before = self.my_order_states(Some(&touched)).await?;
        let mut tx = self.pool.begin().await?;
        cache::upsert_orders(&mut tx, orders).await?;
        let new_trades = cache::insert_trades(&mut tx, trades, self.account.user_id).await?;
        cache::settle(&mut tx, queued).await?;
        tx.commit().await?;
        let after = self.my_order_states(Some(&touched)).await?;
        self.announce_changes(&before, &after, &new_trades).await?;
        self.announce([MarketEvent::BookChanged]);
        let mut outcome = Outcome::default();
        for trade in trades {
            outcome.trades.extend(cache::trade(&self.pool, trade.id, self.account.user_id).await?);
        }
        outcome.orders = orders.iter().filter_map(|o| after.get(&o.id.to_string()).cloned()).collect();
        Ok(outcome)
    }

    // Reads ----------------------------------------------------------------

    pub async fn book(&self) -> Result<BookView> {
        Ok(rows::book(&self.pool, &self.household_id(), self.account.home).await?)
    }

    pub async fn energy(&self) -> Result<EnergyView> {
        Ok(cache::energy_view(&self.pool, &self.account, self.standing().co2).await?)
    }

    pub async fn orders(&self, filter: &OrderFilter, page: Page) -> Result<Vec<OrderView>> {
        Ok(rows::orders_of(&self.pool, &self.household_id(), filter, page, self.account.home).await?)
    }

    pub async fn trades(&self, page: Page) -> Result<Vec<TradeView>> {
        Ok(cache::trades(&self.pool, self.account.user_id, page).await?)
    }

    /// My current readings as the server has them, latest interval first: per
    /// interval, the operator's latest reading (authoritative) or else my own.
    pub async fn readings(&self, page: Page) -> Result<Vec<ReadingView>> {
        let all = (DateTime::UNIX_EPOCH, self.clock.now());
        let mut current = self.current_readings(all).await?;
        current.sort_by_key(|r| std::cmp::Reverse(r.interval_start));
        Ok(current.into_iter().skip(page.offset as usize).take(page.limit as usize).collect())
    }

    async fn current_readings(&self, range: (DateTime<Utc>, DateTime<Utc>)) -> Result<Vec<ReadingView>> {
        let Some(membership) = self.standing().membership else {
            return Ok(Vec::new());
        };
        let api = &self.api;
        let rows = self.authorized(|s| async move { api.my_readings(&s, membership, range).await }).await?;
        let mut by_interval: BTreeMap<DateTime<Utc>, Vec<ReadingRow>> = BTreeMap::new();
        for row in rows {
            by_interval.entry(row.delivery_start.0).or_default().push(row);
        }
        by_interval
            .into_iter()
            .map(|(start, rows)| {
                let revisions = u32::try_from(rows.len()).unwrap_or(u32::MAX);
                let current = rows
                    .iter()
                    .max_by_key(|r| (r.source == "operator", r.revision))
                    .expect("an interval has a reading");
                Ok(ReadingView {
                    interval_start: start,
                    import: wire::watt_hours(current.import_kwh).map_err(RemoteError::BadAnswer)?,
                    export: wire::watt_hours(current.export_kwh).map_err(RemoteError::BadAnswer)?,
                    source: current.source.clone(),
                    recorded_at: current.recorded_at.0,
                    revisions,
                })
            })
            .collect()
    }

    /// My statement for the intervals starting in `from..to`: my trades as the
    /// cache has them, their current settlements and my readings from the server.
    pub async fn statement(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Statement> {
        let me = self.account.user_id.to_string();
        let rows = sqlx::query(
            "SELECT id, interval_start, buyer_id, buyer, seller, price_ticks, amount_centi_kwh FROM trades
              WHERE interval_start >= ? AND interval_start < ? ORDER BY interval_start, seq",
        )
        .bind(lumea_store::timestamp(from))
        .bind(lumea_store::timestamp(to))
        .fetch_all(&self.pool)
        .await
        .map_err(lumea_store::Error::from)?;
        let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.get::<String, _>(0).parse().ok()).collect();
        let mut settled = HashMap::new();
        for chunk in ids.chunks(100) {
            let api = &self.api;
            for row in self.authorized(|s| async move { api.settlements(&s, chunk).await }).await? {
                settled.insert(row.trade_id.to_string(), row);
            }
        }
        let mut trades = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.get(0);
            let bought = row.get::<String, _>(2) == me;
            let settlement = match settled.get(&id) {
                None => None,
                Some(s) => {
                    let money = wire::micro_dollars(if bought { s.buyer_pays } else { s.seller_receives }).map_err(RemoteError::BadAnswer)?;
                    Some((wire::watt_hours(s.delivered_kwh).map_err(RemoteError::BadAnswer)?, money, s.revision))
                }
            };
            trades.push(StatementTrade {
                trade_id: id,
                interval_start: lumea_store::parse_timestamp(&row.get::<String, _>(1))?,
                bought,
                counterparty: row.get(if bought { 4 } else { 3 }),
                contracted: Energy::from_centi_kwh(row.get::<i64, _>(6) as u64),
                price: Price::from_ticks(row.get::<i64, _>(5) as u32),
                settled: settlement,
            });
        }
        let readings = self
            .current_readings((from, to))
            .await?
            .into_iter()
            .map(|r| (r.interval_start, (r.import.wh(), r.export.wh())))
            .collect();
        let standing = self.standing();
        Ok(statement::compose(
            (from, to),
            &trades,
            &readings,
            (&standing.delivery, standing.grid, standing.co2),
            self.clock.now(),
        ))
    }

    pub async fn grid_transactions(&self, page: Page) -> Result<Vec<GridTransactionView>> {
        Ok(cache::grid_transactions(&self.pool, page).await?)
    }

    /// Statistics of the community's open book and of the trades this household
    /// can see (its own: other households' trades are private to them).
    pub async fn stats(&self, since: DateTime<Utc>) -> Result<MarketStats> {
        let now = self.clock.now();
        let open = rows::all_orders(&self.pool).await?.into_iter().filter(|o| o.status.is_open());
        let market: Market<FastBook> = Market::restore(open, now, DeliveryRules::default());
        Ok(MarketStats::compute(
            market.book(),
            None,
            &rows::trade_prints(&self.pool, rows::PrintTable::Prints, since, now).await?,
            since,
            now,
        ))
    }

    /// My trades since `since`, oldest first (the cache's trades table has the local one's columns).
    pub async fn price_history(&self, since: DateTime<Utc>) -> Result<Vec<TradePrint>> {
        let mut prints = rows::trade_prints(&self.pool, rows::PrintTable::Prints, since, self.clock.now()).await?;
        prints.retain(|print| print.at >= since);
        Ok(prints)
    }

    /// Buys from or sells to the grid at its fixed prices: the battery's own business, not the market's.
    pub async fn grid_trade(&self, direction: Side, amount: &str, prices: GridPrices) -> Result<GridTransactionView> {
        let amount = Energy::parse_purchase(amount).ok_or(Reason::InvalidAmount)?;
        let _writer = self.writer.lock().await;
        let mut battery = cache::battery(&self.pool, &self.account).await?;
        let (kind, delta, price) = match direction {
            Side::Buy => {
                battery.receive(amount)?;
                ("grid_in", amount.centi_kwh() as i64, prices.buy)
            }
            Side::Sell => {
                battery.deliver(amount)?;
                ("grid_out", -(amount.centi_kwh() as i64), prices.sell)
            }
        };
        let now = self.clock.now();
        let id = Uuid::new_v4().to_string();
        let mut tx = self.pool.begin().await?;
        cache::move_energy(&mut tx, &id, kind, delta, Some(price), now).await?;
        tx.commit().await?;
        self.announce([MarketEvent::EnergyChanged {
            user_id: self.household_id(),
        }]);
        Ok(GridTransactionView {
            id,
            direction,
            amount,
            price,
            total: Money::of(price, amount),
            created_at: now,
        })
    }

    /// An order as the cache holds it (the book or my history).
    pub async fn cached_order(&self, id: Uuid) -> Result<Option<lumea_market::Order>> {
        Ok(rows::order_by_id(&self.pool, &id.to_string()).await?)
    }

    /// The commands still waiting to be confirmed.
    pub async fn waiting(&self) -> Result<usize> {
        Ok(cache::waiting(&self.pool).await?)
    }
}
