//! The desk's command line: every command and its arguments (clap). `main.rs` runs them.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use cluebox_desk::{remote, sync};

/// Cluebox case desk: holds the office keys, opens reports, keeps the cases and their audit log.
#[derive(Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    /// The desk database.
    #[arg(
        long,
        global = true,
        env = "CLUEBOX_DESK_DB",
        default_value = "desk-data/desk.sqlite3"
    )]
    pub(crate) db: PathBuf,
    /// Office key files to open reports with (repeat for several offices or rotated keys).
    #[arg(
        long = "key",
        global = true,
        env = "CLUEBOX_DESK_KEYS",
        value_delimiter = ','
    )]
    pub(crate) keys: Vec<PathBuf>,
    /// Hotline profile files beyond the built-in 12337 and 12389 (labels, deadlines).
    #[arg(
        long = "profile",
        global = true,
        env = "CLUEBOX_DESK_PROFILES",
        value_delimiter = ','
    )]
    pub(crate) profiles: Vec<PathBuf>,
    /// Sign in as this staff account (needed once the desk has accounts; the password from
    /// CLUEBOX_DESK_PASSWORD or typed at the terminal). Every change is recorded under it.
    #[arg(long = "as", global = true, env = "CLUEBOX_DESK_AS")]
    pub(crate) as_login: Option<String>,
    /// Who is acting, on a desk without staff accounts (recorded in the audit log).
    #[arg(
        long,
        global = true,
        env = "CLUEBOX_DESK_ACTOR",
        default_value = "desk"
    )]
    pub(crate) actor: String,
    /// Extra CA certificates (PEM) to trust for the API's HTTPS, beyond the public roots (the
    /// office's own CA).
    #[arg(long, global = true, env = "CLUEBOX_DESK_CA_CERT")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Pin the API's certificate key: sha256/BASE64 of its SubjectPublicKeyInfo (repeat for a
    /// backup key). A certificate with another key is refused even if a CA signed it.
    #[arg(
        long = "pin",
        global = true,
        env = "CLUEBOX_DESK_PINS",
        value_delimiter = ','
    )]
    pub(crate) pins: Vec<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Make an office key pair: writes the private key file (mode 0600) and prints the public
    /// key for the API's config.
    Keygen {
        /// The private key file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Protect the file with a passphrase, typed at the terminal (or CLUEBOX_DESK_PASSPHRASE,
        /// which also implies this).
        #[arg(long)]
        protect: bool,
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
        /// A regional office's public key, REGION=cbxpk1... (repeat): reports about that
        /// region are sealed to it too. The national keys are the --key files' public halves.
        #[arg(
            long = "region-key",
            env = "CLUEBOX_DESK_REGION_KEYS",
            value_delimiter = ','
        )]
        region_keys: Vec<String>,
    },
    /// Items that could not be opened, set aside with their reasons.
    Quarantine {
        #[command(subcommand)]
        command: Option<QuarantineCommand>,
    },
    /// Write a printable A4 poster (SVG or PDF) with the entry URL's QR code.
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
        /// The file to write: `.pdf` for a PDF, otherwise an SVG.
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
        /// Show a real-name reporter's identity too; the reason goes into the audit log.
        #[arg(long)]
        identity_reason: Option<String>,
    },
    /// Open a case's evidence files into a directory (created 0700; each file 0600, named
    /// NN-name, never overwriting).
    Files {
        /// The case id (or its first characters, at least 6).
        case: String,
        /// The directory to write them into.
        #[arg(long)]
        out: PathBuf,
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
    /// Approve, or with --refuse turn back, a move waiting for approval (a leader's approval
    /// or a second account's confirmation, as the profile says).
    Decide {
        /// The approval's number (show lists it).
        approval: i64,
        /// Turn it back instead of approving it (needs --reason).
        #[arg(long)]
        refuse: bool,
        /// Why (required to refuse).
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Record a contact with a real-name reporter outside Cluebox (feedback by phone, SMS, in
    /// person or letter); it lets the case move to feedback_given.
    Contact {
        /// The case id (or its first characters).
        case: String,
        /// phone, sms, in_person or letter.
        #[arg(long)]
        channel: String,
        /// What came of it.
        #[arg(long)]
        outcome: String,
        /// The day it happened, YYYY-MM-DD (today if not given).
        #[arg(long)]
        on: Option<String>,
    },
    /// Record the follow-up visit (回访) of a case that had its feedback.
    Visit {
        /// The case id (or its first characters).
        case: String,
        /// satisfied, not_satisfied or unreachable.
        #[arg(long)]
        outcome: String,
        /// A note.
        #[arg(long, default_value = "")]
        note: String,
        /// The day it happened, YYYY-MM-DD (today if not given).
        #[arg(long)]
        on: Option<String>,
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
    /// Serve the desk to the office's staff in a browser: they sign in with their staff
    /// accounts and work by role. Uses the first --key to seal status letters and replies.
    Serve {
        /// Where to listen. Only a loopback address without --tls-cert and --tls-key.
        #[arg(long, env = "CLUEBOX_DESK_LISTEN", default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        /// The certificate chain (PEM) to serve HTTPS with.
        #[arg(long, env = "CLUEBOX_DESK_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, env = "CLUEBOX_DESK_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The intake API to pull new reports from (and push status letters and replies to) on
        /// a schedule; without it, reports come in only by `pull` or `import`.
        #[arg(long, env = "CLUEBOX_DESK_SERVER", requires = "token_file")]
        server: Option<String>,
        /// A file holding the desk bearer token (with --server).
        #[arg(long, env = "CLUEBOX_DESK_TOKEN_FILE")]
        token_file: Option<PathBuf>,
        /// Seconds between two scheduled pulls.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        pull_every: u64,
    },
    /// Staff accounts (roles: intake, handler, leader, auditor, admin). There is no default
    /// account: make the first admin with `staff add`.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
}

/// Staff account commands.
#[derive(Subcommand)]
pub(crate) enum StaffCommand {
    /// Add an account. The password is typed twice at the terminal (or taken from
    /// CLUEBOX_DESK_STAFF_PASSWORD, for scripts and tests); at least 12 characters.
    Add {
        /// The login name.
        login: String,
        /// The name shown in the desk and the audit log.
        #[arg(long)]
        name: String,
        /// intake, handler, leader, auditor or admin.
        #[arg(long)]
        role: String,
        /// A region the account works on (handlers; repeat or comma-separate).
        #[arg(long = "region", value_delimiter = ',')]
        regions: Vec<String>,
    },
    /// List the accounts.
    List,
    /// Disable an account: it can no longer sign in.
    Disable {
        /// The login name.
        login: String,
    },
    /// Set a new password (clears a lockout).
    Passwd {
        /// The login name.
        login: String,
    },
}

/// Where the API is (optional for transition and reply: without it changes wait for `push`).
#[derive(clap::Args)]
pub(crate) struct ApiArgs {
    /// The API's base URL.
    #[arg(long, env = "CLUEBOX_DESK_SERVER")]
    pub(crate) server: Option<String>,
    /// A file holding the desk bearer token.
    #[arg(long, env = "CLUEBOX_DESK_TOKEN_FILE")]
    pub(crate) token_file: Option<PathBuf>,
}

impl ApiArgs {
    /// Pushes the queue if the API is configured; says what happened.
    pub(crate) fn push(
        &self,
        conn: &rusqlite::Connection,
        tls: &remote::TlsOptions,
    ) -> anyhow::Result<String> {
        let (Some(server), Some(token_file)) = (&self.server, &self.token_file) else {
            return Ok("queued; run `cluebox-desk push` to send it".into());
        };
        let token = std::fs::read_to_string(token_file)
            .with_context(|| format!("cannot read the token file {}", token_file.display()))?;
        let remote = remote::Remote::connect(server, tls)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let sent = runtime.block_on(sync::push(conn, &remote, token.trim()))?;
        Ok(format!("sent {sent} change(s) to the API"))
    }
}

#[derive(Subcommand)]
pub(crate) enum QuarantineCommand {
    /// List them (the default).
    List,
    /// Try them again with the keys given now (all, or those set aside for one reason).
    Retry {
        /// Only items with this reason: not_addressed, untrusted_sender, damaged, wrong_kind,
        /// unsupported_version, unknown_case.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the hash chain; names the first bad entry.
    Verify,
}
