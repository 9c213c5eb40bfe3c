//! The one list of codes a refused or failed command can carry, wherever it
//! was refused: the market's rules, the community backend, the local store.
//! The UI's sentences are keyed by it (`ui/src/market/errors.ts`), so a new
//! code starts here and the bindings are regenerated.

use serde::{Deserialize, Serialize};

use crate::rules::Reason;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// Every code that crosses to the UI. The codes are stable: the UI, the
        /// CLI and the Postgres functions all speak them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    DuplicateOrder = "duplicate_order",
    InvalidPrice = "invalid_price",
    InvalidAmount = "invalid_amount",
    InvalidExpiry = "invalid_expiry",
    UnknownOrder = "unknown_order",
    NotOwner = "not_owner",
    NotOpen = "not_open",
    SelfTrade = "self_trade",
    ExceedsAvailable = "exceeds_available",
    ExceedsBattery = "exceeds_battery",
    InsufficientEnergy = "insufficient_energy",
    InvalidUsername = "invalid_username",
    InvalidLocation = "invalid_location",
    InvalidSetting = "invalid_setting",
    UnknownUser = "unknown_user",
    /// Not the start of a delivery interval (not a time, or not aligned).
    InvalidInterval = "invalid_interval",
    /// The interval's book closed at its gate closure.
    IntervalClosed = "interval_closed",
    /// The interval is further ahead than its book opens.
    IntervalNotOpen = "interval_not_open",
    /// Readings and settlement wait for the interval's end.
    IntervalNotEnded = "interval_not_ended",
    InvalidReading = "invalid_reading",
    /// More than the household's inverter power delivers in one interval.
    ExceedsPower = "exceeds_power",
    /// A meter file that cannot be imported; the message names the line or element.
    InvalidMeterFile = "invalid_meter_file",
    /// Community mode does not offer this (a member's meter files: the community's operator imports the readings).
    NotAvailable = "not_available",
    /// The community's cap on a household's open orders.
    TooManyOpenOrders = "too_many_open_orders",
    InvalidSide = "invalid_side",
    InvalidOrderId = "invalid_order_id",
    InvalidRef = "invalid_ref",
    NotAuthenticated = "not_authenticated",
    /// The community market cannot be reached; commands wait in the outbox.
    Offline = "offline",
    ServerError = "server_error",
    BadServerAnswer = "bad_server_answer",
    /// A refusal by the community market that has no code of its own here.
    Refused = "refused",
    SignedOut = "signed_out",
    InvalidCredentials = "invalid_credentials",
    EmailTaken = "email_taken",
    WeakPassword = "weak_password",
    InvalidEmail = "invalid_email",
    SignUpRefused = "sign_up_refused",
    InvalidProject = "invalid_project",
    /// Signed in, but not a member of any community of the project.
    NotMember = "not_member",
    /// The membership waits for an admin's approval.
    MembershipPending = "membership_pending",
    MembershipSuspended = "membership_suspended",
    AlreadyMember = "already_member",
    /// An invitation token that is unknown here, or for another community.
    InvalidInvitation = "invalid_invitation",
    InvitationExpired = "invitation_expired",
    InvitationUsedUp = "invitation_used_up",
    InvitationRevoked = "invitation_revoked",
    InvalidInvitationSettings = "invalid_invitation_settings",
    UnknownInvitation = "unknown_invitation",
    /// Another member of the community has this display name.
    UsernameTaken = "username_taken",
    NotAdmin = "not_admin",
    /// The community would be left without an active admin.
    LastAdmin = "last_admin",
    UnknownMember = "unknown_member",
    /// The member's status or role does not allow that change.
    InvalidMemberStatus = "invalid_member_status",
    InvalidAction = "invalid_action",
    InvalidCommunity = "invalid_community",
    CommunityExists = "community_exists",
    /// An active member's home moves at most once a day.
    HomeChangeTooSoon = "home_change_too_soon",
    /// Joining a community needs the household's home set up first.
    HomeNotSet = "home_not_set",
    InvalidBattery = "invalid_battery",
    InvalidPvSize = "invalid_pv_size",
    InvalidLocale = "invalid_locale",
    InvalidCurrency = "invalid_currency",
    /// An e-mail's confirmation or reset link that is expired, used, or not for this app.
    InvalidAuthLink = "invalid_auth_link",
    /// Too many requests or e-mails for now (GoTrue's rate limits).
    RateLimited = "rate_limited",
    /// Signing in before the e-mail address is confirmed.
    EmailNotConfirmed = "email_not_confirmed",
    /// The market file is open in another copy of the app.
    StoreInUse = "store_in_use",
    StorageFailure = "storage_failure",
    /// The UI's code for a failure that carries no code (never sent by the core).
    Unknown = "unknown",
}

impl ErrorCode {
    /// The code of this text, if it is one.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|known| known.as_str() == code)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Reason> for ErrorCode {
    fn from(reason: Reason) -> ErrorCode {
        match reason {
            Reason::DuplicateOrder => ErrorCode::DuplicateOrder,
            Reason::InvalidPrice => ErrorCode::InvalidPrice,
            Reason::InvalidAmount => ErrorCode::InvalidAmount,
            Reason::InvalidExpiry => ErrorCode::InvalidExpiry,
            Reason::UnknownOrder => ErrorCode::UnknownOrder,
            Reason::NotOwner => ErrorCode::NotOwner,
            Reason::NotOpen => ErrorCode::NotOpen,
            Reason::SelfTrade => ErrorCode::SelfTrade,
            Reason::ExceedsAvailable => ErrorCode::ExceedsAvailable,
            Reason::ExceedsBattery => ErrorCode::ExceedsBattery,
            Reason::InsufficientEnergy => ErrorCode::InsufficientEnergy,
            Reason::InvalidUsername => ErrorCode::InvalidUsername,
            Reason::InvalidLocation => ErrorCode::InvalidLocation,
            Reason::InvalidSetting => ErrorCode::InvalidSetting,
            Reason::UnknownUser => ErrorCode::UnknownUser,
            Reason::InvalidInterval => ErrorCode::InvalidInterval,
            Reason::IntervalClosed => ErrorCode::IntervalClosed,
            Reason::IntervalNotOpen => ErrorCode::IntervalNotOpen,
            Reason::IntervalNotEnded => ErrorCode::IntervalNotEnded,
            Reason::InvalidReading => ErrorCode::InvalidReading,
            Reason::ExceedsPower => ErrorCode::ExceedsPower,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_its_wire_name_and_parses_back() {
        for &code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }

    #[test]
    fn every_reason_is_a_code_of_the_same_name() {
        for reason in Reason::ALL {
            assert_eq!(serde_json::to_value(reason).unwrap(), ErrorCode::from(reason).as_str());
        }
    }
}
