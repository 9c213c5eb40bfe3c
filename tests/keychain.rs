//! The household's session in a real Secret Service: GNOME Keyring on a
//! private D-Bus session bus, which scripts/test.sh starts for this test alone
//! (dbus-run-session, the keyring unlocked, its files in a temporary
//! directory). Ignored in a plain `cargo test`, where it would use the
//! developer's own keyring.

use chrono::{TimeZone, Utc};
use lumea_community::secrets::Kept;
use lumea_community::{Session, SessionStore};

#[test]
#[ignore = "needs a private Secret Service: scripts/test.sh runs it under dbus-run-session"]
fn the_session_is_kept_in_the_secret_service_and_not_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("community-session.json");
    let session = Session {
        user_id: uuid::Uuid::new_v4(),
        email: "ada@example.com".into(),
        access_token: "access".into(),
        refresh_token: "refresh".into(),
        expires_at: Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap(),
    };
    // A session kept in a file by a start without the service moves into it.
    SessionStore::in_store(&file, None).save(&session).unwrap();
    let store = SessionStore::open(&file);
    assert_eq!(store.kept(), Kept::CredentialStore);
    assert!(!file.exists(), "nothing of it stays on disk");
    // The next start reads it from the service.
    assert_eq!(SessionStore::open(&file).load(), Some(session.clone()));
    let renewed = Session {
        refresh_token: "renewed".into(),
        ..session
    };
    store.save(&renewed).unwrap();
    assert_eq!(SessionStore::open(&file).load(), Some(renewed));
    assert!(!file.exists());
    store.forget();
    assert_eq!(SessionStore::open(&file).load(), None, "signing out forgets it");
}
