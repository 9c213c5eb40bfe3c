//! A fresh database on a real PostgreSQL with the Supabase platform stand-in
//! and the project's migration, and users acting as PostgREST makes them act.
//! Shared by tests/postgres.rs and benches/postgres.rs.
//!
//! The server comes from `LUMEA_PG_URL` (default: the machine's cluster at
//! 127.0.0.1:5432 as `postgres`, trust auth); scripts/test.sh starts it.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

const PLATFORM: &str = include_str!("platform_stand_in.sql");

fn admin_url() -> String {
    std::env::var("LUMEA_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database of its own, dropped when the test ends.
pub struct TestDb {
    name: String,
    pub pool: PgPool,
    /// Its connection string, for tools that connect on their own (the CLI).
    pub url: String,
}

impl TestDb {
    pub async fn new(connections: u32) -> TestDb {
        let name = format!("lumea_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url()).await.expect("PostgreSQL at LUMEA_PG_URL");
        admin.execute(format!("create database {name}").as_str()).await.unwrap();
        let url = format!("{}/{name}", admin_url().rsplit_once('/').unwrap().0);
        let pool = PgPoolOptions::new().max_connections(connections).connect(&url).await.unwrap();
        // Its roles are cluster-wide: one test database at a time creates them
        // (advisory locks are per database, so the lock is taken in the admin's).
        admin.execute("select pg_advisory_lock(7246)").await.unwrap();
        sqlx::raw_sql(PLATFORM).execute(&pool).await.expect("the platform stand-in applies");
        admin.execute("select pg_advisory_unlock(7246)").await.unwrap();
        // Every migration in supabase/migrations, read at run time, in version order.
        let migrations = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/supabase/migrations"));
        let migrator = sqlx::migrate::Migrator::new(migrations).await.expect("supabase/migrations reads");
        migrator.run(&pool).await.expect("the migrations apply");
        TestDb { name, pool, url }
    }

    /// A user as Supabase Auth makes one: a row in auth.users with sign-up metadata.
    /// A user with the home in `meta` (lat, lng), made an active member of
    /// `meta.community_id` (default "default", made if new) under
    /// `meta.username`, as an admin's approval would.
    pub async fn sign_up(&self, meta: serde_json::Value) -> Uuid {
        let id = self.sign_up_only(&meta).await;
        let community = meta["community_id"].as_str().unwrap_or("default");
        let name = meta["username"]
            .as_str()
            .map_or_else(|| format!("User {}", &id.simple().to_string()[..8]), str::to_string);
        sqlx::query("insert into public.communities (id, name) values ($1, $1) on conflict do nothing")
            .bind(community)
            .execute(&self.pool)
            .await
            .unwrap();
        sqlx::query(
            "insert into public.memberships (community_id, user_id, display_name, status, approved_at)
             values ($1, $2, private.display_name($3), 'active', now())",
        )
        .bind(community)
        .bind(id)
        .bind(name)
        .execute(&self.pool)
        .await
        .unwrap();
        id
    }

    /// A user with no membership: what signing up alone makes.
    pub async fn sign_up_only(&self, meta: &serde_json::Value) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query("insert into auth.users (id, email, raw_user_meta_data) values ($1, $2, $3::jsonb)")
            .bind(id)
            .bind(format!("{}@example.com", id.simple()))
            .bind(meta.to_string())
            .execute(&self.pool)
            .await
            .unwrap();
        id
    }

    /// Runs `sql` as `user` (or as `anon` for None), in one transaction; the
    /// error is the database's message (a reason code for a refusal).
    pub async fn as_user(&self, user: Option<Uuid>, sql: &str, binds: &[&str]) -> Result<Vec<sqlx::postgres::PgRow>, String> {
        let mut tx = self.pool.begin().await.unwrap();
        let (role, claims) = match user {
            Some(id) => ("authenticated", serde_json::json!({ "sub": id, "role": "authenticated" })),
            None => ("anon", serde_json::json!({ "role": "anon" })),
        };
        sqlx::query("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)")
            .bind(role)
            .bind(claims.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        match query.fetch_all(&mut *tx).await {
            Ok(rows) => {
                tx.commit().await.unwrap();
                Ok(rows)
            }
            Err(sqlx::Error::Database(err)) => Err(err.message().to_string()),
            Err(other) => panic!("{other}"),
        }
    }

    pub async fn place(&self, user: Uuid, id: &str, side: &str, price: &str, amount: &str, expires: Option<&str>) -> Result<(), String> {
        let sql = "select id from public.place_order($1::uuid, $2, $3::numeric, $4::numeric, nullif($5, '')::timestamptz)";
        self.as_user(Some(user), sql, &[id, side, price, amount, expires.unwrap_or("")])
            .await
            .map(drop)
    }

    pub async fn cancel(&self, user: Uuid, id: &str) -> Result<(), String> {
        self.as_user(Some(user), "select id from public.cancel_order($1::uuid)", &[id])
            .await
            .map(drop)
    }

    pub async fn buy_now(&self, user: Uuid, order: &str, amount: &str, reference: &str) -> Result<(), String> {
        let sql = "select trade_id from public.buy_now($1::uuid, $2::numeric, $3::uuid)";
        self.as_user(Some(user), sql, &[order, amount, reference]).await.map(drop)
    }

    /// Everything a refused command must leave as it was, as one digest.
    pub async fn digest(&self) -> String {
        sqlx::query_scalar(
            "select md5(coalesce((select string_agg(o::text, '|' order by o.seq) from public.market_orders o), '')
                     || coalesce((select string_agg(t::text, '|' order by t.seq) from public.trades t), '')
                     || coalesce((select string_agg(p::text, '|' order by p.id) from public.profiles p), '')
                     || coalesce((select string_agg(c::text, '|' order by c.id) from public.communities c), '')
                     || coalesce((select string_agg(m::text, '|' order by m.id) from public.memberships m), '')
                     || coalesce((select string_agg(i::text, '|' order by i.id) from private.invitations i), '')
                     || coalesce((select string_agg(h::text, '|' order by h.seq, h.side) from public.household_trades h), '')
                     || coalesce((select string_agg(t::text, '|' order by t.seq) from public.trade_prints t), ''))",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let url = admin_url();
        // The pool's connections must close before the database can go.
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&url).await {
                    let _ = admin.execute(format!("drop database if exists {name} with (force)").as_str()).await;
                }
            })
        })
        .join()
        .unwrap();
    }
}
