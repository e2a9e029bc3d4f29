//! `ferry-demo`: two phones make conflicting edits offline against a running `ferry`, so that
//! the review queue has something to show; then, after an admin has decided, both phones sync
//! again and show the chosen value with no conflict left.
//!
//! ```text
//! ferry-demo seed [--server URL] [--server-b URL] [--dir DIR] [--admin-password PW] [--minimal]
//! ferry-demo sync [--server URL] [--server-b URL] [--dir DIR] [--check]
//! ```
//!
//! Phone B talks to `--server-b` when given (another node on the same PostgreSQL database),
//! else to `--server` like phone A.
//!
//! `seed` creates two officers (`an`, `binh`, unit 07132, password `demo-officer-1`) through
//! the admin API, opens two phone replicas under `--dir` (default `./ferry-demo-phones`), and:
//! - A registers citizen Nguyễn Thị Ánh; both phones sync; offline, A corrects the date of
//!   birth to 1985-03-12 and B to 1985-02-03; both sync: a `field_conflict` item;
//! - unless `--minimal`: the same ID number registered on both phones (`duplicate_id_number`),
//!   two new heads for one household (`household_head`), a residence declaration withdrawn
//!   on one phone while the other extended it (`edit_during_withdrawal`).
//!
//! `sync` syncs both phones and prints what each shows for Ánh's date of birth; with `--check`
//! it exits non-zero unless both show the same value, no conflict, and identical documents.
//! The admin password comes from `--admin-password` or `FERRY_ADMIN_PASSWORD`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ferry_server::routes::auth::LoginReply;
use ferry_tests::{Client, now_ms};
use sync_core::doc::Edit;
use sync_core::model::{Fields, Kind, Value};
use sync_core::replica::{Replica, Session};
use uuid::Uuid;

const USAGE: &str = "usage: ferry-demo seed [--server URL] [--server-b URL] [--dir DIR] [--admin-password PW] [--minimal]\n       ferry-demo sync [--server URL] [--server-b URL] [--dir DIR] [--check]";
const OFFICER_PASSWORD: &str = "demo-officer-1";
const UNIT: &str = "07132";

struct Args {
    command: String,
    server: String,
    /// Phone B's server (another node), if not `server`.
    server_b: Option<String>,
    dir: PathBuf,
    admin_password: Option<String>,
    minimal: bool,
    check: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let command = it.next().ok_or("no command")?;
    let mut args = Args {
        command,
        server: "http://127.0.0.1:8080".into(),
        server_b: None,
        dir: PathBuf::from("ferry-demo-phones"),
        admin_password: std::env::var("FERRY_ADMIN_PASSWORD").ok(),
        minimal: false,
        check: false,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => args.server = value()?.trim_end_matches('/').to_owned(),
            "--server-b" => args.server_b = Some(value()?.trim_end_matches('/').to_owned()),
            "--dir" => args.dir = PathBuf::from(value()?),
            "--admin-password" => args.admin_password = Some(value()?),
            "--minimal" => args.minimal = true,
            "--check" => args.check = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

impl Args {
    /// Phone B's server.
    fn server_b(&self) -> &str {
        self.server_b.as_deref().unwrap_or(&self.server)
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ferry-demo: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match args.command.as_str() {
        "seed" => seed(&args),
        "sync" => sync(&args),
        other => Err(format!("unknown command {other}")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferry-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A phone: its replica and a logged-in client.
struct Phone {
    label: &'static str,
    replica: Replica,
    client: Client,
}

fn login(
    client: &mut Client,
    user: &str,
    password: &str,
    device: Uuid,
    actor: &[u8],
    name: &str,
) -> Result<LoginReply, String> {
    let reply = client.post_json(
        "/v1/login",
        &serde_json::json!({
            "username": user,
            "password": password,
            "device_id": device,
            "actor_id": hex::encode(actor),
            "device_name": name,
        }),
    )?;
    if reply.status != 200 {
        return Err(format!(
            "login of {user} failed ({}): {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ));
    }
    let login: LoginReply = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
    client.token = Some(login.token.clone());
    client.session = Some(login.clone());
    Ok(login)
}

fn phone(server: &str, dir: &Path, user: &str, label: &'static str) -> Result<Phone, String> {
    let replica =
        Replica::open(&dir.join(format!("{user}.db")), None).map_err(|e| e.to_string())?;
    let mut client = Client::new(server);
    let l = login(
        &mut client,
        user,
        OFFICER_PASSWORD,
        replica.device_id(),
        &replica.actor_id(),
        label,
    )?;
    replica
        .set_session(&Session {
            user: l.user,
            role: l.role,
            units: l.units,
        })
        .map_err(|e| e.to_string())?;
    Ok(Phone {
        label,
        replica,
        client,
    })
}

impl Phone {
    fn sync(&self) -> Result<(), String> {
        self.client
            .sync_until_done(&self.replica, 50)
            .map(|_| ())
            .map_err(|e| format!("{} could not sync: {e:?}", self.label))
    }

    fn create(&self, kind: Kind, fields: Fields) -> Result<Uuid, String> {
        Ok(self
            .replica
            .create(kind, UNIT, fields, now_ms())
            .map_err(|e| e.to_string())?
            .record
            .id)
    }

    fn edit(&self, id: Uuid, edits: &[Edit]) -> Result<(), String> {
        self.replica
            .update(id, edits, now_ms())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: value.into(),
    }
}

fn member(rel: &str) -> Value {
    Value::Map(BTreeMap::from([(
        "relationship".to_owned(),
        Value::from(rel),
    )]))
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect()
}

fn admin_client(args: &Args) -> Result<Client, String> {
    let password = args
        .admin_password
        .clone()
        .ok_or("give --admin-password or set FERRY_ADMIN_PASSWORD")?;
    let mut admin = Client::new(&args.server);
    login(
        &mut admin,
        "admin",
        &password,
        Uuid::now_v7(),
        Uuid::new_v4().as_bytes(),
        "ferry-demo (admin)",
    )?;
    Ok(admin)
}

fn ensure_officer(admin: &Client, name: &str) -> Result<(), String> {
    let reply = admin.post_json(
        "/v1/admin/users",
        &serde_json::json!({"username": name, "password": OFFICER_PASSWORD, "role": "officer", "units": [UNIT]}),
    )?;
    match reply.status {
        201 => Ok(()),
        409 => {
            // Exists: make sure the demo password works.
            let r = admin.post_json(
                &format!("/v1/admin/users/{name}/password"),
                &serde_json::json!({"password": OFFICER_PASSWORD}),
            )?;
            if r.status == 200 {
                Ok(())
            } else {
                Err(format!("cannot reset the password of {name}: {}", r.status))
            }
        }
        s => Err(format!(
            "cannot create {name} ({s}): {}",
            String::from_utf8_lossy(&reply.body)
        )),
    }
}

fn seed(args: &Args) -> Result<ExitCode, String> {
    std::fs::create_dir_all(&args.dir).map_err(|e| e.to_string())?;
    let admin = admin_client(args)?;
    ensure_officer(&admin, "an")?;
    ensure_officer(&admin, "binh")?;
    let a = phone(&args.server, &args.dir, "an", "Điện thoại A (an)")?;
    let b = phone(args.server_b(), &args.dir, "binh", "Điện thoại B (binh)")?;

    // The story: one citizen, two corrections of the date of birth made offline.
    let anh = a.create(
        Kind::Citizen,
        fields(&[
            ("full_name", "Nguyễn Thị Ánh"),
            ("date_of_birth", "1985-03-02"),
            ("sex", "female"),
            (
                "permanent_address",
                "Số 8 phố Quang Trung, Phường Quảng Yên",
            ),
            ("status", "active"),
        ]),
    )?;
    a.sync()?;
    b.sync()?;
    a.edit(anh, &[set("date_of_birth", "1985-03-12")])?;
    b.edit(anh, &[set("date_of_birth", "1985-02-03")])?;

    if !args.minimal {
        // The same person registered on both phones.
        for p in [&a, &b] {
            p.create(
                Kind::Citizen,
                fields(&[
                    ("full_name", "Trần Văn Bình"),
                    ("id_number", "022090001234"),
                    ("date_of_birth", "1990-07-15"),
                    ("sex", "male"),
                    ("status", "active"),
                ]),
            )?;
        }
        // A household whose head moved out: each phone names a different new head.
        let people: Vec<Uuid> = ["Lê Văn Cường", "Lê Thị Dung", "Lê Văn Em"]
            .iter()
            .map(|n| {
                a.create(
                    Kind::Citizen,
                    fields(&[
                        ("full_name", n),
                        ("date_of_birth", "1970-01-01"),
                        (
                            "sex",
                            if n.contains("Thị") {
                                "female"
                            } else {
                                "male"
                            },
                        ),
                        ("status", "active"),
                    ]),
                )
            })
            .collect::<Result<_, _>>()?;
        let mut hf = fields(&[("address", "Tổ 4, khu Phong Cốc"), ("status", "active")]);
        hf.insert(
            "members".into(),
            Value::Map(BTreeMap::from([
                (people[0].to_string(), member("head")),
                (people[1].to_string(), member("spouse")),
                (people[2].to_string(), member("child")),
            ])),
        );
        hf.insert("head_id".into(), people[0].to_string().into());
        let household = a.create(Kind::Household, hf)?;
        // A temporary registration that one phone withdraws while the other extends it.
        let mut df = fields(&[
            ("procedure", "temporary_registration"),
            ("address", "Số 12 phố Trần Hưng Đạo"),
            ("address_unit", UNIT),
            ("from_date", "2026-01-05"),
            ("to_date", "2026-07-05"),
            ("status", "submitted"),
        ]);
        df.insert("citizen_id".into(), anh.to_string().into());
        let declaration = a.create(Kind::ResidenceDeclaration, df)?;
        a.sync()?;
        b.sync()?;
        let entry = |id: Uuid, rel: &str| Edit::PutEntry {
            field: "members".into(),
            key: id.to_string(),
            value: member(rel),
        };
        a.edit(
            household,
            &[entry(people[0], "other"), entry(people[1], "head")],
        )?;
        b.edit(
            household,
            &[entry(people[0], "other"), entry(people[2], "head")],
        )?;
        a.edit(declaration, &[set("status", "withdrawn")])?;
        b.edit(declaration, &[set("to_date", "2026-12-31")])?;
    }

    a.sync()?;
    b.sync()?;
    a.sync()?;
    std::fs::write(
        args.dir.join("demo.json"),
        serde_json::json!({"record": anh, "server": args.server}).to_string(),
    )
    .map_err(|e| e.to_string())?;

    for p in [&a, &b] {
        report(p, anh)?;
    }
    let queue = admin.get("/v1/admin/review")?.json();
    let counts = &queue["counts"]["by_type"];
    println!(
        "review queue: {} open item(s): {}",
        queue["counts"]["total"],
        counts
            .as_object()
            .map(|m| m
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    println!("record: {anh}");
    println!(
        "next: open {}/console, sign in as admin and resolve the date of birth;\n      then run: ferry-demo sync --server {}{} --dir {}",
        args.server,
        args.server,
        args.server_b
            .as_deref()
            .map(|b| format!(" --server-b {b}"))
            .unwrap_or_default(),
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints what a phone shows for the citizen's date of birth; returns (value, conflicting).
fn report(p: &Phone, id: Uuid) -> Result<(String, bool), String> {
    let view = p
        .replica
        .get(id)
        .map_err(|e| e.to_string())?
        .ok_or("the record is not on the phone")?;
    let dob = view.record.text("date_of_birth").unwrap_or("-").to_owned();
    let conflict = view.conflicts.iter().find(|c| c.field == "date_of_birth");
    match conflict {
        Some(c) => {
            let values: Vec<String> = c
                .values
                .iter()
                .map(|v| v.value.as_text().unwrap_or("?").to_owned())
                .collect();
            println!(
                "{}: date_of_birth = {dob}  CONFLICT: {}",
                p.label,
                values.join(" | ")
            );
        }
        None => println!("{}: date_of_birth = {dob}  (no conflict)", p.label),
    }
    Ok((dob, conflict.is_some()))
}

fn sync(args: &Args) -> Result<ExitCode, String> {
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(args.dir.join("demo.json"))
            .map_err(|e| format!("run `ferry-demo seed` first: {e}"))?,
    )
    .map_err(|e| e.to_string())?;
    let id = state["record"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or("demo.json has no record")?;
    let a = phone(&args.server, &args.dir, "an", "Điện thoại A (an)")?;
    let b = phone(args.server_b(), &args.dir, "binh", "Điện thoại B (binh)")?;
    a.sync()?;
    b.sync()?;
    a.sync()?;
    let (va, ca) = report(&a, id)?;
    let (vb, cb) = report(&b, id)?;
    let same_docs = a.replica.document(id).ok().flatten().map(|d| d.heads())
        == b.replica.document(id).ok().flatten().map(|d| d.heads());
    if args.check {
        if va != vb || ca || cb || !same_docs {
            eprintln!("ferry-demo: the phones disagree or still show a conflict");
            return Ok(ExitCode::FAILURE);
        }
        println!("OK: both phones show date_of_birth = {va} with no conflict");
    }
    Ok(ExitCode::SUCCESS)
}
