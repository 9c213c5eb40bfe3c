//! Builds the app's context, and its permissions: every command of the shell
//! gets `allow-<command>` and `deny-<command>`, so the UI may call only what
//! `capabilities/` grants (`permissions/market.toml` groups them). A command
//! added to `generate_handler!` in `src/lib.rs` must be listed here too, and
//! granted, or the UI's call is refused.

const COMMANDS: &[&str] = &[
    "book",
    "energy",
    "stats",
    "price_history",
    "grid_prices",
    "delivery",
    "meter_readings",
    "import_meter_file",
    "statement",
    "statement_csv",
    "place_order",
    "cancel_order",
    "buy_now",
    "buy_from_grid",
    "sell_to_grid",
    "my_orders",
    "my_trades",
    "mode",
    "home_settings",
    "save_home",
    "explore_demo",
    "sign_in",
    "sign_up",
    "join_community",
    "community_members",
    "manage_member",
    "create_invitation",
    "community_invitations",
    "revoke_invitation",
    "community_settings",
    "update_community_settings",
    "request_password_reset",
    "set_new_password",
    "opened_links",
    "use_local_mode",
];

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)))
        .expect("tauri-build: the app's context and permissions");
}
