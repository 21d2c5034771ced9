//! `cluebox-desk`: the intranet case desk's command line.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser as _;
use cluebox_desk::operator::Operator;
use cluebox_desk::remote::{Remote, TlsOptions};
use cluebox_desk::staff::Action;
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
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            op.may_work()?;
            let stored =
                runtime()?.block_on(sync::pull(&mut conn, &remote, token.trim(), op.actor()))?;
            let opened = intake::open_pending(&mut conn, &keys, op.actor())?;
            println!(
                "pulled {} new items ({} already stored); opened {}; quarantined {}",
                stored.new, stored.known, opened.new, opened.quarantined
            );
        }
        Command::Import { bundle } => {
            let keys = load_keys(&cli.keys)?;
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            op.may_work()?;
            let imported = cluebox_desk::bundle::import(&mut conn, &bundle, op.actor())?;
            let opened = intake::open_pending(&mut conn, &keys, op.actor())?;
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
                let mut conn = db::open(&cli.db)?;
                operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?.may_work()?;
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
                let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
                op.may_work()?;
                let released = intake::release(&conn, reason.as_deref(), op.actor())?;
                let opened = intake::open_pending(&mut conn, &keys, op.actor())?;
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
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            refuse_admin(&op)?;
            let now = cluebox_desk::now();
            let rows: Vec<reports::CaseRow> = reports::cases(&conn)?
                .into_iter()
                .rev()
                .filter(|c| op.sees(c))
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
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let id = intake::find_case(&conn, &case)?;
            let row = op.case(&conn, &id, Action::ReadCase)?;
            let reveal = match identity_reason.as_deref().map(str::trim) {
                Some("") => anyhow::bail!("--identity-reason needs the reason, in words"),
                Some(reason) => {
                    op.may(Action::ReadIdentity, row.region())?;
                    let tx = conn.transaction()?;
                    audit::append(&tx, op.actor(), "identity.shown", &id, reason)?;
                    tx.commit()?;
                    true
                }
                None => false,
            };
            print!("{}", cases::show(&conn, &id, &profiles, reveal)?);
            if let Some(waiting) = procedure::pending(&conn, &id)? {
                println!(
                    "\n== Waiting for approval: {} (approval {}, proposed by {}); cluebox-desk decide {}",
                    waiting.to,
                    waiting.id,
                    text::line(&waiting.proposed_by),
                    waiting.id
                );
            }
        }
        Command::Files { case, out } => {
            let keys = load_keys(&cli.keys)?;
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let id = intake::find_case(&conn, &case)?;
            op.case(&conn, &id, Action::ReadCase)?;
            let written = evidence::export(&conn, &keys, &id, &out)?;
            audit::append(
                &conn,
                op.actor(),
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
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let id = intake::find_case(&conn, &case)?;
            let row = op.case(&conn, &id, Action::ReadCase)?;
            let details = workflow::Details {
                note,
                unit,
                department,
                reason,
                result,
            };
            let office = office_key(&cli.keys)?;
            // Signed in, the role and the profile's approvals apply as in the web desk.
            if let Some(who) = op.staff() {
                let procedure = profiles
                    .get(&row.profile)
                    .map(|p| p.procedure)
                    .unwrap_or_default();
                procedure::may_move(who, &procedure, &to, row.region())
                    .map_err(anyhow::Error::msg)?;
                if procedure::approval(&procedure, &to, who).is_some() {
                    let n = procedure::propose(&mut conn, &id, &to, &details, op.actor())?;
                    println!(
                        "case {}: {to} proposed; it waits for approval {n} (cluebox-desk decide {n})",
                        cases::short(&id)
                    );
                    return Ok(());
                }
            }
            let public = workflow::transition(&mut conn, &office, &id, &to, &details, op.actor())?;
            println!(
                "case {} is now {}; {}",
                cases::short(&id),
                public.status,
                api.push(&conn, &tls)?
            );
        }
        Command::Decide {
            approval,
            refuse,
            reason,
            api,
        } => {
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let case_id: String = conn
                .query_row(
                    "SELECT case_id FROM approvals WHERE id = ?1",
                    [approval],
                    |r| r.get(0),
                )
                .map_err(|_| anyhow::anyhow!("no approval {approval}"))?;
            let row = op.case(&conn, &case_id, Action::ReadCase)?;
            let waiting = procedure::pending(&conn, &case_id)?
                .filter(|p| p.id == approval)
                .ok_or_else(|| anyhow::anyhow!("approval {approval} was decided already"))?;
            if let Some(who) = op.staff() {
                let procedure = profiles
                    .get(&row.profile)
                    .map(|p| p.procedure)
                    .unwrap_or_default();
                procedure::may_decide_on(&conn, &procedure, &waiting, who, row.region())?
                    .map_err(anyhow::Error::msg)?;
            }
            let office = office_key(&cli.keys)?;
            procedure::decide(&mut conn, &office, approval, !refuse, &reason, op.actor())?;
            println!(
                "approval {approval} {}; {}",
                if refuse { "refused" } else { "approved" },
                api.push(&conn, &tls)?
            );
        }
        Command::Reply { case, text, api } => {
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let id = intake::find_case(&conn, &case)?;
            op.case(&conn, &id, Action::Reply)?;
            let office = office_key(&cli.keys)?;
            workflow::reply(&mut conn, &office, &id, &text, op.actor())?;
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
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let id = intake::find_case(&conn, &case)?;
            op.case(&conn, &id, Action::Reply)?;
            let day = on.map_or(Ok(cluebox_desk::now()), |d| cases::parse_day(&d))?;
            procedure::record_contact(&mut conn, &id, day, &channel, &outcome, op.actor())?;
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
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let id = intake::find_case(&conn, &case)?;
            op.case(&conn, &id, Action::Handle)?;
            let day = on.map_or(Ok(cluebox_desk::now()), |d| cases::parse_day(&d))?;
            procedure::record_visit(&mut conn, &id, day, &outcome, &note, op.actor())?;
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
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            op.may(Action::Accept, None)?;
            let sealing = phone::Sealing {
                profiles: &profiles,
                recipients: &recipients,
            };
            let (code, filed) = runtime()?.block_on(phone::file(
                &conn,
                &remote,
                &sealing,
                &fields,
                &channel,
                op.actor(),
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
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let id = intake::find_case(&conn, &case)?;
            op.case(&conn, &id, Action::Handle)?;
            let office = office_key(&cli.keys)?;
            workflow::delay(&mut conn, &office, &id, days, &reason, &message, op.actor())?;
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
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            let (a, b) = (
                intake::find_case(&conn, &case)?,
                intake::find_case(&conn, &other)?,
            );
            op.case(&conn, &a, Action::Handle)?;
            op.case(&conn, &b, Action::Handle)?;
            repeats::link(&mut conn, &a, &b, op.actor())?;
            println!(
                "cases {} and {} linked as the same matter",
                cases::short(&a),
                cases::short(&b)
            );
        }
        Command::Push { api } => {
            let mut conn = db::open(&cli.db)?;
            operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?.may_work()?;
            println!("{}", api.push(&conn, &tls)?);
        }
        Command::Overdue { within } => {
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            refuse_admin(&op)?;
            print!(
                "{}",
                reports::overdue(&conn, &profiles, cluebox_desk::now(), within, |c| op
                    .sees(c))?
            );
        }
        Command::Sample { month, count, seed } => {
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            op.may(Action::Approve, None)?;
            let seed = seed.unwrap_or_else(|| {
                let mut b = [0u8; 8];
                getrandom::fill(&mut b).expect("the OS random source works");
                hex::encode(b)
            });
            let drawn = reports::sample(&conn, &month, count, &seed, op.actor())?;
            println!("seed {seed}: {} of {count} drawn", drawn.len());
            for id in drawn {
                println!("{}", text::line(&id));
            }
        }
        Command::Stats { csv } => {
            let mut conn = db::open(&cli.db)?;
            let op = operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?;
            refuse_admin(&op)?;
            print!(
                "{}",
                reports::stats(&conn, &profiles, cluebox_desk::now(), csv, |c| op.sees(c))?
            );
            if csv {
                audit::append(
                    &conn,
                    op.actor(),
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
        Command::Staff { command } => {
            run_staff(&cli.db, cli.as_login.as_deref(), &cli.actor, command)?
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let mut conn = db::open(&cli.db)?;
            operator(&mut conn, cli.as_login.as_deref(), &cli.actor)?
                .may(Action::ReadAudit, None)?;
            match audit::verify(&conn)? {
                Ok(n) => println!("audit log intact: {n} entries"),
                Err(bad) => anyhow::bail!("audit log broken: {bad}"),
            }
        }
    }
    Ok(())
}

/// Signs in the command's operator: an account with `--as` once the desk has accounts, or the
/// `--actor` of a desk without any ([`Operator`]).
fn operator(
    conn: &mut rusqlite::Connection,
    login: Option<&str>,
    actor: &str,
) -> anyhow::Result<Operator> {
    Operator::sign_in(conn, login, actor, |login| {
        if let Ok(password) = std::env::var("CLUEBOX_DESK_PASSWORD") {
            return Ok(zeroize::Zeroizing::new(password));
        }
        Ok(zeroize::Zeroizing::new(rpassword::prompt_password(
            format!("password for {login}: "),
        )?))
    })
}

/// An admin manages accounts and reads no case, not even in lists and counts.
fn refuse_admin(op: &Operator) -> anyhow::Result<()> {
    match op.staff() {
        Some(who) if who.role == staff::Role::Admin => {
            anyhow::bail!("the admin role reads no case")
        }
        _ => Ok(()),
    }
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

/// Account commands: anyone on a desk without accounts (to make the first admin), then only an
/// admin signed in with `--as`.
fn run_staff(
    db_path: &std::path::Path,
    login: Option<&str>,
    actor: &str,
    command: StaffCommand,
) -> anyhow::Result<()> {
    let mut conn = db::open(db_path)?;
    let op = operator(&mut conn, login, actor)?;
    op.may(Action::ManageAccounts, None)?;
    let actor = op.actor();
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
