//! `cluebox-desk`: the intranet case desk's command line.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use cluebox_desk::{audit, cases, db, intake, keyfile, phone, repeats, reports, sync, workflow};
use cluebox_protocol::keys::SecretKey;

/// Cluebox case desk: holds the office keys, opens reports, keeps the cases and their audit log.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The desk database.
    #[arg(
        long,
        global = true,
        env = "CLUEBOX_DESK_DB",
        default_value = "desk-data/desk.sqlite3"
    )]
    db: PathBuf,
    /// Office key files to open reports with (repeat for several offices or rotated keys).
    #[arg(
        long = "key",
        global = true,
        env = "CLUEBOX_DESK_KEYS",
        value_delimiter = ','
    )]
    keys: Vec<PathBuf>,
    /// Hotline profile files beyond the built-in 12337 and 12389 (labels, deadlines).
    #[arg(
        long = "profile",
        global = true,
        env = "CLUEBOX_DESK_PROFILES",
        value_delimiter = ','
    )]
    profiles: Vec<PathBuf>,
    /// Who is acting (recorded in the audit log).
    #[arg(
        long,
        global = true,
        env = "CLUEBOX_DESK_ACTOR",
        default_value = "desk"
    )]
    actor: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make an office key pair: writes the private key file (mode 0600) and prints the public
    /// key for the API's config. With CLUEBOX_DESK_PASSPHRASE set, the file is protected by it.
    Keygen {
        /// The private key file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Fetch new sealed items from the intake API, store them, acknowledge them, open them.
    Pull {
        /// The API's base URL.
        #[arg(long, env = "CLUEBOX_DESK_SERVER")]
        server: String,
        /// A file holding the desk bearer token.
        #[arg(long, env = "CLUEBOX_DESK_TOKEN_FILE")]
        token_file: PathBuf,
    },
    /// Import a bundle written by `cluebox export` (air-gapped transfer), then open it.
    Import {
        /// The bundle file.
        bundle: PathBuf,
    },
    /// Record a report received by phone, letter, email or in person: sealed as the browser
    /// would, filed with the API; prints the inquiry code for the caller.
    Intake {
        /// The API's base URL.
        #[arg(long, env = "CLUEBOX_DESK_SERVER")]
        server: String,
        /// How it came in: phone, letter, email, in-person.
        #[arg(long)]
        channel: String,
        /// An answer, as section/field=value (repeat); every other field is "unclear".
        #[arg(long = "field")]
        fields: Vec<String>,
    },
    /// Write a printable A4 poster (SVG) with the entry URL's QR code.
    Poster {
        /// The entry URL (one per region, say).
        #[arg(long)]
        url: String,
        /// The title.
        #[arg(long)]
        title: String,
        /// A line under the title.
        #[arg(long, default_value = "")]
        subtitle: String,
        /// The phone number.
        #[arg(long, default_value = "")]
        phone: String,
        /// A line of what the hotline accepts (repeat).
        #[arg(long = "line")]
        lines: Vec<String>,
        /// The SVG file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// List cases (filters combine).
    List {
        /// Only cases with this status.
        #[arg(long)]
        status: Option<String>,
        /// Only this category id.
        #[arg(long)]
        category: Option<String>,
        /// Only this region id.
        #[arg(long)]
        region: Option<String>,
        /// Only cases assigned to this unit.
        #[arg(long)]
        unit: Option<String>,
        /// Only cases past a deadline.
        #[arg(long)]
        overdue: bool,
        /// Only real-name reports.
        #[arg(long, conflicts_with = "anonymous")]
        real_name: bool,
        /// Only anonymous reports.
        #[arg(long)]
        anonymous: bool,
    },
    /// Cases that are late or due within N days, with what is due.
    Overdue {
        /// Also list cases due within this many days.
        #[arg(long, default_value_t = 0)]
        within: u64,
    },
    /// Draw real-name cases concluded in a month for a follow-up visit (reproducible by seed).
    Sample {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// How many cases.
        #[arg(long)]
        count: usize,
        /// The seed (a random one is made and printed if absent).
        #[arg(long)]
        seed: Option<String>,
    },
    /// Counts by category, region, month, status and overdue.
    Stats {
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Show one case: every field ("unclear" where left blank) and its follow-ups.
    Show {
        /// The case id (or its first characters, at least 6).
        case: String,
    },
    /// Move a case to the next step of the procedure (pushes the public status if --server is set).
    Transition {
        /// The case id (or its first characters).
        case: String,
        /// The new state: accepted, not_accepted, assigned, verifying, concluded,
        /// feedback_given, visited, archived.
        #[arg(long)]
        to: String,
        /// A note for the file (stays in the intranet).
        #[arg(long, default_value = "")]
        note: String,
        /// For `assigned`: the handling unit.
        #[arg(long)]
        unit: Option<String>,
        /// For `not_accepted`: the competent department the report is passed to.
        #[arg(long)]
        department: Option<String>,
        /// For `not_accepted`: the reason.
        #[arg(long)]
        reason: Option<String>,
        /// For `concluded`: the result of verification.
        #[arg(long)]
        result: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Send the reporter a reply, sealed to their key (pushed if --server is set).
    Reply {
        /// The case id (or its first characters).
        case: String,
        /// The reply.
        #[arg(long)]
        text: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Record that two cases are the same matter (after a repeat flag, or otherwise).
    Link {
        /// One case (id or first characters).
        case: String,
        /// The other case.
        other: String,
    },
    /// Extend a case's handling time and tell the reporter why (pushed if --server is set).
    Delay {
        /// The case id (or its first characters).
        case: String,
        /// Days to add.
        #[arg(long)]
        days: u64,
        /// Why (stays in the intranet).
        #[arg(long)]
        reason: String,
        /// What the reporter is told (sealed to their key).
        #[arg(long)]
        message: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Send queued status changes and replies to the API.
    Push {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

/// Where the API is (optional for transition and reply: without it changes wait for `push`).
#[derive(clap::Args)]
struct ApiArgs {
    /// The API's base URL.
    #[arg(long, env = "CLUEBOX_DESK_SERVER")]
    server: Option<String>,
    /// A file holding the desk bearer token.
    #[arg(long, env = "CLUEBOX_DESK_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

impl ApiArgs {
    /// Pushes the queue if the API is configured; says what happened.
    fn push(&self, conn: &rusqlite::Connection) -> anyhow::Result<String> {
        let (Some(server), Some(token_file)) = (&self.server, &self.token_file) else {
            return Ok("queued; run `cluebox-desk push` to send it".into());
        };
        let token = std::fs::read_to_string(token_file)
            .with_context(|| format!("cannot read the token file {}", token_file.display()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let sent = runtime.block_on(sync::push(conn, server, token.trim()))?;
        Ok(format!("sent {sent} change(s) to the API"))
    }
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; names the first bad entry.
    Verify,
}

fn load_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<SecretKey>> {
    let passphrase = std::env::var("CLUEBOX_DESK_PASSPHRASE").ok();
    paths
        .iter()
        .map(|p| keyfile::read(p, passphrase.as_deref()))
        .collect()
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let profiles = cluebox_desk::Profiles::load(&cli.profiles)?;
    match cli.command {
        Command::Keygen { out } => {
            let passphrase = std::env::var("CLUEBOX_DESK_PASSPHRASE").ok();
            let key = keyfile::write_new(&out, passphrase.as_deref())?;
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
            let token = std::fs::read_to_string(&token_file)
                .with_context(|| format!("cannot read the token file {}", token_file.display()))?;
            let keys = load_keys(&cli.keys)?;
            let mut conn = db::open(&cli.db)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let stored =
                runtime.block_on(sync::pull(&mut conn, &server, token.trim(), &cli.actor))?;
            let opened = intake::open_pending(&mut conn, &keys, &cli.actor)?;
            println!(
                "pulled {} new items ({} already stored); opened {}",
                stored.new, stored.known, opened.new
            );
        }
        Command::Import { bundle } => {
            let keys = load_keys(&cli.keys)?;
            let text = std::fs::read(&bundle)
                .with_context(|| format!("cannot read {}", bundle.display()))?;
            let bundle: cluebox_protocol::wire::Bundle =
                serde_json::from_slice(&text).context("this is not a Cluebox export bundle")?;
            anyhow::ensure!(
                bundle.bundle_version == 1,
                "bundle version {} is not supported",
                bundle.bundle_version
            );
            let mut conn = db::open(&cli.db)?;
            let stored = intake::store(&mut conn, &bundle.entries, "import", &cli.actor)?;
            let opened = intake::open_pending(&mut conn, &keys, &cli.actor)?;
            println!(
                "imported {} new items ({} already stored); opened {}",
                stored.new, stored.known, opened.new
            );
        }
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
        Command::Show { case } => {
            let conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            print!("{}", cases::show(&conn, &id, &profiles)?);
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
            let public = workflow::transition(&mut conn, &id, &to, &details, &cli.actor)?;
            println!(
                "case {} is now {}; {}",
                &id[..8],
                public.status,
                api.push(&conn)?
            );
        }
        Command::Reply { case, text, api } => {
            let mut conn = db::open(&cli.db)?;
            let id = intake::find_case(&conn, &case)?;
            workflow::reply(&mut conn, &id, &text, &cli.actor)?;
            println!("reply to case {} sealed; {}", &id[..8], api.push(&conn)?);
        }
        Command::Intake {
            server,
            channel,
            fields,
        } => {
            let conn = db::open(&cli.db)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (code, filed) =
                runtime.block_on(phone::file(&conn, &server, &fields, &channel, &cli.actor))?;
            println!("inquiry code for the caller: {code}");
            println!(
                "received {}; it arrives with the next pull",
                cases::date(filed.receipt.received_at)
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
            workflow::delay(&mut conn, &id, days, &reason, &message, &cli.actor)?;
            println!(
                "case {} extended by {days} days; the reporter is told; {}",
                &id[..8],
                api.push(&conn)?
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
            std::fs::write(&out, svg).with_context(|| format!("cannot write {}", out.display()))?;
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
                &a[..8],
                &b[..8]
            );
        }
        Command::Push { api } => {
            let conn = db::open(&cli.db)?;
            println!("{}", api.push(&conn)?);
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
                println!("{id}");
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

#[allow(clippy::print_stderr)]
fn eprintln_note(text: &str) {
    eprintln!("{text}");
}
