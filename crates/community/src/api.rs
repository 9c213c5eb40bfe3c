//! The community backend's HTTP APIs: Supabase Auth (GoTrue) and the REST API
//! (PostgREST), over reqwest. Every call sends the project's `apikey`, has a
//! deadline, reads at most `MAX_BODY` bytes, and turns the answer into a typed
//! value or a `RemoteError`; nothing unchecked gets out.
//!
//! PostgREST is called directly rather than through the `postgrest` crate:
//! its last release (1.6.0) pins reqwest 0.11, whose TLS and HTTP/2 stack
//! (rustls-webpki 0.101, h2 0.3) has advisories with no fix on that line. The
//! few requests the app makes (filtered reads, RPC) are built here instead.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::RemoteError;
use super::auth_link::{CALLBACK, Callback, Pkce};
use super::console::{InvitationRow, MemberRow};
use super::wire::{BookRow, DistanceRow, MembershipRow, OrderRow, PrintRow, ProfileRow, ReadingRow, SettlementRow, TradeRow};
use lumea_market::geo::Location;
use lumea_market::{ErrorCode, Side};

/// Larger answers are refused: a page of 1,000 orders is about 400 kB.
pub const MAX_BODY: usize = 4 << 20;
/// Rows per page when taking a snapshot.
pub const PAGE: usize = 1000;

/// A Supabase project: its URL and its public (anon) key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub url: String,
    pub anon_key: String,
    /// Where Realtime listens, when not at the project's own `/realtime/v1` (tests).
    #[serde(default)]
    pub realtime_url: Option<String>,
}

impl Project {
    /// Checks what the household typed in the settings screen.
    pub fn new(url: &str, anon_key: &str, realtime_url: Option<&str>) -> Result<Project, RemoteError> {
        let url = url.trim().trim_end_matches('/');
        let web = |u: &str, schemes: [&str; 2]| {
            schemes.iter().any(|s| {
                u.strip_prefix(s)
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
            })
        };
        if !web(url, ["https://", "http://"]) {
            return Err(RemoteError::Settings("project_url"));
        }
        let anon_key = anon_key.trim();
        if anon_key.is_empty() || anon_key.len() > 2048 || !anon_key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(RemoteError::Settings("anon_key"));
        }
        let realtime_url = realtime_url.map(str::trim).filter(|u| !u.is_empty());
        if realtime_url.is_some_and(|u| !web(u, ["wss://", "ws://"])) {
            return Err(RemoteError::Settings("realtime_url"));
        }
        Ok(Project {
            url: url.to_string(),
            anon_key: anon_key.to_string(),
            realtime_url: realtime_url.map(str::to_string),
        })
    }

    /// The Realtime websocket, as the official clients address it.
    pub fn realtime_endpoint(&self) -> String {
        let base = self.realtime_url.clone().unwrap_or_else(|| {
            let ws = self.url.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
            format!("{ws}/realtime/v1/websocket")
        });
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}apikey={}&vsn=1.0.0", self.anon_key)
    }
}

/// A signed-in household's tokens. Never printed: Debug shows the user alone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: Uuid,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a household gives to make its account. Its display name and its
/// community come with the invitation it joins by (`Api::join`).
#[derive(Clone, Debug)]
pub struct SignUp<'a> {
    pub email: &'a str,
    pub password: &'a str,
    /// Home, coarsened by the server to about 100 m.
    pub home: Option<(f64, f64)>,
    /// Where the project confirms e-mail first: the link comes back to the
    /// app with a code for this verifier.
    pub confirmation: Option<&'a Pkce>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
    user: TokenUser,
}

#[derive(Deserialize)]
struct TokenUser {
    id: Uuid,
    #[serde(default)]
    email: Option<String>,
}

/// What an admin does to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum MemberAction {
    Approve,
    Suspend,
    Reinstate,
    MakeAdmin,
    MakeMember,
}

impl MemberAction {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberAction::Approve => "approve",
            MemberAction::Suspend => "suspend",
            MemberAction::Reinstate => "reinstate",
            MemberAction::MakeAdmin => "make_admin",
            MemberAction::MakeMember => "make_member",
        }
    }
}

/// E-mails' links lead back to the app.
const LINKS_BACK: &[(&str, &str)] = &[("redirect_to", CALLBACK)];

/// The REST and auth APIs of one project.
#[derive(Clone)]
pub struct Api {
    project: Project,
    http: reqwest::Client,
    timeout: Duration,
}

impl Api {
    pub fn new(project: Project, timeout: Duration) -> Api {
        Api {
            project,
            http: client(),
            timeout,
        }
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    // Auth ----------------------------------------------------------------

    pub async fn sign_up(&self, form: &SignUp<'_>, now: DateTime<Utc>) -> Result<Session, RemoteError> {
        let (lat, lng) = form.home.unzip();
        let mut body = json!({
            "email": form.email, "password": form.password,
            "data": { "lat": lat, "lng": lng },
        });
        if let Some(pkce) = form.confirmation {
            body["code_challenge"] = pkce.challenge().into();
            body["code_challenge_method"] = "s256".into();
        }
        // A project that confirms e-mail first answers without a session: sign in once confirmed.
        let bytes = refused_as(self.auth_call("signup", LINKS_BACK, &body).await, ErrorCode::SignUpRefused)?;
        match serde_json::from_slice::<TokenAnswer>(&bytes) {
            Ok(tokens) => Ok(session(tokens, form.email, now)),
            Err(_) => self.sign_in(form.email, form.password, now).await,
        }
    }

    /// Asks for a password-reset e-mail whose link comes back to the app. It
    /// is sent only where an account has that address, and GoTrue says nothing of which.
    pub async fn recover(&self, email: &str, pkce: &Pkce) -> Result<(), RemoteError> {
        let body = json!({ "email": email, "code_challenge": pkce.challenge(), "code_challenge_method": "s256" });
        refused_as(self.auth_call("recover", LINKS_BACK, &body).await, ErrorCode::Refused).map(drop)
    }

    /// The session an opened e-mail link stands for.
    pub async fn redeem(&self, callback: &Callback, pkce: &Pkce, now: DateTime<Utc>) -> Result<Session, RemoteError> {
        let refused = |answer| refused_as(answer, ErrorCode::InvalidAuthLink);
        match callback {
            Callback::Code(code) => {
                let body = json!({ "auth_code": code, "code_verifier": pkce.verifier() });
                let tokens: TokenAnswer = parse(&refused(self.auth_call("token", &[("grant_type", "pkce")], &body).await)?)?;
                Ok(session(tokens, "", now))
            }
            Callback::Tokens {
                access_token,
                refresh_token,
                expires_in,
                ..
            } => {
                // The fragment's tokens are taken only once the server vouches for them.
                let request = self.with_token(self.http.get(format!("{}/auth/v1/user", self.project.url)), access_token);
                let user: TokenUser = parse(&refused(read(request.send().await).await)?)?;
                let tokens = TokenAnswer {
                    access_token: access_token.clone(),
                    refresh_token: refresh_token.clone(),
                    expires_in: *expires_in,
                    user,
                };
                Ok(session(tokens, "", now))
            }
        }
    }

    /// Sets a new password for the signed-in household (after a reset link).
    pub async fn update_password(&self, session: &Session, password: &str) -> Result<(), RemoteError> {
        let request = self
            .rest(self.http.put(format!("{}/auth/v1/user", self.project.url)), session)
            .header("content-type", "application/json")
            .body(json!({ "password": password }).to_string());
        refused_as(read(request.send().await).await, ErrorCode::Refused).map(drop)
    }

    pub async fn sign_in(&self, email: &str, password: &str, now: DateTime<Utc>) -> Result<Session, RemoteError> {
        let answer = self
            .auth_call("token", &[("grant_type", "password")], &json!({ "email": email, "password": password }))
            .await;
        Ok(session(parse(&refused_as(answer, ErrorCode::InvalidCredentials)?)?, email, now))
    }

    /// New tokens for the session; a refused refresh means signing in again.
    pub async fn refresh(&self, session: &Session, now: DateTime<Utc>) -> Result<Session, RemoteError> {
        match self
            .auth_call(
                "token",
                &[("grant_type", "refresh_token")],
                &json!({ "refresh_token": session.refresh_token }),
            )
            .await
        {
            Ok(bytes) => Ok(session_with_email(parse(&bytes)?, &session.email, now)),
            Err(RemoteError::Refused(_)) => Err(RemoteError::SignedOut),
            Err(other) => Err(other),
        }
    }

    pub async fn sign_out(&self, session: &Session) -> Result<(), RemoteError> {
        let request = self.rest(self.http.post(format!("{}/auth/v1/logout", self.project.url)), session);
        read(request.send().await).await.map(drop)
    }

    async fn auth_call(&self, path: &str, query: &[(&str, &str)], body: &serde_json::Value) -> Result<Vec<u8>, RemoteError> {
        let url = Url::parse_with_params(&format!("{}/auth/v1/{path}", self.project.url), query).map_err(|_| RemoteError::Settings("project_url"))?;
        let request = self
            .http
            .post(url)
            .header("apikey", &self.project.anon_key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .timeout(self.timeout);
        read(request.send().await).await
    }

    // REST ----------------------------------------------------------------

    pub async fn profile(&self, session: &Session) -> Result<ProfileRow, RemoteError> {
        let filters = [
            ("select", "id,location_lat,location_lng".into()),
            ("id", format!("eq.{}", session.user_id)),
        ];
        let rows: Vec<ProfileRow> = self.fetch(session, "profiles", &filters).await?;
        rows.into_iter().next().ok_or(RemoteError::SignedOut)
    }

    /// The household's membership, with its community; `None` before it joins one.
    pub async fn membership(&self, session: &Session) -> Result<Option<MembershipRow>, RemoteError> {
        self.call(session, "my_membership", &json!({})).await
    }

    /// Moves my home (`update_home`): the server stores it coarse, to 0.001°.
    pub async fn update_home(&self, session: &Session, home: Location) -> Result<(), RemoteError> {
        let params = json!({ "p_lat": home.lat(), "p_lng": home.lng() });
        self.call(session, "update_home", &params).await
    }

    /// Joins `community` with an invitation's token, under `display_name`.
    pub async fn join(&self, session: &Session, community: &str, token: &str, display_name: &str) -> Result<MembershipRow, RemoteError> {
        let params = json!({ "p_community": community, "p_token": token, "p_display_name": display_name });
        self.call(session, "join_community", &params).await
    }

    /// One page of my community's open book after `after_seq`, each order with
    /// its distance from my home (`book_page`): a snapshot's page in one call.
    pub async fn book_page(&self, session: &Session, after_seq: i64) -> Result<Vec<BookRow>, RemoteError> {
        self.call(session, "book_page", &json!({ "p_after_seq": after_seq })).await
    }

    /// One page of my orders, all statuses, in arrival order after `after_seq`.
    pub async fn my_orders(&self, session: &Session, after_seq: i64) -> Result<Vec<OrderRow>, RemoteError> {
        let filters = [
            ("select", ORDER_SELECT.into()),
            ("user_id", format!("eq.{}", session.user_id)),
            ("seq", format!("gt.{after_seq}")),
        ];
        self.fetch(session, "market_orders", &page(filters)).await
    }

    /// One page of my side of my trades, oldest first after `after_seq`.
    pub async fn my_trades(&self, session: &Session, after_seq: i64) -> Result<Vec<TradeRow>, RemoteError> {
        let filters = [
            ("select", TRADE_SELECT.into()),
            ("user_id", format!("eq.{}", session.user_id)),
            ("seq", format!("gt.{after_seq}")),
        ];
        self.fetch(session, "household_trades", &page(filters)).await
    }

    /// My readings of intervals starting in `from..to`, latest interval first, every revision.
    pub async fn my_readings(
        &self,
        session: &Session,
        membership: Uuid,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Vec<ReadingRow>, RemoteError> {
        let query = [
            ("select", "delivery_start,import_kwh,export_kwh,source,revision,recorded_at".to_string()),
            ("membership_id", format!("eq.{membership}")),
            (
                "and",
                format!("(delivery_start.gte.{},delivery_start.lt.{})", from.to_rfc3339(), to.to_rfc3339()),
            ),
            ("order", "delivery_start.desc,revision.desc".to_string()),
            ("limit", PAGE.to_string()),
        ];
        self.fetch(session, "meter_readings", &query).await
    }

    /// The current settlements of these trades of mine (at most `PAGE`).
    pub async fn settlements(&self, session: &Session, trades: &[Uuid]) -> Result<Vec<SettlementRow>, RemoteError> {
        let ids: Vec<String> = trades.iter().take(PAGE).map(Uuid::to_string).collect();
        let query = [
            ("select", "trade_id,revision,delivered_kwh,buyer_pays,seller_receives".to_string()),
            ("trade_id", format!("in.({})", ids.join(","))),
            ("superseded_at", "is.null".to_string()),
        ];
        self.fetch(session, "settlements", &query).await
    }

    /// One page of the community's trade prints, oldest first after `after_seq`.
    pub async fn prints(&self, session: &Session, community: &str, after_seq: i64) -> Result<Vec<PrintRow>, RemoteError> {
        let filters = [
            ("select", "seq,price,amount,traded_at".into()),
            ("community_id", format!("eq.{community}")),
            ("seq", format!("gt.{after_seq}")),
        ];
        self.fetch(session, "trade_prints", &page(filters)).await
    }

    /// The server's distances from my home to these orders' (at most `PAGE`).
    pub async fn distances(&self, session: &Session, orders: &[Uuid]) -> Result<Vec<DistanceRow>, RemoteError> {
        self.call(session, "order_distances", &json!({ "p_ids": &orders[..orders.len().min(PAGE)] }))
            .await
    }

    pub async fn place_order(
        &self,
        session: &Session,
        id: Uuid,
        side: Side,
        price: &str,
        amount: &str,
        interval: Option<DateTime<Utc>>,
    ) -> Result<OrderRow, RemoteError> {
        let params = json!({ "p_id": id, "p_type": side.as_str(), "p_price": price, "p_amount": amount, "p_delivery_start": interval });
        self.call(session, "place_order", &params).await
    }

    pub async fn cancel_order(&self, session: &Session, id: Uuid) -> Result<OrderRow, RemoteError> {
        self.call(session, "cancel_order", &json!({ "p_id": id })).await
    }

    /// Buys from an ask; `reference` makes a resend return the same trade.
    pub async fn buy_now(&self, session: &Session, order: Uuid, amount: &str, reference: Uuid) -> Result<TradeRow, RemoteError> {
        self.call(
            session,
            "buy_now",
            &json!({ "p_order_id": order, "p_amount": amount, "p_ref": reference }),
        )
        .await
    }

    // The operator's console (each function checks the caller is an admin of `community`).

    pub async fn members(&self, session: &Session, community: &str) -> Result<Vec<MemberRow>, RemoteError> {
        self.call(session, "community_members", &json!({ "p_community": community })).await
    }

    pub async fn manage_member(&self, session: &Session, community: &str, member: Uuid, action: MemberAction) -> Result<MemberRow, RemoteError> {
        let params = json!({ "p_community": community, "p_member": member, "p_action": action.as_str() });
        self.call(session, "manage_member", &params).await
    }

    pub async fn create_invitation(
        &self,
        session: &Session,
        community: &str,
        uses: u32,
        expires_at: DateTime<Utc>,
        pre_approved: bool,
    ) -> Result<InvitationRow, RemoteError> {
        let params = json!({ "p_community": community, "p_uses": uses, "p_expires_at": expires_at, "p_pre_approved": pre_approved });
        self.call(session, "create_invitation", &params).await
    }

    pub async fn invitations(&self, session: &Session, community: &str) -> Result<Vec<InvitationRow>, RemoteError> {
        self.call(session, "community_invitations", &json!({ "p_community": community })).await
    }

    pub async fn revoke_invitation(&self, session: &Session, community: &str, invitation: Uuid) -> Result<InvitationRow, RemoteError> {
        let params = json!({ "p_community": community, "p_invitation": invitation });
        self.call(session, "revoke_invitation", &params).await
    }

    /// Changes settings (`arguments` from `SettingsChange::arguments`).
    pub async fn update_settings(&self, session: &Session, arguments: &serde_json::Value) -> Result<serde_json::Value, RemoteError> {
        self.call(session, "update_community_settings", arguments).await
    }

    /// Calls a database function (`POST /rest/v1/rpc/NAME`).
    async fn call<T: DeserializeOwned>(&self, session: &Session, function: &str, params: &serde_json::Value) -> Result<T, RemoteError> {
        let request = self
            .rest(self.http.post(format!("{}/rest/v1/rpc/{function}", self.project.url)), session)
            .header("content-type", "application/json")
            .body(params.to_string());
        // A function that returns void answers with no body (204) or `null`.
        let body = read(request.send().await).await?;
        parse(if body.is_empty() { b"null" } else { &body })
    }

    /// Reads rows of a table or view, with PostgREST's query parameters (`column=op.value`, `select`, `order`, `limit`).
    async fn fetch<T: DeserializeOwned>(&self, session: &Session, table: &str, query: &[(&str, String)]) -> Result<Vec<T>, RemoteError> {
        let url =
            Url::parse_with_params(&format!("{}/rest/v1/{table}", self.project.url), query).map_err(|_| RemoteError::Settings("project_url"))?;
        parse(&read(self.rest(self.http.get(url), session).send().await).await?)
    }

    /// The project's key and the household's token, with the call's deadline.
    fn rest(&self, request: reqwest::RequestBuilder, session: &Session) -> reqwest::RequestBuilder {
        self.with_token(request, &session.access_token)
    }

    fn with_token(&self, request: reqwest::RequestBuilder, access_token: &str) -> reqwest::RequestBuilder {
        request
            .header("apikey", &self.project.anon_key)
            .bearer_auth(access_token)
            .timeout(self.timeout)
    }
}

/// One snapshot page: in arrival order, at most `PAGE` rows.
fn page<const N: usize>(filters: [(&'static str, String); N]) -> Vec<(&'static str, String)> {
    let mut query = filters.to_vec();
    query.extend([("order", "seq.asc".to_string()), ("limit", PAGE.to_string())]);
    query
}

/// One HTTP client for the process: TLS by rustls with the ring provider and
/// Mozilla's roots (webpki-roots), the same roots the Realtime websocket
/// trusts, so a phone needs no platform certificate store.
fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports TLS 1.2 and 1.3")
                .with_root_certificates(roots)
                .with_no_client_auth();
            reqwest::Client::builder()
                .use_preconfigured_tls(tls)
                .build()
                .expect("the HTTP client builds")
        })
        .clone()
}

const ORDER_SELECT: &str = "id,user_id,username,community_id,type,price,amount,filled_amount,status,\
                            seq,expires_at,delivery_start,created_at,updated_at";
const TRADE_SELECT: &str = "trade_id,side,order_id,other_order_id,counterpart,taker,price,amount,seq,delivery_start,created_at";

fn session(tokens: TokenAnswer, email: &str, now: DateTime<Utc>) -> Session {
    let email = tokens.user.email.clone().unwrap_or_else(|| email.to_string());
    session_with_email(tokens, &email, now)
}

fn session_with_email(tokens: TokenAnswer, email: &str, now: DateTime<Utc>) -> Session {
    Session {
        user_id: tokens.user.id,
        email: email.to_string(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: now + chrono::Duration::seconds(tokens.expires_in.clamp(0, 86_400 * 7)),
    }
}

/// An auth call's refusal as its code (`otherwise` where GoTrue's is none we know).
fn refused_as<T>(answer: Result<T, RemoteError>, otherwise: ErrorCode) -> Result<T, RemoteError> {
    answer.map_err(|err| match err {
        RemoteError::Refused(text) => RemoteError::Auth(auth_refusal(&text, otherwise)),
        other => other,
    })
}

/// Why GoTrue refused a sign-up or a sign-in, from its machine-readable code:
/// `error_code` (current GoTrue), or `code` where that is text. @supabase/lite
/// 0.10 sends neither, so its message is read as the last resort; `otherwise`
/// is the code of a refusal nothing else explains.
fn auth_refusal(body: &str, otherwise: ErrorCode) -> ErrorCode {
    let answer: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let code = ["error_code", "code"]
        .into_iter()
        .find_map(|key| answer.get(key).and_then(|value| value.as_str()));
    match code {
        Some("user_already_exists" | "email_exists") => ErrorCode::EmailTaken,
        Some("weak_password") => ErrorCode::WeakPassword,
        Some("email_address_invalid") => ErrorCode::InvalidEmail,
        Some("email_not_confirmed") => ErrorCode::EmailNotConfirmed,
        Some("over_request_rate_limit" | "over_email_send_rate_limit" | "over_sms_send_rate_limit") => ErrorCode::RateLimited,
        Some("invalid_credentials") => ErrorCode::InvalidCredentials,
        Some(_) => otherwise,
        None => {
            let text = body.to_lowercase();
            if text.contains("not confirmed") {
                ErrorCode::EmailNotConfirmed
            } else if text.contains("rate limit") {
                ErrorCode::RateLimited
            } else if otherwise == ErrorCode::InvalidCredentials {
                otherwise
            } else if text.contains("already") || text.contains("exists") {
                ErrorCode::EmailTaken
            } else if text.contains("password") {
                ErrorCode::WeakPassword
            } else if text.contains("email") {
                ErrorCode::InvalidEmail
            } else {
                otherwise
            }
        }
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RemoteError> {
    serde_json::from_slice(bytes).map_err(|err| RemoteError::BadAnswer(format!("unexpected JSON: {err}")))
}

/// Reads an answer: its body on success, else the error it stands for.
async fn read(sent: Result<reqwest::Response, reqwest::Error>) -> Result<Vec<u8>, RemoteError> {
    let mut response = sent.map_err(|err| RemoteError::Offline(describe(&err)))?;
    let status = response.status();
    if response.content_length().is_some_and(|length| length > MAX_BODY as u64) {
        return Err(RemoteError::BadAnswer("the answer is too large".into()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| RemoteError::Offline(describe(&err)))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(RemoteError::BadAnswer("the answer is too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    match status.as_u16() {
        200..=299 => Ok(body),
        401 | 403 if !is_refusal(&body) => Err(RemoteError::SignedOut),
        400..=499 => Err(refusal(&body)),
        // @supabase/lite answers a function's RAISE with 500 and code "SUP"
        // (PostgREST: 400); its reason code is still the market's refusal.
        500 if is_lite_raise(&body) => Err(refusal(&body)),
        code => Err(RemoteError::Server(code)),
    }
}

/// A PostgREST error whose message is one of the market's reason codes (as
/// the functions raise them; @supabase/lite prefixes "PostgresError: ").
fn reason_code(body: &[u8]) -> Option<String> {
    let error: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = error.get("message")?.as_str()?;
    let code = message.strip_prefix("PostgresError: ").unwrap_or(message);
    let is_code = !code.is_empty() && code.len() <= 40 && code.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    is_code.then(|| code.to_string())
}

fn is_lite_raise(body: &[u8]) -> bool {
    let error: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    error.get("code").and_then(|c| c.as_str()) == Some("SUP")
        && error
            .get("message")
            .and_then(|m| m.as_str())
            .is_some_and(|m| m.starts_with("PostgresError: "))
        && reason_code(body).is_some()
}

fn is_refusal(body: &[u8]) -> bool {
    reason_code(body).is_some_and(|code| code != "not_authenticated")
}

fn refusal(body: &[u8]) -> RemoteError {
    match reason_code(body) {
        Some(code) => RemoteError::Refused(code),
        // Auth errors carry their own words; kept for mapping, never shown raw.
        None => RemoteError::Refused(String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned()),
    }
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "no answer in time".into()
    } else if err.is_connect() {
        "no connection".into()
    } else {
        "the connection failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_settings_are_checked() {
        assert!(Project::new("https://abc.supabase.co/", "sb_publishable_x", None).is_ok());
        assert_eq!(Project::new("abc.supabase.co", "k", None), Err(RemoteError::Settings("project_url")));
        assert_eq!(Project::new("https://", "k", None), Err(RemoteError::Settings("project_url")));
        assert_eq!(Project::new("https://a.co", " ", None), Err(RemoteError::Settings("anon_key")));
        assert_eq!(
            Project::new("https://a.co", "k", Some("http://x")),
            Err(RemoteError::Settings("realtime_url"))
        );
    }

    #[test]
    fn realtime_is_at_the_projects_websocket_with_the_key_and_protocol_version() {
        let project = Project::new("https://abc.supabase.co", "key", None).unwrap();
        assert_eq!(
            project.realtime_endpoint(),
            "wss://abc.supabase.co/realtime/v1/websocket?apikey=key&vsn=1.0.0"
        );
        let local = Project::new("http://127.0.0.1:1", "key", Some("ws://127.0.0.1:2/realtime/v1/websocket")).unwrap();
        assert_eq!(local.realtime_endpoint(), "ws://127.0.0.1:2/realtime/v1/websocket?apikey=key&vsn=1.0.0");
    }

    #[test]
    fn sign_up_refusals_are_read_from_gotrue_codes() {
        let cases = [
            // GoTrue 2.x: `error_code` beside the HTTP status in `code`.
            (
                r#"{"code":422,"error_code":"user_already_exists","msg":"User already registered"}"#,
                ErrorCode::EmailTaken,
            ),
            (
                r#"{"code":422,"error_code":"email_exists","msg":"Email address already exists"}"#,
                ErrorCode::EmailTaken,
            ),
            (
                r#"{"code":422,"error_code":"weak_password","msg":"Password should be at least 8 characters.","weak_password":{"reasons":["length"]}}"#,
                ErrorCode::WeakPassword,
            ),
            (
                r#"{"code":400,"error_code":"email_address_invalid","msg":"Email address is invalid"}"#,
                ErrorCode::InvalidEmail,
            ),
            (
                r#"{"code":429,"error_code":"over_email_send_rate_limit","msg":"email rate limit exceeded"}"#,
                ErrorCode::RateLimited,
            ),
            // The API version that names the code `code`, whatever its words say.
            (r#"{"code":"email_exists","message":"password and email"}"#, ErrorCode::EmailTaken),
            (
                r#"{"code":"signup_disabled","message":"Signups not allowed for this instance"}"#,
                ErrorCode::SignUpRefused,
            ),
            // @supabase/lite sends words only.
            (r#"{"error":"User already registered"}"#, ErrorCode::EmailTaken),
            (r#"{"error":"Password should be at least 6 characters"}"#, ErrorCode::WeakPassword),
            ("not json at all", ErrorCode::SignUpRefused),
        ];
        for (body, code) in cases {
            assert_eq!(auth_refusal(body, ErrorCode::SignUpRefused), code, "{body}");
        }
    }

    #[test]
    fn sign_in_refusals_tell_an_unconfirmed_email_from_a_wrong_password() {
        let cases = [
            (
                r#"{"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}"#,
                ErrorCode::InvalidCredentials,
            ),
            (
                r#"{"code":400,"error_code":"email_not_confirmed","msg":"Email not confirmed"}"#,
                ErrorCode::EmailNotConfirmed,
            ),
            (
                r#"{"code":429,"error_code":"over_request_rate_limit","msg":"Request rate limit reached"}"#,
                ErrorCode::RateLimited,
            ),
            (
                r#"{"error":"invalid_grant","error_description":"Email not confirmed"}"#,
                ErrorCode::EmailNotConfirmed,
            ),
            (
                r#"{"error":"invalid_grant","error_description":"Invalid login credentials"}"#,
                ErrorCode::InvalidCredentials,
            ),
            // Words about existing things are not a sign-up's "email taken" here.
            (r#"{"error":"User already exists"}"#, ErrorCode::InvalidCredentials),
        ];
        for (body, code) in cases {
            assert_eq!(auth_refusal(body, ErrorCode::InvalidCredentials), code, "{body}");
        }
    }

    #[test]
    fn a_raise_that_lite_answers_with_500_is_still_a_refusal() {
        assert!(is_lite_raise(
            br#"{"code":"SUP","details":null,"hint":null,"message":"PostgresError: not_member"}"#
        ));
        assert!(!is_lite_raise(
            br#"{"code":"SUP","message":"PostgresError: connection terminated unexpectedly"}"#
        ));
        assert!(!is_lite_raise(br#"{"code":"XX000","message":"PostgresError: not_member"}"#));
    }

    #[test]
    fn refusals_carry_the_functions_reason_codes() {
        assert_eq!(
            reason_code(br#"{"message":"PostgresError: invalid_price"}"#).as_deref(),
            Some("invalid_price")
        );
        assert_eq!(
            reason_code(br#"{"code":"P0001","message":"exceeds_available"}"#).as_deref(),
            Some("exceeds_available")
        );
        assert_eq!(reason_code(br#"{"message":"JWT expired"}"#), None);
        assert_eq!(reason_code(b"<html>"), None);
    }

    #[test]
    fn a_session_is_never_printed() {
        let session = Session {
            user_id: Uuid::nil(),
            email: "a@example.com".into(),
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            expires_at: DateTime::UNIX_EPOCH,
        };
        let printed = format!("{session:?}");
        assert!(!printed.contains("secret") && !printed.contains("a@example.com"), "{printed}");
    }
}
