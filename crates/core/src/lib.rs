//! The household's app: the market it trades in now — the local demo
//! neighbourhood (the default) or its community on a Supabase project — behind
//! one set of operations and one stream of events, so nothing in the UI knows
//! which mode it is in except the connection indicator. Everything that
//! crosses to the UI is exported from here.

mod error;
mod household;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lumea_community::auth_link::{Callback, Pkce};
use lumea_community::invitation::Invitation;
use lumea_community::{self as community, Api, CommunityMarket, Paths, Project, Session, SessionStore, SignUp};
use lumea_market::energy::Battery;
use lumea_market::home::Home;
use lumea_store::clock::Clock;
use lumea_store::{LocalMarket, OpenOptions, simulator};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock, broadcast};
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use error::CommandError;
pub use household::HouseholdMarket;
pub use lumea_community::auth_link::AuthLinkKind;
pub use lumea_community::console::{InvitationView, MemberView, SettingsChange};
pub use lumea_community::{MemberAction, MemberRole, MembershipStatus};
pub use lumea_market::delivery::{DeliveryRules, IntervalView};
pub use lumea_market::energy::GridPrices;
pub use lumea_market::home::HomeSettings;
pub use lumea_market::stats::{LevelDepth, MarketStats, TradePrint};
pub use lumea_market::{ErrorCode, Side};
pub use lumea_store::clock::SystemClock;
pub use lumea_store::settlement::ReadingView;
pub use lumea_store::statement::{DeliveryState, Statement, StatementLine, StatementTotals};
pub use lumea_store::{
    BookView, Connection, EnergyView, GridTransactionView, MarketEvent, OrderFilter, OrderView, Outcome, Page, PlaceRequest, Role, TradeView,
};

pub type Result<T, E = CommandError> = std::result::Result<T, E>;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The market's delivery rules and the intervals the market modal offers.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DeliveryView {
    pub rules: DeliveryRules,
    /// Open for orders now, earliest first: the first is the default.
    pub intervals: Vec<IntervalView>,
}

impl DeliveryView {
    /// How many intervals the modal offers: the next two hours of 15-minute ones.
    const OFFERED: usize = 8;
}

/// The first run's choice: nothing chosen yet, the demo, or a home set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Setup {
    Unset,
    Demo,
    Home,
}

/// Which market the app shows, for the settings screen and the indicator.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ModeView {
    pub setup: Setup,
    pub community: bool,
    pub connection: Connection,
    /// The project signed in to, or the one last used (or given by the environment) to prefill the form.
    pub project_url: Option<String>,
    pub anon_key: Option<String>,
    pub email: Option<String>,
    pub username: Option<String>,
    pub community_id: Option<String>,
    pub community_name: Option<String>,
    /// Community mode: pending until an admin approves (unless the invitation pre-approved it).
    pub membership: Option<MembershipStatus>,
    pub role: Option<MemberRole>,
}

/// What a developer's environment sets: a project to prefill the settings
/// form with, and Realtime somewhere other than the project's own address.
#[derive(Clone, Debug, Default)]
pub struct DeveloperSettings {
    pub project_url: Option<String>,
    pub anon_key: Option<String>,
    pub realtime_url: Option<String>,
}

impl DeveloperSettings {
    /// `LUMEA_SUPABASE_URL`, `LUMEA_SUPABASE_ANON_KEY`, `LUMEA_REALTIME_URL`.
    pub fn from_env() -> DeveloperSettings {
        let var = |key| std::env::var(key).ok().filter(|v: &String| !v.trim().is_empty());
        DeveloperSettings {
            project_url: var("LUMEA_SUPABASE_URL"),
            anon_key: var("LUMEA_SUPABASE_ANON_KEY"),
            realtime_url: var("LUMEA_REALTIME_URL"),
        }
    }
}

/// The project the household chose, kept for the next start.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Chosen {
    project: Project,
}

/// An e-mail link the app waits for: the project it comes from, the PKCE
/// verifier its code needs, and what it finishes.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PendingAuth {
    project: Project,
    pkce: Pkce,
    kind: AuthLinkKind,
}

/// The `auth-link` event: the link's kind when it worked, its error when not.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AuthLinkResult {
    pub kind: Option<AuthLinkKind>,
    pub error: Option<ErrorCode>,
}

/// The links the app was started with (the OS opened it with one), kept
/// until its UI has loaded and asks for them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct OpenedLinks {
    /// A `lumea://join?…` invitation.
    pub invitation: Option<String>,
    /// What an e-mail's `lumea://auth/callback` link finished.
    pub auth: Option<AuthLinkResult>,
}

/// An invitation a household signed up with while its e-mail waits for
/// confirmation: it is redeemed at its first sign-in.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PendingJoin {
    link: String,
    display_name: String,
}

enum Backend {
    Local,
    Community(Arc<CommunityMarket>),
}

pub struct App {
    dir: PathBuf,
    local: Arc<LocalMarket>,
    clock: Arc<dyn Clock>,
    backend: RwLock<Backend>,
    events: broadcast::Sender<MarketEvent>,
    /// The demo neighbourhood's simulator: it runs in local mode only.
    simulator: Mutex<Option<JoinHandle<()>>>,
    forwarder: Mutex<Option<JoinHandle<()>>>,
    seed: u64,
    developer: DeveloperSettings,
}

impl App {
    /// Opens the local market at `local_path`, and the community market when
    /// the household signed in to one before (offline, from its cache).
    pub async fn open(dir: &Path, local_path: &Path, clock: Arc<dyn Clock>, seed: u64, developer: DeveloperSettings) -> Result<Arc<App>> {
        let local = Arc::new(LocalMarket::open(local_path, clock.clone(), OpenOptions::default()).await?);
        let (events, _) = broadcast::channel(4096);
        let app = Arc::new(App {
            dir: dir.to_path_buf(),
            local,
            clock,
            backend: RwLock::new(Backend::Local),
            events,
            simulator: Mutex::new(None),
            forwarder: Mutex::new(None),
            seed,
            developer,
        });
        // The credential store is asked only when a community was chosen: the demo alone never touches it.
        let resumed = match app.chosen().and_then(|chosen| Some((chosen, app.sessions().load()?))) {
            Some((chosen, session)) => app.enter(chosen.project, session).await.is_ok(),
            None => false,
        };
        if !resumed {
            app.enter_local().await;
        }
        Ok(app)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<MarketEvent> {
        self.events.subscribe()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The local market, for the things only it has (expiry ticks, the CLI).
    pub fn local(&self) -> &Arc<LocalMarket> {
        &self.local
    }

    /// The platform's credential store, or `community-session.json` where it has none.
    fn sessions(&self) -> SessionStore {
        SessionStore::open(&self.dir.join("community-session.json"))
    }

    fn chosen(&self) -> Option<Chosen> {
        read_json(&self.dir.join("community.json"))
    }

    // The household's home ---------------------------------------------------

    /// `home.json`: absent before the first run's choice, `null` for "explore
    /// the demo", else the home set up.
    fn home_file(&self) -> PathBuf {
        self.dir.join("home.json")
    }

    /// What `home.json` holds: `None` before the first run's choice.
    fn first_run_choice(&self) -> Option<Option<HomeSettings>> {
        read_json(&self.home_file())
    }

    fn home(&self) -> Option<Home> {
        self.first_run_choice().flatten().and_then(|settings| Home::parse(&settings).ok())
    }

    pub fn home_settings(&self) -> Option<HomeSettings> {
        self.home().map(|home| home.settings())
    }

    /// The first run's "Explore the demo": the local market, asked no more.
    pub async fn explore_demo(&self) -> Result<ModeView> {
        if self.first_run_choice().is_none() {
            write_json(&self.home_file(), &None::<HomeSettings>)?;
        }
        Ok(self.mode().await)
    }

    /// Saves the household's home. In a community the server hears a moved
    /// home first (it may refuse: once a day), and a changed battery becomes
    /// the cache's; a refusal changes nothing here.
    pub async fn save_home(&self, form: &HomeSettings) -> Result<HomeSettings> {
        let home = Home::parse(form)?;
        let before = self.home();
        let community = self.signed_in().await.ok();
        let mut reopen = false;
        if let Some(market) = &community {
            if before.as_ref().map(|b| b.location) != Some(home.location) {
                market.update_home(home.location).await?;
                reopen = true;
            }
            if before.as_ref().map(|b| b.battery) != Some(home.battery) {
                let (capacity, level) = home.battery.unwrap_or_default();
                market.correct_battery(capacity, level).await?;
                reopen = true;
            }
        }
        write_json(&self.home_file(), &Some(home.settings()))?;
        if let Some(market) = community.filter(|_| reopen) {
            self.reopen(market).await?;
        }
        Ok(home.settings())
    }

    // Modes ----------------------------------------------------------------

    pub async fn mode(&self) -> ModeView {
        let chosen = self.chosen().map(|c| c.project);
        let setup = match self.first_run_choice() {
            Some(Some(_)) => Setup::Home,
            Some(None) => Setup::Demo,
            None => Setup::Unset,
        };
        match &*self.backend.read().await {
            Backend::Local => ModeView {
                setup,
                community: false,
                connection: Connection::Local,
                project_url: chosen.as_ref().map(|p| p.url.clone()).or_else(|| self.developer.project_url.clone()),
                anon_key: chosen.as_ref().map(|p| p.anon_key.clone()).or_else(|| self.developer.anon_key.clone()),
                email: None,
                username: None,
                community_id: None,
                community_name: None,
                membership: None,
                role: None,
            },
            Backend::Community(market) => {
                let standing = market.standing();
                ModeView {
                    // Signed in on a device before the first run asked: the market is chosen.
                    setup: if setup == Setup::Unset { Setup::Demo } else { setup },
                    community: true,
                    connection: market.connection(),
                    project_url: chosen.as_ref().map(|p| p.url.clone()),
                    anon_key: chosen.map(|p| p.anon_key),
                    email: Some(market.email().await),
                    username: Some(market.username().to_string()).filter(|name| !name.is_empty()),
                    community_id: Some(market.community().to_string()).filter(|id| !id.is_empty()),
                    community_name: Some(standing.community_name).filter(|name| !name.is_empty()),
                    membership: Some(standing.status),
                    role: standing.membership.map(|_| standing.role),
                }
            }
        }
    }

    /// Signs in to a community market and switches to it.
    pub async fn sign_in(&self, url: &str, anon_key: &str, email: &str, password: &str) -> Result<ModeView> {
        let project = Project::new(url, anon_key, self.developer.realtime_url.as_deref())?;
        let api = Api::new(project.clone(), REQUEST_TIMEOUT);
        let session = api.sign_in(email.trim(), password, self.clock.now()).await?;
        self.redeem_pending_join(&api, &session).await?;
        self.enter(project, session).await?;
        self.send_home_saved_signed_out().await;
        Ok(self.mode().await)
    }

    /// A home saved while signed out reaches the community at the next
    /// sign-in, unless the server keeps the old one for today.
    async fn send_home_saved_signed_out(&self) {
        let (Some(home), Ok(market)) = (self.home(), self.signed_in().await) else {
            return;
        };
        if market.home() != Some(home.location)
            && let Err(err) = market.update_home(home.location).await
        {
            log::warn!("the home saved on this device was not sent: {err}");
        }
    }

    /// Signed up before the e-mail was confirmed: the invitation it came with is redeemed now.
    async fn redeem_pending_join(&self, api: &Api, session: &Session) -> Result<()> {
        if let Some(pending) = self.pending_join() {
            let invitation = Invitation::parse(&pending.link)?;
            if invitation.project_url == api.project().url && api.membership(session).await?.is_none() {
                api.join(session, &invitation.community, &invitation.token, &pending.display_name).await?;
            }
            let _ = std::fs::remove_file(self.pending_join_file());
        }
        Ok(())
    }

    // E-mail links (lumea://auth/callback) ----------------------------------

    fn pending_auth_file(&self) -> PathBuf {
        self.dir.join("pending-auth.json")
    }

    /// Finishes what an e-mail's link was sent for: a confirmed sign-up joins
    /// its invitation's community; a password reset signs in so that the
    /// household can choose a new password.
    pub async fn complete_auth_link(&self, link: &str) -> Result<AuthLinkKind> {
        let callback = Callback::parse(link)?;
        let pending: PendingAuth = read_json(&self.pending_auth_file()).ok_or(ErrorCode::InvalidAuthLink)?;
        let api = Api::new(pending.project.clone(), REQUEST_TIMEOUT);
        let session = api.redeem(&callback, &pending.pkce, self.clock.now()).await?;
        let kind = match callback {
            Callback::Tokens { kind: Some(kind), .. } => kind,
            _ => pending.kind,
        };
        let _ = std::fs::remove_file(self.pending_auth_file());
        if kind == AuthLinkKind::Confirmed {
            self.redeem_pending_join(&api, &session).await?;
        }
        self.enter(pending.project, session).await?;
        self.send_home_saved_signed_out().await;
        Ok(kind)
    }

    /// Sends a password-reset e-mail for the project last used (or the one
    /// of an invitation waiting for its confirmation).
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let project = match (self.chosen(), self.pending_join()) {
            (Some(chosen), _) => chosen.project,
            (None, Some(pending)) => {
                let invitation = Invitation::parse(&pending.link)?;
                Project::new(&invitation.project_url, &invitation.anon_key, self.developer.realtime_url.as_deref())?
            }
            (None, None) => return Err(community::RemoteError::Settings("project_url").into()),
        };
        let pending = PendingAuth {
            project,
            pkce: Pkce::new(),
            kind: AuthLinkKind::Recovery,
        };
        write_json(&self.pending_auth_file(), &pending)?;
        Api::new(pending.project, REQUEST_TIMEOUT).recover(email.trim(), &pending.pkce).await?;
        Ok(())
    }

    /// The new password after a reset link signed the household in.
    pub async fn set_new_password(&self, password: &str) -> Result<()> {
        Ok(self.signed_in().await?.update_password(password).await?)
    }

    /// Makes an account on the invitation's project, joins its community under
    /// `display_name` and switches to it. Where the project confirms e-mail
    /// first, this answers `email_not_confirmed` and the invitation waits for
    /// the first sign-in.
    pub async fn sign_up(&self, invitation: &str, email: &str, password: &str, display_name: &str) -> Result<ModeView> {
        let invitation = Invitation::parse(invitation)?;
        let display_name = lumea_market::names::display_name(display_name).ok_or(lumea_market::Reason::InvalidUsername)?;
        // The home the household set up, never the demo's.
        let home = self.home().ok_or(ErrorCode::HomeNotSet)?;
        let project = Project::new(&invitation.project_url, &invitation.anon_key, self.developer.realtime_url.as_deref())?;
        let api = Api::new(project.clone(), REQUEST_TIMEOUT);
        // Where the project confirms e-mail first, its link comes back with a code for this.
        let confirmation = PendingAuth {
            project: project.clone(),
            pkce: Pkce::new(),
            kind: AuthLinkKind::Confirmed,
        };
        write_json(&self.pending_auth_file(), &confirmation)?;
        let form = SignUp {
            email: email.trim(),
            password,
            home: Some((home.location.lat(), home.location.lng())),
            confirmation: Some(&confirmation.pkce),
        };
        let session = match api.sign_up(&form, self.clock.now()).await {
            Err(community::RemoteError::Auth(ErrorCode::EmailNotConfirmed)) => {
                let pending = PendingJoin {
                    link: invitation.link(),
                    display_name,
                };
                write_json(&self.pending_join_file(), &pending)?;
                return Err(community::RemoteError::Auth(ErrorCode::EmailNotConfirmed).into());
            }
            other => other.inspect_err(|_| {
                let _ = std::fs::remove_file(self.pending_auth_file());
            })?,
        };
        let _ = std::fs::remove_file(self.pending_auth_file());
        api.join(&session, &invitation.community, &invitation.token, &display_name).await?;
        self.enter(project, session).await?;
        Ok(self.mode().await)
    }

    /// Joins the invitation's community as the household signed in now.
    pub async fn join(&self, invitation: &str, display_name: &str) -> Result<ModeView> {
        let invitation = Invitation::parse(invitation)?;
        let market = self.signed_in().await?;
        let display_name = lumea_market::names::display_name(display_name).ok_or(lumea_market::Reason::InvalidUsername)?;
        market.join(&invitation, &display_name).await?;
        // Opened again: the community, its subscriptions and its snapshot are the new membership's.
        self.reopen(market).await?;
        Ok(self.mode().await)
    }

    /// The community market signed in to, for what only a signed-in household does.
    async fn signed_in(&self) -> Result<Arc<CommunityMarket>> {
        match &*self.backend.read().await {
            Backend::Community(market) => Ok(market.clone()),
            Backend::Local => Err(community::RemoteError::SignedOut.into()),
        }
    }

    // The operator's console (community mode, admins; the server checks) -------

    async fn community_market(&self) -> Result<Arc<CommunityMarket>> {
        // The demo has no admins.
        self.signed_in()
            .await
            .map_err(|_| community::RemoteError::Refused(ErrorCode::NotAdmin.as_str().into()).into())
    }

    pub async fn members(&self) -> Result<Vec<MemberView>> {
        Ok(self.community_market().await?.members().await?)
    }

    pub async fn manage_member(&self, member: Uuid, action: MemberAction) -> Result<MemberView> {
        Ok(self.community_market().await?.manage_member(member, action).await?)
    }

    /// An invitation for `uses` households, valid for `days` days.
    pub async fn create_invitation(&self, uses: u32, days: u32, pre_approved: bool) -> Result<InvitationView> {
        let expires_at = self.clock.now() + chrono::Duration::days(i64::from(days));
        Ok(self.community_market().await?.create_invitation(uses, expires_at, pre_approved).await?)
    }

    pub async fn invitations(&self) -> Result<Vec<InvitationView>> {
        Ok(self.community_market().await?.invitations().await?)
    }

    pub async fn revoke_invitation(&self, invitation: Uuid) -> Result<InvitationView> {
        Ok(self.community_market().await?.revoke_invitation(invitation).await?)
    }

    pub async fn community_settings(&self) -> Result<SettingsChange> {
        Ok(self.community_market().await?.settings().await?)
    }

    pub async fn update_community_settings(&self, change: &SettingsChange) -> Result<()> {
        Ok(self.community_market().await?.update_settings(change).await?)
    }

    fn pending_join_file(&self) -> PathBuf {
        self.dir.join("pending-join.json")
    }

    fn pending_join(&self) -> Option<PendingJoin> {
        read_json(&self.pending_join_file())
    }

    /// Signs out and goes back to the local demo market.
    pub async fn use_local(&self) -> ModeView {
        let previous = std::mem::replace(&mut *self.backend.write().await, Backend::Local);
        if let Backend::Community(market) = previous {
            market.sign_out().await;
        }
        self.enter_local().await;
        self.mode().await
    }

    /// Opens the household's community market again, to take in a change of
    /// its membership or battery: the cache file is locked while it is open,
    /// so the old one closes first, and the demo is shown if it cannot reopen.
    async fn reopen(&self, market: Arc<CommunityMarket>) -> Result<()> {
        let (project, session) = (market.project(), market.session().await);
        *self.backend.write().await = Backend::Local;
        market.close().await;
        let reopened = self.enter(project, session).await;
        if reopened.is_err() {
            self.enter_local().await;
        }
        reopened
    }

    async fn enter(&self, project: Project, session: Session) -> Result<()> {
        // A new cache starts with the home's battery, never the demo's (none before a home is set up).
        let (capacity, level) = self.home().and_then(|home| home.battery).unwrap_or_default();
        let battery = Battery::new(capacity, level).ok_or(lumea_market::Reason::InvalidAmount)?;
        let cache = self.dir.join(format!("community-{}.sqlite", session.user_id));
        let paths = Paths {
            cache: &cache,
            session: self.sessions(),
        };
        let market = CommunityMarket::open(Api::new(project.clone(), REQUEST_TIMEOUT), session, paths, battery, self.clock.clone()).await?;
        write_json(&self.dir.join("community.json"), &Chosen { project })?;
        if let Some(simulator) = self.simulator.lock().await.take() {
            simulator.abort();
        }
        self.forward(market.subscribe()).await;
        let previous = std::mem::replace(&mut *self.backend.write().await, Backend::Community(market.clone()));
        if let Backend::Community(old) = previous {
            old.close().await;
        }
        self.announce_switch(market.connection());
        Ok(())
    }

    async fn enter_local(&self) {
        self.forward(self.local.subscribe()).await;
        let mut simulator = self.simulator.lock().await;
        if simulator.is_none() {
            *simulator = Some(tokio::spawn(simulator::run(self.local.clone(), Duration::from_secs(12), self.seed)));
        }
        self.announce_switch(Connection::Local);
    }

    /// The UI reloads everything: the market it shows has changed.
    fn announce_switch(&self, connection: Connection) {
        let _ = self.events.send(MarketEvent::ConnectionChanged { connection });
        let _ = self.events.send(MarketEvent::BookChanged);
        let _ = self.events.send(MarketEvent::EnergyChanged { user_id: String::new() });
    }

    /// Stops following the community and closes both markets' files.
    pub async fn close(&self) {
        for task in [self.simulator.lock().await.take(), self.forwarder.lock().await.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
        if let Backend::Community(market) = &*self.backend.read().await {
            market.close().await;
        }
        self.local.close().await;
    }

    /// The current market's events become the app's.
    async fn forward(&self, mut from: broadcast::Receiver<MarketEvent>) {
        let events = self.events.clone();
        let task = tokio::spawn(async move {
            loop {
                match from.recv().await {
                    Ok(event) => {
                        let _ = events.send(event);
                    }
                    // What was dropped is unknown: the UI reads everything again.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = events.send(MarketEvent::Resync);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        if let Some(old) = self.forwarder.lock().await.replace(task) {
            old.abort();
        }
    }

    // The market -----------------------------------------------------------

    /// The market shown now.
    async fn market(&self) -> Arc<dyn HouseholdMarket> {
        match &*self.backend.read().await {
            Backend::Local => self.local.clone(),
            Backend::Community(market) => market.clone(),
        }
    }

    pub async fn book(&self) -> Result<BookView> {
        self.market().await.book().await
    }

    pub async fn energy(&self) -> Result<EnergyView> {
        self.market().await.energy().await
    }

    pub async fn stats(&self, since: DateTime<Utc>) -> Result<MarketStats> {
        self.market().await.stats(since).await
    }

    pub async fn price_history(&self, since: DateTime<Utc>) -> Result<Vec<TradePrint>> {
        self.market().await.price_history(since).await
    }

    /// The local market's, or in community mode the community's.
    pub async fn grid_prices(&self) -> GridPrices {
        match &*self.backend.read().await {
            Backend::Local => self.local.grid_prices().await,
            Backend::Community(market) => market.grid_prices(),
        }
    }

    pub async fn place(&self, request: &PlaceRequest) -> Result<Outcome> {
        self.market().await.place(request).await
    }

    pub async fn cancel(&self, id: Uuid) -> Result<Outcome> {
        self.market().await.cancel(id).await
    }

    pub async fn buy_now(&self, order: Uuid, amount: &str) -> Result<Outcome> {
        self.market().await.buy_now(order, amount).await
    }

    pub async fn grid_trade(&self, direction: Side, amount: &str) -> Result<GridTransactionView> {
        let prices = self.grid_prices().await;
        self.market().await.grid_trade(direction, amount, prices).await
    }

    pub async fn orders(&self, filter: &OrderFilter, page: Page) -> Result<Vec<OrderView>> {
        self.market().await.orders(filter, page).await
    }

    pub async fn trades(&self, page: Page) -> Result<Vec<TradeView>> {
        self.market().await.trades(page).await
    }

    pub async fn readings(&self, page: Page) -> Result<Vec<ReadingView>> {
        self.market().await.readings(page).await
    }

    pub async fn import_meter_file(&self, contents: &str) -> Result<u32> {
        self.market().await.import_meter_file(contents).await
    }

    pub async fn statement(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Statement> {
        self.market().await.statement(from, to).await
    }

    /// The statement as CSV, for download.
    pub async fn statement_csv(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<String> {
        Ok(self.statement(from, to).await?.to_csv())
    }

    /// The delivery rules and the intervals open for orders now.
    pub async fn delivery(&self) -> DeliveryView {
        let rules = match &*self.backend.read().await {
            Backend::Local => self.local.rules().await,
            Backend::Community(market) => market.delivery_rules(),
        };
        DeliveryView {
            rules,
            intervals: rules.open_intervals(self.now(), DeliveryView::OFFERED),
        }
    }

    /// Expires the local market's due orders (the community's expire on its server).
    pub async fn expire_due(&self) -> Result<usize> {
        Ok(self.local.expire_due().await?)
    }
}

/// A settings file beside the market; `None` when absent or unreadable.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    std::fs::write(path, serde_json::to_vec(value).expect("settings serialise")).map_err(CommandError::storage)
}
