//! The community test backend, as tests/community/stand.mjs runs it: a private
//! PostgreSQL 15 with logical decoding, @supabase/lite for REST and auth, and
//! the realtime test server (the one stand-in: Supabase Realtime cannot run
//! here). Faults are asked for on its stdin. Shared by tests/community.rs and
//! benches/community.rs.

#![allow(dead_code)] // each test crate uses part of it

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use lumea_community::{Api, CommunityMarket, Paths, Project, Session, SignUp};
use lumea_market::Energy;
use lumea_market::energy::Battery;
use lumea_store::clock::SystemClock;
use serde::Deserialize;
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

#[derive(Debug, Deserialize)]
pub struct Endpoints {
    pub rest_url: String,
    pub realtime_url: String,
    pub anon_key: String,
    pub jwt_secret: String,
    pub pg_url: String,
}

pub struct Stand {
    child: Child,
    control: tokio::sync::Mutex<(ChildStdin, Lines<BufReader<ChildStdout>>)>,
    pub endpoints: Endpoints,
    pub dir: tempfile::TempDir,
}

impl Stand {
    pub async fn start() -> Stand {
        Stand::start_with(&[]).await
    }

    /// A project that confirms e-mail first, as hosted ones do: sign-up waits for the e-mail's link.
    pub async fn start_confirming_email() -> Stand {
        Stand::start_with(&[("LUMEA_STAND_CONFIRM_EMAIL", "1")]).await
    }

    async fn start_with(env: &[(&str, &str)]) -> Stand {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/community/stand.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the community test backend");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next_line().await.unwrap().expect("the test backend prints its endpoints");
        let endpoints: Endpoints = serde_json::from_str(&first).expect("endpoints as JSON");
        Stand {
            child,
            control: tokio::sync::Mutex::new((stdin, lines)),
            endpoints,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Asks for a fault (`stop-rest`, `start-rest`, `restart-postgres`, `drop-realtime`) and waits until done.
    pub async fn fault(&self, command: &str) {
        let mut control = self.control.lock().await;
        let (stdin, lines) = &mut *control;
        stdin.write_all(format!("{command}\n").as_bytes()).await.unwrap();
        let answer = lines.next_line().await.unwrap().unwrap();
        assert_eq!(answer, format!("ok {command}"), "the test backend could not {command}");
    }

    pub fn project(&self) -> Project {
        Project::new(&self.endpoints.rest_url, &self.endpoints.anon_key, Some(&self.endpoints.realtime_url)).unwrap()
    }

    pub fn api(&self) -> Api {
        Api::new(self.project(), Duration::from_secs(10))
    }

    /// A household signed up and joined `community` (made if new) with a
    /// pre-approved invitation, as its admin would have let it in.
    pub async fn sign_up(&self, name: &str, community: &str) -> Session {
        let email = format!("{}@example.com", name.to_lowercase());
        let form = SignUp {
            email: &email,
            password: "correct-horse-battery",
            home: Some((51.5, -0.12)),
            confirmation: None,
        };
        let session = self.api().sign_up(&form, chrono::Utc::now()).await.expect("sign-up");
        let token = self.invitation(community, true).await;
        self.api().join(&session, community, &token, name).await.expect("joins the community");
        session
    }

    /// A token of a new invitation to `community` (made if new), for 10 uses in a day.
    pub async fn invitation(&self, community: &str, pre_approved: bool) -> String {
        let mut pg = self.pg().await;
        sqlx::query("insert into public.communities (id, name) values ($1, $1) on conflict do nothing")
            .bind(community)
            .execute(&mut pg)
            .await
            .unwrap();
        sqlx::query_scalar("select private.make_invitation($1, 'member', 10, now() + interval '1 day', $2, null) ->> 'token'")
            .bind(community)
            .bind(pre_approved)
            .fetch_one(&mut pg)
            .await
            .unwrap()
    }

    /// The link a household would open for a new invitation to `community`.
    pub async fn invitation_link(&self, community: &str, pre_approved: bool) -> String {
        lumea_community::invitation::Invitation {
            project_url: self.endpoints.rest_url.clone(),
            anon_key: self.endpoints.anon_key.clone(),
            community: community.into(),
            token: self.invitation(community, pre_approved).await,
        }
        .link()
    }

    /// A household's app core, with its own cache file, a 40 kWh battery holding 30 kWh.
    pub async fn household(&self, name: &str, session: Session) -> Arc<CommunityMarket> {
        self.open(
            name,
            session,
            Battery::new(Energy::parse("40").unwrap(), Energy::parse("30").unwrap()).unwrap(),
        )
        .await
    }

    pub async fn open(&self, file: &str, session: Session, battery: Battery) -> Arc<CommunityMarket> {
        let cache = self.dir.path().join(format!("{file}.sqlite"));
        let session_file = self.dir.path().join(format!("{file}.session.json"));
        // The test's own file, never a developer's keyring.
        let paths = Paths {
            cache: &cache,
            session: lumea_community::SessionStore::in_store(&session_file, None),
        };
        CommunityMarket::open(self.api(), session, paths, battery, Arc::new(SystemClock))
            .await
            .unwrap_or_else(|err| panic!("the community market of {file} opens: {err}"))
    }

    pub async fn pg(&self) -> PgConnection {
        PgConnection::connect(&self.endpoints.pg_url).await.unwrap()
    }

    pub async fn stop(mut self) {
        drop(self.control);
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}

/// Waits for something that happens eventually (a bound on liveness, not on speed).
pub async fn until<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
