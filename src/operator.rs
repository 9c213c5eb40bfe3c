//! `lumea community ...`: the operator's bootstrap, run against the project's
//! database (the connection string from the Supabase dashboard). It calls the
//! service-only functions create_community and invite_admin, and prints the
//! single-use admin invitation as a link and a code for the first admin's app.

use lumea_community::invitation::Invitation;
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};

/// Where the invitation sends the household's app.
pub struct Project {
    pub url: String,
    pub anon_key: String,
}

#[derive(Deserialize)]
struct Made {
    community_id: String,
    invitation_id: uuid::Uuid,
    expires_at: String,
    token: String,
}

/// An invitation as the operator passes it on: link and code.
#[derive(Serialize)]
pub struct AdminInvitation {
    pub community_id: String,
    pub invitation_id: uuid::Uuid,
    pub expires_at: String,
    pub link: String,
    pub code: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0}")]
    Database(String),
    #[error("the project's URL or key is not valid")]
    Project,
    #[error("the name gives no community id: pass --id")]
    NoId,
}

/// A community id from its name: lowercase letters and digits, words joined by `-`.
pub fn community_id(name: &str) -> Option<String> {
    let mut id = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    let id: String = id.trim_end_matches('-').chars().take(63).collect();
    let id = id.trim_end_matches('-').to_string();
    (!id.is_empty()).then_some(id)
}

pub async fn create(db_url: &str, project: &Project, id: Option<String>, name: &str) -> Result<AdminInvitation, OperatorError> {
    let id = id.or_else(|| community_id(name)).ok_or(OperatorError::NoId)?;
    call(db_url, project, "select public.create_community($1, $2)::text", &[&id, name]).await
}

/// A household invitation, made by the operator as the service.
pub async fn invite(
    db_url: &str,
    project: &Project,
    community: &str,
    uses: u32,
    days: u32,
    pre_approved: bool,
) -> Result<AdminInvitation, OperatorError> {
    let (uses, days) = (uses.to_string(), days.to_string());
    let pre_approved = pre_approved.to_string();
    let sql = "select private.make_invitation(c.id, 'member', $2::integer, now() + make_interval(days => $3::integer), $4::boolean, null)::text
                 from public.communities c where c.id = $1";
    call(db_url, project, sql, &[community, &uses, &days, &pre_approved]).await
}

/// Approves a pending member by its display name, as the service.
pub async fn approve(db_url: &str, community: &str, display_name: &str) -> Result<String, OperatorError> {
    let mut connection = PgConnection::connect(db_url).await.map_err(database)?;
    let approved: Option<String> = sqlx::query_scalar(
        "update public.memberships set status = 'active', approved_at = now()
          where community_id = $1 and lower(display_name) = lower(private.display_name($2)) and status = 'pending'
          returning display_name",
    )
    .bind(community)
    .bind(display_name)
    .fetch_optional(&mut connection)
    .await
    .map_err(database)?;
    approved.ok_or_else(|| OperatorError::Database(format!("no pending member named {display_name:?} in {community}")))
}

pub async fn invite_admin(db_url: &str, project: &Project, community: &str) -> Result<AdminInvitation, OperatorError> {
    call(db_url, project, "select public.invite_admin($1)::text", &[community]).await
}

async fn call(db_url: &str, project: &Project, sql: &str, binds: &[&str]) -> Result<AdminInvitation, OperatorError> {
    // Checked before anything is made: an invitation without a working link helps no one.
    let check = Invitation {
        project_url: project.url.clone(),
        anon_key: project.anon_key.clone(),
        community: "x".into(),
        token: "x".into(),
    };
    Invitation::parse(&check.link()).map_err(|_| OperatorError::Project)?;
    let mut connection = PgConnection::connect(db_url).await.map_err(database)?;
    let mut query = sqlx::query_scalar::<_, String>(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    let answer = query
        .fetch_optional(&mut connection)
        .await
        .map_err(database)?
        .ok_or_else(|| OperatorError::Database("no such community".into()))?;
    let made: Made = serde_json::from_str(&answer).map_err(|err| OperatorError::Database(err.to_string()))?;
    let invitation = Invitation {
        project_url: project.url.clone(),
        anon_key: project.anon_key.clone(),
        community: made.community_id.clone(),
        token: made.token,
    };
    Ok(AdminInvitation {
        community_id: made.community_id,
        invitation_id: made.invitation_id,
        expires_at: made.expires_at,
        link: invitation.link(),
        code: invitation.code(),
    })
}

fn database(err: sqlx::Error) -> OperatorError {
    OperatorError::Database(match err.as_database_error() {
        Some(db) => db.message().to_string(),
        None => err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_community_id_is_made_from_its_name() {
        assert_eq!(community_id("Sunny Street").as_deref(), Some("sunny-street"));
        assert_eq!(community_id("  Zoë's  Garden #2 ").as_deref(), Some("zo-s-garden-2"));
        assert_eq!(community_id("日本").as_deref(), None);
        assert_eq!(community_id(&"a".repeat(70)).map(|id| id.len()), Some(63));
    }
}
