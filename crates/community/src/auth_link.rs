//! E-mail links that finish in the app: a sign-up's confirmation and a
//! password reset both lead to `lumea://auth/callback`, which the OS hands to
//! the app (the deep-link plugin). With PKCE (RFC 7636) the app keeps a secret
//! verifier and GoTrue only ever sees its S256 challenge, so the link's code is
//! worth nothing to anyone who reads the e-mail without the app that asked. A
//! project without PKCE (and @supabase/lite, which has none for e-mail) sends
//! the session in the link's fragment instead: both are read here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use lumea_market::ErrorCode;

/// Where the project's e-mails send the household back to (allow-listed in
/// the project's auth settings: `additional_redirect_urls`).
pub const CALLBACK: &str = "lumea://auth/callback";

/// What an opened link finished: a confirmed e-mail (now signed in) or a
/// password reset (signed in to choose a new password).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum AuthLinkKind {
    Confirmed,
    Recovery,
}

/// The verifier the app keeps until the link comes back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pkce {
    verifier: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkce(..)")
    }
}

impl Pkce {
    /// 32 random bytes, base64url: 43 characters, RFC 7636's minimum entropy.
    pub fn new() -> Pkce {
        Pkce {
            verifier: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()),
        }
    }

    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// base64url(SHA-256(verifier)), the `s256` method.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// What a callback link carries.
#[derive(Clone, PartialEq, Eq)]
pub enum Callback {
    /// PKCE: a one-time code, exchanged with the verifier.
    Code(String),
    /// Without PKCE: the session itself, and which e-mail it came from.
    Tokens {
        access_token: String,
        refresh_token: String,
        expires_in: i64,
        kind: Option<AuthLinkKind>,
    },
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Callback::Code(_) => f.write_str("Callback::Code(..)"),
            Callback::Tokens { kind, .. } => write!(f, "Callback::Tokens({kind:?})"),
        }
    }
}

impl Callback {
    /// Reads `lumea://auth/callback?code=…` or `…#access_token=…`; an expired
    /// or used link (GoTrue's `error=…` either place) or anything else is
    /// `invalid_auth_link`.
    pub fn parse(link: &str) -> Result<Callback, ErrorCode> {
        let url = Url::parse(link.trim()).map_err(|_| ErrorCode::InvalidAuthLink)?;
        if format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or(""), url.path()) != CALLBACK {
            return Err(ErrorCode::InvalidAuthLink);
        }
        let fragment: Vec<(String, String)> = match url.fragment() {
            // A fragment is a query's form: read it as one.
            Some(fragment) => Url::parse(&format!("x:?{fragment}"))
                .map(|f| f.query_pairs().into_owned().collect())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |key: &str| {
            query
                .iter()
                .chain(&fragment)
                .find(|(k, v)| k == key && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        if get("error").is_some() || get("error_code").is_some() {
            return Err(ErrorCode::InvalidAuthLink);
        }
        if let Some(code) = get("code") {
            return Ok(Callback::Code(code));
        }
        match (get("access_token"), get("refresh_token")) {
            (Some(access_token), Some(refresh_token)) => Ok(Callback::Tokens {
                access_token,
                refresh_token,
                expires_in: get("expires_in").and_then(|s| s.parse().ok()).unwrap_or(3600),
                kind: match get("type").as_deref() {
                    Some("recovery") => Some(AuthLinkKind::Recovery),
                    Some("signup" | "email" | "magiclink") => Some(AuthLinkKind::Confirmed),
                    _ => None,
                },
            }),
            _ => Err(ErrorCode::InvalidAuthLink),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        let pkce = Pkce {
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        };
        assert_eq!(pkce.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let fresh = Pkce::new();
        assert_eq!(fresh.verifier().len(), 43);
        assert_ne!(fresh, Pkce::new());
    }

    #[test]
    fn callbacks_carry_a_code_or_the_tokens() {
        assert_eq!(Callback::parse("lumea://auth/callback?code=4d1c2a"), Ok(Callback::Code("4d1c2a".into())));
        assert_eq!(
            Callback::parse("lumea://auth/callback#access_token=a.b.c&expires_at=1&expires_in=3600&refresh_token=r1&token_type=bearer&type=recovery"),
            Ok(Callback::Tokens {
                access_token: "a.b.c".into(),
                refresh_token: "r1".into(),
                expires_in: 3600,
                kind: Some(AuthLinkKind::Recovery),
            })
        );
        for bad in [
            "lumea://auth/callback?error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid",
            "lumea://auth/callback#error=access_denied&error_code=otp_expired",
            "lumea://auth/callback",
            "lumea://auth/callback#access_token=a",
            "lumea://join?code=x",
            "https://evil.example/auth/callback?code=x",
            "not a link",
        ] {
            assert_eq!(Callback::parse(bad), Err(ErrorCode::InvalidAuthLink), "{bad}");
        }
    }
}
