//! `cluebox-desk`: the intranet case desk's command line.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser as _;
use cluebox_desk::remote::{Remote, TlsOptions};
use cluebox_desk::{
    audit, cases, db, evidence, intake, keyfile, phone, procedure, repeats, reports, staff, sync,
    text, web, workflow,
};
use cluebox_protocol::keys::SecretKey;

mod cli;

use cli::{AuditCommand, Cli, Command, QuarantineCommand, StaffCommand};

fn load_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<SecretKey>> {
    paths
        .iter()
        .map(|p| keyfile::read(p, |path| keyfile::passphrase(path, false)))
        .collect()
}

/// The key that seals the office's replies and status letters: the first `--key`.
fn office_key(paths: &[PathBuf]) -> anyhow::Result<SecretKey> {
    let first = paths.first().ok_or_else(|| {
        anyhow::anyhow!(
            "this seals a message to the reporter as the office: give the office key with --key \
             (or CLUEBOX_DESK_KEYS)"
        )
    })?;
    keyfile::read(first, |path| keyfile::passphrase(path, false))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let profiles = cluebox_desk::Profiles::load(&cli.profiles)?;
    let tls = TlsOptions {
        ca_cert: cli.ca_cert.clone(),
        pins: cli.pins.clone(),
    };
    let tls_options = tls.clone();
    match cli.command {
        Command::Keygen { out, protect } => {
            let passphrase = if protect || std::env::var_os(keyfile::PASSPHRASE_ENV).is_some() {
                Some(keyfile::passphrase(&out, true)?)
            } else {
                None
            };
            let key = keyfile::write_new(&out, passphrase.as_ref().map(|p| p.as_str()))?;
            println!("{}", key.public_key());
            eprintln_note(&format!(
                "wrote the private key to {} (mode 0600{}); put the line above in the API config: \
                 [recipients] national = [\"{}\"]",
                out.display(),
                if passphrase.is_some() {
                    ", passphrase-protected"
                } else {
                    ""
                },
                key.public_key()
            ));
        }
        Command::Pull { server, token_file } => {
            let remote = Remote::connect(&server, &tls)?;
            let token = std::fs::read_to_string(&token_file)
                .with_context(|| format!("cannot read the token file {}", token_file.display()))?;
            let keys = load_keys(&cli.keys)?;
            let mut conn = db::open(&cli.db)?;
            let stored =
                runtime()?.block_on(sync::pull(&mut conn, &remote, token.trim(), &cli.actor))?;
            let opened = intake::open_pending(&mut conn, &keys, &cli.actor)?;
            println!(
                "pulled {} new items ({} already stored); opened {}; quarantined {}",
                stored.new, stored.known, opened.new, opened.quarantined
            );
        }
        Command::Import { bundle } => {
            let keys = load_keys(&cli.keys)?;
            let mut conn = db::open(&cli.db)?;
            let imported = cluebox_desk::bundle::import(&mut conn, &bundle, &cli.actor)?;
            let opened = intake::open_pending(&mut conn, &keys, &cli.actor)?;
            println!(
                "imported {} new items ({} already stored) and {} evidence files; opened {}; quarantined {}",
                imported.entries.new,
                imported.entries.known,
                imported.files,
                opened.new,
                opened.quarantined
            );
        }
        Command::Quarantine { command } => match command.unwrap_or(QuarantineCommand::List) {
            QuarantineCommand::List => {
                let conn = db::open(&cli.db)?;
                let items = intake::quarantined(&conn)?;
                println!("ITEM  CASE      KIND       SET ASIDE         REASON");
                for q in items {
                    println!(
                        "{:<5} {:<9} {:<10} {:<17} {}: {} ({})",
                        q.seq,
                        text::line(cases::short(&q.case_id)),
                        q.kind,
                        cases::date(q.at),
                        q.reason,
                        intake::Quarantine::meaning(&q.reason),
                        text::line(&q.detail)
                    );
                }
            }
            QuarantineCommand::Retry { reason } => {
                let keys = load_keys(&cli.keys)?;
                let mut conn = db::open(&cli.db)?;
                let released = intake::release(&conn, reason.as_deref(), &cli.actor)?;
                let opened = intake::open_pending(&mut conn, &keys, &cli.actor)?;
                println!(
                    "tried {released} item(s) again: opened {}; quarantined {}",
                    opened.new, opened.quarantined
                );
            }
        },
        Command::List {
            status,
            category,
            region,
            unit,
            overdue,
            real_name,
            anonymous,
        } => {
            let conn = db::open(&cli.db)?;
            let now = cluebox_desk::now();
            let rows: Vec<reports::CaseRow> = reports::cases(&conn)?
                .into_iter()
                .rev()
                .filter(|c| status.as_deref().is_none_or(|s| c.status == s))
                .filter(|c| {
                    category
                        .as_deref()
                        .is_none_or(|v| c.answer("category") == Some(v))
                })
                .filter(|c| {
                    region
                        .as_deref()
                        .is_none_or(|v| c.answer("region") == Some(v))
                })
                .filter(|c| unit.as_deref().is_none_or(|v| c.unit.as_deref() == Some(v)))
                .filter(|c| !real_name || c.real_name())
                .filter(|c| !anonymous || !c.real_name())
                .filter(|c| {
                    !overdue
                        || profiles
                            .get(&c.profile)
                            .and_then(|p| c.next_deadline(&p.deadlines))
                            .is_some_and(|(due, _)| due < now)
                })
                .collect();
            print!("{}", cases::list(&rows));
        }
        Command::Show {
            case,
            identity_reason,
        } => {
            let mut conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            let reveal = match identity_reason.as_deref().map(str::trim) {
                Some("") => anyhow::bail!("--identity-reason needs the reason, in words"),
                Some(reason) => {
                    let tx = conn.transaction()?;
                    audit::append(&tx, &cli.actor, "identity.shown", &id, reason)?;
                    tx.commit()?;
                    true
                }
                None => false,
            };
            print!("{}", cases::show(&conn, &id, &profiles, reveal)?);
        }
        Command::Files { case, out } => {
            let keys = load_keys(&cli.keys)?;
            let conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            let written = evidence::export(&conn, &keys, &id, &out)?;
            audit::append(
                &conn,
                &cli.actor,
                "files",
                &id,
                &format!("{} evidence file(s) opened into a directory", written.len()),
            )?;
            for path in &written {
                println!("{}", path.display());
            }
        }
        Command::Transition {
            case,
            to,
            note,
            unit,
            department,
            reason,
            result,
            api,
        } => {
            let mut conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            let details = workflow::Details {
                note,
                unit,
                department,
                reason,
                result,
            };
            let office = office_key(&cli.keys)?;
            let public = workflow::transition(&mut conn, &office, &id, &to, &details, &cli.actor)?;
            println!(
                "case {} is now {}; {}",
                cases::short(&id),
                public.status,
                api.push(&conn, &tls)?
            );
        }
        Command::Reply { case, text, api } => {
            let mut conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            let office = office_key(&cli.keys)?;
            workflow::reply(&mut conn, &office, &id, &text, &cli.actor)?;
            println!(
                "reply to case {} sealed; {}",
                cases::short(&id),
                api.push(&conn, &tls)?
            );
        }
        Command::Contact {
            case,
            channel,
            outcome,
            on,
        } => {
            let mut conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            let day = on.map_or(Ok(cluebox_desk::now()), |d| cases::parse_day(&d))?;
            procedure::record_contact(&mut conn, &id, day, &channel, &outcome, &cli.actor)?;
            println!(
                "contact with the reporter of case {} recorded",
                cases::short(&id)
            );
        }
        Command::Visit {
            case,
            outcome,
            note,
            on,
        } => {
            let mut conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            let day = on.map_or(Ok(cluebox_desk::now()), |d| cases::parse_day(&d))?;
            procedure::record_visit(&mut conn, &id, day, &outcome, &note, &cli.actor)?;
            println!("follow-up visit of case {} recorded", cases::short(&id));
        }
        Command::Intake {
            server,
            channel,
            fields,
            region_keys,
        } => {
            let remote = Remote::connect(&server, &tls)?;
            let national: Vec<_> = load_keys(&cli.keys)?
                .iter()
                .map(SecretKey::public_key)
                .collect();
            anyhow::ensure!(
                !national.is_empty(),
                "intake seals to the desk's own keys: give the office key files with --key"
            );
            let recipients = cluebox_protocol::profile::Recipients {
                national,
                regions: phone::region_keys(&region_keys)?,
            };
            let conn = db::open(&cli.db)?;
            let sealing = phone::Sealing {
                profiles: &profiles,
                recipients: &recipients,
            };
            let (code, filed) = runtime()?.block_on(phone::file(
                &conn, &remote, &sealing, &fields, &channel, &cli.actor,
            ))?;
            println!("inquiry code for the caller: {code}");
            println!(
                "received {}; it arrives with the next pull",
                cases::day(filed.receipt.received_at)
            );
        }
        Command::Delay {
            case,
            days,
            reason,
            message,
            api,
        } => {
            let mut conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            let office = office_key(&cli.keys)?;
            workflow::delay(&mut conn, &office, &id, days, &reason, &message, &cli.actor)?;
            println!(
                "case {} extended by {days} days; the reporter is told; {}",
                cases::short(&id),
                api.push(&conn, &tls)?
            );
        }
        Command::Poster {
            url,
            title,
            subtitle,
            phone,
            lines,
            out,
        } => {
            let svg = cluebox_desk::poster::render(&cluebox_desk::poster::Poster {
                url: &url,
                title: &title,
                subtitle: &subtitle,
                phone: &phone,
                lines: &lines,
            })?;
            let pdf = out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
            let bytes = if pdf {
                cluebox_desk::poster::pdf(&svg)?
            } else {
                svg.into_bytes()
            };
            std::fs::write(&out, bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("poster for {url} written to {}", out.display());
        }
        Command::Link { case, other } => {
            let mut conn = db::open(&cli.db)?;
            let (a, b) = (
                intake::find_case(&conn, &case)?,
                intake::find_case(&conn, &other)?,
            );
            repeats::link(&mut conn, &a, &b, &cli.actor)?;
            println!(
                "cases {} and {} linked as the same matter",
                cases::short(&a),
                cases::short(&b)
            );
        }
        Command::Push { api } => {
            let conn = db::open(&cli.db)?;
            println!("{}", api.push(&conn, &tls)?);
        }
        Command::Overdue { within } => {
            let conn = db::open(&cli.db)?;
            print!(
                "{}",
                reports::overdue(&conn, &profiles, cluebox_desk::now(), within)?
            );
        }
        Command::Sample { month, count, seed } => {
            let conn = db::open(&cli.db)?;
            let seed = seed.unwrap_or_else(|| {
                let mut b = [0u8; 8];
                getrandom::fill(&mut b).expect("the OS random source works");
                hex::encode(b)
            });
            let drawn = reports::sample(&conn, &month, count, &seed, &cli.actor)?;
            println!("seed {seed}: {} of {count} drawn", drawn.len());
            for id in drawn {
                println!("{}", text::line(&id));
            }
        }
        Command::Stats { csv } => {
            let conn = db::open(&cli.db)?;
            print!(
                "{}",
                reports::stats(&conn, &profiles, cluebox_desk::now(), csv)?
            );
            if csv {
                audit::append(
                    &conn,
                    &cli.actor,
                    "export",
                    "stats",
                    "statistics written as CSV",
                )?;
            }
        }
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            server,
            token_file,
            pull_every,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(web::tls_acceptor(&cert, &key)?),
                _ => None,
            };
            web::check_listen(listen, tls.is_some())?;
            let pulling = match (server, token_file) {
                (Some(server), Some(token_file)) => Some(web::live::Pulling {
                    remote: Remote::connect(&server, &tls_options)?,
                    token: std::fs::read_to_string(&token_file)
                        .with_context(|| {
                            format!("cannot read the token file {}", token_file.display())
                        })?
                        .trim()
                        .to_owned(),
                    every: std::time::Duration::from_secs(pull_every),
                    db: cli.db.clone(),
                }),
                _ => None,
            };
            let desk = web::Desk::new(db::open(&cli.db)?, load_keys(&cli.keys)?, profiles)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(async {
                    if let Some(pulling) = pulling {
                        web::live::start(desk.clone(), pulling)?;
                    }
                    let listener = tokio::net::TcpListener::bind(listen)
                        .await
                        .with_context(|| format!("cannot listen on {listen}"))?;
                    let scheme = if tls.is_some() { "https" } else { "http" };
                    eprintln_note(&format!(
                        "cluebox-desk serve: {scheme}://{}/ (staff sign in with their accounts; \
                     `cluebox-desk staff add` makes one)",
                        listener.local_addr()?
                    ));
                    web::serve(listener, desk, tls, shutdown()).await
                })?;
        }
        Command::Staff { command } => run_staff(&cli.db, &cli.actor, command)?,
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let conn = db::open(&cli.db)?;
            match audit::verify(&conn)? {
                Ok(n) => println!("audit log intact: {n} entries"),
                Err(bad) => anyhow::bail!("audit log broken: {bad}"),
            }
        }
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

#[allow(clippy::print_stderr)]
fn eprintln_note(text: &str) {
    eprintln!("{text}");
}

/// A new staff password: `CLUEBOX_DESK_STAFF_PASSWORD` if set, otherwise typed twice.
fn staff_password(login: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    if let Ok(password) = std::env::var("CLUEBOX_DESK_STAFF_PASSWORD") {
        return Ok(zeroize::Zeroizing::new(password));
    }
    let first = zeroize::Zeroizing::new(rpassword::prompt_password(format!(
        "new password for {login} (at least {} characters): ",
        staff::MIN_PASSWORD
    ))?);
    let again = zeroize::Zeroizing::new(rpassword::prompt_password("the same password again: ")?);
    anyhow::ensure!(*first == *again, "the two passwords differ");
    Ok(first)
}

fn run_staff(db_path: &std::path::Path, actor: &str, command: StaffCommand) -> anyhow::Result<()> {
    let mut conn = db::open(db_path)?;
    match command {
        StaffCommand::Add {
            login,
            name,
            role,
            regions,
        } => {
            let account = staff::Staff {
                login: login.clone(),
                name,
                role: staff::Role::parse(&role)?,
                regions,
                disabled: false,
            };
            staff::add(&mut conn, actor, &account, &staff_password(&login)?)?;
            eprintln_note(&format!("added {login} ({role})"));
        }
        StaffCommand::List => {
            for s in staff::list(&conn)? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    text::line(&s.login),
                    s.role.as_str(),
                    text::line(&s.regions.join(",")),
                    text::line(&s.name),
                    if s.disabled { "\tdisabled" } else { "" }
                );
            }
        }
        StaffCommand::Disable { login } => staff::disable(&mut conn, actor, &login)?,
        StaffCommand::Passwd { login } => {
            staff::set_password(&mut conn, actor, &login, &staff_password(&login)?)?;
        }
    }
    Ok(())
}
