//! `cluebox`: the intake server's command line. With no arguments it serves with embedded
//! defaults (see [`cluebox_api::config`]).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use cluebox_api::config::Config;

/// Cluebox intake server: stores sealed reports, answers inquiry lookups, serves the portal.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML config file (every setting also has a CLUEBOX_* environment variable).
    #[arg(long, short, global = true, env = "CLUEBOX_CONFIG")]
    config: Option<PathBuf>,
    /// Allow demo keys on a non-loopback address (every page then says it is a demo).
    #[arg(long, global = true)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal and the API (the default).
    Serve,
    /// Write sealed reports, follow-ups and their evidence files to a bundle (a tar archive) for an air-gapped desk.
    Export {
        /// From after this inbox position (42) or from this date on (2026-11-01).
        #[arg(long)]
        since: String,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a new desk bearer token: prints the token (for the desk) and its hash (for the config).
    DeskToken,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    config.demo |= cli.demo;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log)
                .context("the `log` setting is not a valid filter")?,
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => runtime.block_on(serve(config)),
        Command::Export { since, out } => runtime.block_on(async {
            let since = cluebox_api::export::parse_since(&since)?;
            let state = cluebox_api::build_state(&config)?;
            let written = cluebox_api::export::export(
                state.store.as_ref(),
                state.blobs.as_ref(),
                &state.profile.profile.id,
                since,
                &out,
            )
            .await?;
            tracing::info!(
                entries = written.entries,
                files = written.files,
                bytes = written.bytes,
                file = %out.display(),
                "bundle written"
            );
            Ok(())
        }),
        Command::DeskToken => {
            let token = cluebox_api::secrets::new_desk_token();
            let hash = cluebox_api::secrets::desk_token_hash(&token);
            #[allow(clippy::print_stdout)]
            {
                println!(
                    "desk token (give to the desk, keep secret): {}",
                    token.as_str()
                );
                println!("config line: desk_token_hashes = [\"{hash}\"]");
            }
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let state = cluebox_api::build_state(&config)?;
    match cluebox_api::serve::raise_file_limit() {
        Some(n) => tracing::info!("open-files limit: {n}"),
        None => tracing::warn!("could not raise the open-files limit"),
    }
    let tls = config
        .tls
        .as_ref()
        .map(|t| cluebox_api::serve::tls_acceptor(&t.cert, &t.key))
        .transpose()?;
    let listener = bind(config.listen).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        "Cluebox {} serving profile {} on {scheme}://{} (portal from {}, {} files)",
        env!("CARGO_PKG_VERSION"),
        state.profile.profile.id,
        listener.local_addr()?,
        state.site.root().display(),
        state.site.len()
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let redirects = match config.tls.as_ref().and_then(|t| t.redirect_listen) {
        Some(addr) => {
            let listener = bind(addr).await?;
            tracing::info!(
                "redirecting plain HTTP on {addr} to {}",
                config.public_url()
            );
            Some(tokio::spawn(cluebox_api::serve::serve_redirects(
                listener,
                config.public_url(),
                config.limits.clone(),
                until_stopped(),
            )))
        }
        None => None,
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    cluebox_api::launch_with(listener, state, tls, until_stopped()).await?;
    if let Some(task) = redirects {
        task.await??;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "cannot listen on {addr}: the port is already in use (stop the other server or set CLUEBOX_LISTEN)"
            )
        } else {
            anyhow::anyhow!("cannot listen on {addr}: {e}")
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
