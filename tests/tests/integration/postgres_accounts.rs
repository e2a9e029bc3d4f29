//! Accounts and the audit chain on PostgreSQL, with several writers at once: the admin CLI
//! (`user`, `device`, `audit`) against `--database`, several `ferry` processes appending to
//! one audit chain, the audit key every node must share, and several `ferry serve` nodes on
//! one database: a token works on every node, and revocation, disable, new units and
//! lockouts apply on every node at once.

use std::path::Path;
use std::process::{Command, Output};

use ferry_server::audit::{self, Entry, Verdict};
use ferry_server::audit_key::AuditKey;
use ferry_server::db::postgres::PgStore;
use ferry_server::db::{DbError, Store};
use ferry_tests::pg::TestDatabase;
use ferry_tests::{Client, Device, Engine, PASSWORD, Server, SyncError, citizen, now_ms};
use sync_core::model::Kind;
use uuid::Uuid;

use crate::bin;

/// A migrated test database and the key file every "node" of the test uses.
struct Deployment {
    db: TestDatabase,
    dir: tempfile::TempDir,
}

impl Deployment {
    fn new() -> Deployment {
        let db = TestDatabase::start();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("audit-key"),
            format!("{}\n", "ab".repeat(32)),
        )
        .unwrap();
        let d = Deployment { db, dir };
        ok(&d.ferry(&["migrate"]));
        d
    }

    fn key_file(&self) -> std::path::PathBuf {
        self.dir.path().join("audit-key")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        for (k, _) in std::env::vars() {
            if k.starts_with("FERRY_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(args)
            .env("FERRY_DATABASE_URL", self.db.url())
            .env("FERRY_AUDIT_KEY_FILE", self.key_file())
            // Nothing may land in a SQLite data directory.
            .env("FERRY_DATA_DIR", self.dir.path().join("no-sqlite"));
        cmd
    }

    fn ferry(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run ferry")
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "ferry failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn key_of(path: &Path) -> AuditKey {
    AuditKey::from_hex(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_admin_cli_manages_users_devices_and_the_audit_trail_on_postgres() {
    let d = Deployment::new();
    ok(&d.ferry(&[
        "user",
        "add",
        "an",
        "--role",
        "officer",
        "--unit",
        "07132",
        "--password",
        "officer-password-1",
    ]));
    let listed = ok(&d.ferry(&["user", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("an ") && l.contains("07132")),
        "{listed}"
    );
    ok(&d.ferry(&["user", "assign", "an", "--unit", "07135"]));
    ok(&d.ferry(&["user", "disable", "an"]));
    let listed = ok(&d.ferry(&["user", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("an ") && l.contains("disabled") && l.contains("07135")),
        "{listed}"
    );
    ok(&d.ferry(&["user", "enable", "an"]));
    let again = d.ferry(&[
        "user",
        "add",
        "an",
        "--role",
        "officer",
        "--password",
        "officer-password-1",
    ]);
    assert!(!again.status.success(), "a second `an` is refused");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let devices = ok(&d.ferry(&["device", "list"]));
    assert!(devices.starts_with("device "), "{devices}");

    let actions = ok(&d.ferry(&["audit", "list", "--json"]));
    let actions: Vec<String> = actions
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            row["action"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        actions,
        ["user_add", "user_assign", "user_disable", "user_enable"]
    );
    let verified = ok(&d.ferry(&["audit", "verify"]));
    assert!(
        verified.starts_with("OK: 4 audit rows, chain intact"),
        "{verified}"
    );
    assert!(
        !d.dir.path().join("no-sqlite").exists(),
        "no SQLite database was made"
    );
}

#[test]
fn ferry_processes_adding_users_at_once_on_postgres_append_to_one_verifiable_chain() {
    let d = Deployment::new();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let name = format!("officer{i}");
            d.command(&[
                "user",
                "add",
                &name,
                "--role",
                "officer",
                "--unit",
                "07132",
                "--password",
                "officer-password-1",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn ferry")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a concurrent `user add` failed");
    }
    let verified = ok(&d.ferry(&["audit", "verify"]));
    assert!(
        verified.starts_with("OK: 6 audit rows, chain intact"),
        "{verified}"
    );
    let listed = ok(&d.ferry(&["user", "list"]));
    assert_eq!(
        listed.lines().filter(|l| l.starts_with("officer")).count(),
        6
    );
}

/// Many transactions on many connections append at the same moment: each waits for the
/// chain's head in turn, none forks the chain or fails on a taken id.
#[test]
fn concurrent_audit_appends_on_postgres_serialise_on_the_chain_head() {
    let d = Deployment::new();
    let key = key_of(&d.key_file());
    let store = Store::Postgres(PgStore::connect(d.db.url(), 8).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (store, key) = (store.clone(), key.clone());
            std::thread::spawn(move || {
                for i in 0..20 {
                    store
                        .write(|tx| -> Result<i64, DbError> {
                            // Work before the append, so that transactions overlap.
                            tx.query("SELECT count(*) FROM users", &[])?;
                            audit::append_with(
                                tx,
                                Some(&key),
                                i,
                                &Entry {
                                    user: &format!("node{t}"),
                                    action: "sync",
                                    ..Entry::default()
                                },
                            )
                        })
                        .expect("every append commits");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let verdict = store.read(|c| audit::verify(c, &key, &[])).unwrap();
    assert_eq!(
        verdict,
        Verdict::Intact {
            rows: 160,
            legacy: 0,
            checkpoint_rows: None
        }
    );
}

#[test]
fn a_node_without_the_deployments_audit_key_does_not_start_on_postgres() {
    let d = Deployment::new();
    ok(&d.ferry(&[
        "user",
        "add",
        "an",
        "--role",
        "officer",
        "--password",
        "officer-password-1",
    ]));
    let mut cmd = d.command(&["user", "list"]);
    cmd.env_remove("FERRY_AUDIT_KEY_FILE");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("every node needs the same audit key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let other = d.dir.path().join("other-key");
    std::fs::write(&other, "cd".repeat(32)).unwrap();
    let out = d
        .command(&["user", "list"])
        .env("FERRY_AUDIT_KEY_FILE", &other)
        .output()
        .unwrap();
    assert!(!out.status.success(), "another key is refused");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("is not the key the audit trail was written with"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let missing = d.dir.path().join("missing-key");
    let out = d
        .command(&["user", "list"])
        .env("FERRY_AUDIT_KEY_FILE", &missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        !missing.exists(),
        "no key is generated for a shared database"
    );
}

// ---- several `ferry serve` nodes on one database ----

/// Three nodes on one new PostgreSQL database, sharing one audit key.
fn three_nodes() -> [Server; 3] {
    ferry_tests::on_engine(Engine::Postgres, || {
        let a = Server::start(bin());
        let (b, c) = (a.node(), a.node());
        [a, b, c]
    })
}

fn unauthorized(r: Result<sync_core::replica::ApplyReport, SyncError>) -> bool {
    matches!(r, Err(SyncError::Status(401, _)))
}

#[test]
fn a_token_from_one_node_works_on_every_node_and_account_changes_apply_on_all_at_once() {
    let [a, b, c] = three_nodes();
    a.add_user("an", "officer", &["07132"]);
    a.add_user("chi", "staff", &["07132", "07135"]);
    a.add_user("dung", "officer", &["07132"]);

    // Logged in through node a, the phone syncs through b and c with the same token.
    let mut phone = Device::login(&a.url(), "an");
    phone
        .create(Kind::Citizen, "07132", citizen("Nguyễn Văn An"), now_ms())
        .unwrap();
    phone.client = phone.client.via(&b.url());
    phone.sync_all();
    phone.client = phone.client.via(&c.url());
    phone.sync().expect("the token works on node c");

    // Revoked through node b: node c orders the wipe at once, node a refuses the token next.
    let admin = b.admin();
    let r = admin
        .post_json(
            &format!("/v1/admin/devices/{}/revoke", phone.device_id()),
            &serde_json::json!({}),
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(phone.sync().unwrap().wiped, "node c sees the revocation");
    // (The wiped replica syncs no more: ask node a with the same token directly.)
    phone.client = phone.client.via(&a.url());
    let r = phone
        .client
        .post_json("/v1/logout", &serde_json::json!({}))
        .unwrap();
    assert_eq!(r.status, 401, "node a refuses the revoked device's token");

    // Disabled through node c: dung's phone, logged in on a, is refused by b at once.
    let mut dung = Device::login(&a.url(), "dung");
    dung.sync_all();
    let r = c
        .admin()
        .post_json("/v1/admin/users/dung/disable", &serde_json::json!({}))
        .unwrap();
    assert_eq!(r.status, 204);
    dung.client = dung.client.via(&b.url());
    assert!(unauthorized(dung.sync()), "node b sees the disable");

    // chi loses 07132 through node a; her next sync through node c purges it.
    let mut chi = Device::login(&b.url(), "chi");
    chi.create(Kind::Citizen, "07135", citizen("Hoàng Thị Lan"), now_ms())
        .unwrap();
    chi.sync_all();
    assert_eq!(chi.count().unwrap(), 2, "both units' records");
    let r = a
        .admin()
        .send(
            "PUT",
            "/v1/admin/users/chi/units",
            &[("Content-Type", "application/json")],
            Some(br#"{"units": ["07135"]}"#.to_vec()),
        )
        .unwrap();
    assert_eq!(r.status, 200);
    chi.client = chi.client.via(&c.url());
    assert!(
        chi.sync().unwrap().purged >= 1,
        "node c applies the new units"
    );
    assert_eq!(chi.count().unwrap(), 1);

    // Five wrong passwords spread over the three nodes lock the account on all of them.
    let (device, actor) = (Uuid::now_v7(), [9u8; 16]);
    let statuses: Vec<u16> = (0..5)
        .map(|i| {
            let node = [&a, &b, &c][i % 3];
            Client::new(&node.url())
                .login_as("chi", "wrong-password", device, &actor)
                .unwrap_err()
                .status
        })
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 429]);
    for node in [&a, &b, &c] {
        let err = Client::new(&node.url())
            .login_as("chi", PASSWORD, device, &actor)
            .unwrap_err();
        assert_eq!(err.status, 429, "locked on every node");
    }

    let out = c.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The README's three-node recipe in short: two phones on different nodes converge, and
/// `ferry audit verify` passes on the shared database.
#[test]
fn two_phones_on_different_nodes_converge_and_the_shared_audit_trail_verifies() {
    let [a, b, c] = three_nodes();
    a.add_user("an", "officer", &["07132"]);
    a.add_user("binh", "officer", &["07132"]);
    let p1 = Device::login(&a.url(), "an");
    let p2 = Device::login(&c.url(), "binh");
    for i in 0..5 {
        p1.create(
            Kind::Citizen,
            "07132",
            citizen(&format!("Phạm Văn {i}")),
            now_ms(),
        )
        .unwrap();
        p2.create(
            Kind::Citizen,
            "07132",
            citizen(&format!("Lê Thị {i}")),
            now_ms(),
        )
        .unwrap();
    }
    for _ in 0..2 {
        p1.sync_all();
        p2.sync_all();
    }
    assert_eq!(p1.count().unwrap(), 10);
    assert_eq!(p1.all_heads().unwrap(), p2.all_heads().unwrap());
    let out = b.cli(&["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && text.starts_with("OK"), "{text}");
}
