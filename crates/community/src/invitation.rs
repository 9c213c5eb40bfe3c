//! An invitation to a community as it travels to a household: a link the app
//! opens (`lumea://join?...`, through the deep-link plugin) or the same
//! content as one code to paste. It carries what the household would
//! otherwise have to type: the project's URL and public key, the community,
//! and the invitation's token (the server keeps only its hash).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;

use crate::RemoteError;
use crate::api::Project;

/// The scheme and host of an invitation link.
pub const LINK_PREFIX: &str = "lumea://join";
/// What a pasted code starts with: its format's version.
pub const CODE_PREFIX: &str = "LUMEA1-";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub project_url: String,
    pub anon_key: String,
    pub community: String,
    pub token: String,
}

impl Invitation {
    /// The link, with every value percent-encoded.
    pub fn link(&self) -> String {
        let mut url = Url::parse(LINK_PREFIX).expect("the link prefix is a URL");
        url.query_pairs_mut()
            .append_pair("project", &self.project_url)
            .append_pair("key", &self.anon_key)
            .append_pair("community", &self.community)
            .append_pair("token", &self.token);
        url.to_string()
    }

    /// The same content as one code: the link's query, base64url.
    pub fn code(&self) -> String {
        let link = self.link();
        let query = link.split_once('?').map_or("", |(_, query)| query);
        format!("{CODE_PREFIX}{}", URL_SAFE_NO_PAD.encode(query))
    }

    /// Reads a link or a code, as opened or pasted (surrounding spaces ignored).
    /// The project's address and key are checked as a project's settings are.
    pub fn parse(text: &str) -> Result<Invitation, RemoteError> {
        let text = text.trim();
        let query = if let Some(code) = text.strip_prefix(CODE_PREFIX) {
            String::from_utf8(URL_SAFE_NO_PAD.decode(code).map_err(|_| RemoteError::Invitation)?).map_err(|_| RemoteError::Invitation)?
        } else if let Some(rest) = text.strip_prefix(LINK_PREFIX) {
            rest.strip_prefix('?').ok_or(RemoteError::Invitation)?.to_string()
        } else {
            return Err(RemoteError::Invitation);
        };
        let url = Url::parse(&format!("{LINK_PREFIX}?{query}")).map_err(|_| RemoteError::Invitation)?;
        let value = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let invitation = Invitation {
            project_url: value("project").ok_or(RemoteError::Invitation)?,
            anon_key: value("key").ok_or(RemoteError::Invitation)?,
            community: value("community").ok_or(RemoteError::Invitation)?,
            token: value("token").ok_or(RemoteError::Invitation)?,
        };
        let well_formed = invitation.community.len() <= 63
            && invitation
                .community
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && invitation.token.len() <= 200;
        if !well_formed {
            return Err(RemoteError::Invitation);
        }
        Project::new(&invitation.project_url, &invitation.anon_key, None).map_err(|_| RemoteError::Invitation)?;
        Ok(invitation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation() -> Invitation {
        Invitation {
            project_url: "https://abcd.supabase.co".into(),
            anon_key: "sb_publishable_x+y/z=".into(),
            community: "sunny-street".into(),
            token: "Zm9v-YmFy_".into(),
        }
    }

    #[test]
    fn a_link_and_a_code_carry_the_same_invitation() {
        let invitation = invitation();
        let link = invitation.link();
        assert!(
            link.starts_with("lumea://join?project=https%3A%2F%2Fabcd.supabase.co&key=sb_publishable_x%2By%2Fz%3D"),
            "{link}"
        );
        assert_eq!(Invitation::parse(&link).unwrap(), invitation);
        let code = invitation.code();
        assert!(code.starts_with(CODE_PREFIX) && !code.contains(['+', '/', '=', '&']), "{code}");
        assert_eq!(Invitation::parse(&format!("  {code}\n")).unwrap(), invitation);
    }

    #[test]
    fn anything_else_is_refused() {
        let good = invitation();
        let without = |name: &str| good.link().split('&').filter(|pair| !pair.contains(name)).collect::<Vec<_>>().join("&");
        for text in [
            String::new(),
            "https://abcd.supabase.co".into(),
            "lumea://join".into(),
            "LUMEA1-%%%".into(),
            without("token="),
            without("key="),
            good.link().replace("sunny-street", "Sunny%20Street"),
            good.link().replace("https%3A%2F%2Fabcd.supabase.co", "ftp%3A%2F%2Fx"),
        ] {
            assert_eq!(Invitation::parse(&text), Err(RemoteError::Invitation), "{text:?}");
        }
    }
}
