//! Where the household's session (its refresh token) is kept between starts:
//! the platform's credential store through keyring-core — the Secret Service
//! on Linux (GNOME Keyring, KWallet), the Keychain on macOS and iOS, the
//! Credential Manager on Windows — and, where none answers (a Linux machine
//! with no Secret Service running, Android for now), a file only this user can
//! read. A session found in that file once a store answers moves into the store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

use crate::api::Session;

/// The service name the household's credential is filed under.
const SERVICE: &str = "market.lumea.energy";

/// One household's session, in the store that holds it.
pub struct SessionStore {
    file: PathBuf,
    entry: Option<Entry>,
}

/// Which store holds the session, for the log and the README's promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    CredentialStore,
    PrivateFile,
}

impl SessionStore {
    /// The platform's credential store when it answers, else `file`. The
    /// entry is named by `file`, so two data directories keep two sessions.
    pub fn open(file: &Path) -> SessionStore {
        SessionStore::in_store(file, platform_store())
    }

    /// `store` (when it answers) or `file`.
    pub fn in_store(file: &Path, store: Option<Arc<CredentialStore>>) -> SessionStore {
        let entry = store.and_then(|store| Entry::new_in_store(&store, SERVICE, &file.display().to_string()).ok());
        // A store that cannot even say it holds nothing is not used.
        let entry = entry.filter(|entry| matches!(entry.get_secret(), Ok(_) | Err(keyring_core::Error::NoEntry)));
        let store = SessionStore {
            file: file.to_path_buf(),
            entry,
        };
        if store.entry.is_some()
            && let Some(session) = read_file(&store.file)
            && store.save(&session).is_ok()
        {
            log::info!("the community session moved from its file into the credential store");
        }
        store
    }

    pub fn kept(&self) -> Kept {
        match self.entry {
            Some(_) => Kept::CredentialStore,
            None => Kept::PrivateFile,
        }
    }

    pub fn load(&self) -> Option<Session> {
        match &self.entry {
            Some(entry) => serde_json::from_slice(&entry.get_secret().ok()?).ok(),
            None => read_file(&self.file),
        }
    }

    /// Saves the session; the tokens are never logged.
    pub fn save(&self, session: &Session) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(session).expect("sessions serialise");
        match &self.entry {
            Some(entry) => {
                entry.set_secret(&bytes).map_err(std::io::Error::other)?;
                // Nothing of it stays on disk once the store has it.
                match std::fs::remove_file(&self.file) {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
                    _ => Ok(()),
                }
            }
            None => write_private_file(&self.file, &bytes),
        }
    }

    /// Forgets the session wherever it is.
    pub fn forget(&self) {
        if let Some(entry) = &self.entry {
            let _ = entry.delete_credential();
        }
        let _ = std::fs::remove_file(&self.file);
    }
}

fn read_file(path: &Path) -> Option<Session> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Written whole, where only this user can read it.
fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// This platform's credential store, if it has one that starts.
fn platform_store() -> Option<Arc<CredentialStore>> {
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    let store = dbus_secret_service_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>);
    #[cfg(target_os = "macos")]
    let store = apple_native_keyring_store::keychain::Store::new().map(|s| s as Arc<CredentialStore>);
    #[cfg(target_os = "ios")]
    let store = apple_native_keyring_store::protected::Store::new().map(|s| s as Arc<CredentialStore>);
    #[cfg(target_os = "windows")]
    let store = windows_native_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>);
    #[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "macos", target_os = "ios", target_os = "windows")))]
    let store: keyring_core::Result<Arc<CredentialStore>> = Err(keyring_core::Error::NoDefaultStore);
    store
        .inspect_err(|err| log::info!("no credential store ({err}): the session is kept in a private file"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    fn session() -> Session {
        Session {
            access_token: "access".into(),
            refresh_token: "refresh".into(),
            expires_at: Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap(),
            user_id: Uuid::nil(),
            email: "ada@example.com".into(),
        }
    }

    #[test]
    fn without_a_store_the_session_is_a_file_only_its_user_reads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("community-session.json");
        let store = SessionStore::in_store(&file, None);
        assert_eq!(store.kept(), Kept::PrivateFile);
        store.save(&session()).unwrap();
        #[cfg(unix)]
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions()) & 0o777,
            0o600
        );
        assert_eq!(store.load(), Some(session()));
        store.forget();
        assert_eq!((store.load(), file.exists()), (None, false));
    }

    #[test]
    fn a_store_takes_the_session_and_the_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("community-session.json");
        // Kept in a file by an earlier start without a store.
        SessionStore::in_store(&file, None).save(&session()).unwrap();
        let mock: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let store = SessionStore::in_store(&file, Some(mock.clone()));
        assert_eq!(store.kept(), Kept::CredentialStore);
        assert!(!file.exists(), "moved into the store");
        assert_eq!(store.load(), Some(session()));
        store.forget();
        assert_eq!(store.load(), None);
    }
}
