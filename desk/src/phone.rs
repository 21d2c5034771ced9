//! `intake`: staff record a report received by phone, letter, email or in person. The desk
//! seals it exactly as the browser would (a new inquiry code, Argon2id) and files it with the
//! API, then prints the code to give to the caller. The report then arrives like any other,
//! through `pull`.
//!
//! It seals only to keys the desk holds itself: the public halves of its own key files (the
//! national office) and the regional keys in its own settings (`--region-key`), with the
//! Argon2 settings of its own copy of the profile. The server's profile is fetched only to
//! compare: if it names other keys or settings, intake refuses and says which differ, because
//! a seized server or a man in the middle would otherwise read what staff type, the caller's
//! identity included.

use std::collections::BTreeMap;

use cluebox_protocol::code::InquiryCode;
use cluebox_protocol::derive::derive;
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::keys::PublicKey;
use cluebox_protocol::letter::{Answer, FieldAnswer, Letter, Report, SectionAnswers};
use cluebox_protocol::profile::{FieldKind, Profile, PublicProfile, Recipients};
use cluebox_protocol::wire::{
    API_VERSION, Challenge, Filed, IdempotencyKey, Pow, Sealed, SubmitReport,
};
use rusqlite::Connection;

use crate::audit;
use crate::remote::Remote;

/// The channels a report can come in by.
pub const CHANNELS: [&str; 4] = ["phone", "letter", "email", "in-person"];

/// Parses `REGION=cbxpk1...` settings into regional recipient keys.
pub fn region_keys(pairs: &[String]) -> anyhow::Result<BTreeMap<String, Vec<PublicKey>>> {
    let mut out: BTreeMap<String, Vec<PublicKey>> = BTreeMap::new();
    for pair in pairs {
        let (region, key) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--region-key takes REGION=cbxpk1..., not {pair:?}"))?;
        let key: PublicKey = key
            .parse()
            .map_err(|e| anyhow::anyhow!("--region-key {region}: {e}"))?;
        out.entry(region.trim().to_owned()).or_default().push(key);
    }
    Ok(out)
}

/// Compares what the server says with what the desk holds; `Err` names every difference.
pub fn check_server(
    server: &PublicProfile,
    local: &Profile,
    ours: &Recipients,
) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let differ = |what: &str, theirs: &[PublicKey], mine: &[PublicKey], out: &mut Vec<String>| {
        for key in theirs.iter().filter(|k| !mine.contains(k)) {
            out.push(format!(
                "the server lists {what} key {key}, which this desk does not hold"
            ));
        }
        for key in mine.iter().filter(|k| !theirs.contains(k)) {
            out.push(format!(
                "this desk holds {what} key {key}, which the server does not list"
            ));
        }
    };
    differ(
        "national",
        &server.recipients.national,
        &ours.national,
        &mut problems,
    );
    let regions: std::collections::BTreeSet<&String> = server
        .recipients
        .regions
        .keys()
        .chain(ours.regions.keys())
        .collect();
    for region in regions {
        let none = Vec::new();
        differ(
            &format!("region {region}"),
            server.recipients.regions.get(region).unwrap_or(&none),
            ours.regions.get(region).unwrap_or(&none),
            &mut problems,
        );
    }
    if server.profile.argon2 != local.argon2 || server.profile.argon2_salt != local.argon2_salt {
        problems.push(format!(
            "the server's Argon2 settings ({:?}, salt {:?}) are not this desk's profile's ({:?}, salt {:?})",
            server.profile.argon2, server.profile.argon2_salt, local.argon2, local.argon2_salt
        ));
    }
    anyhow::ensure!(
        problems.is_empty(),
        "refusing to file: the server's profile disagrees with this desk, so a report sealed to \
         its keys might be read by someone else. {}",
        problems.join("; ")
    );
    Ok(())
}

/// Builds the report's sections from `section/field=value` pairs; every other field is unclear.
pub fn sections(
    profile: &Profile,
    pairs: &[String],
    channel: &str,
    actor: &str,
) -> anyhow::Result<Vec<SectionAnswers>> {
    let mut given = std::collections::HashMap::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--field takes section/field=value, not {pair:?}"))?;
        let (section, field) = key
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("--field takes section/field=value, not {pair:?}"))?;
        let known = profile
            .sections
            .iter()
            .find(|s| s.id == section)
            .and_then(|s| s.fields.iter().find(|f| f.id == field));
        let Some(def) = known else {
            anyhow::bail!("profile {} has no field {key}", profile.id);
        };
        if def.kind == FieldKind::Choice {
            let options = &def.options;
            anyhow::ensure!(
                options.iter().any(|o| o.id == value),
                "{key} takes one of: {}",
                options
                    .iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        given.insert(key.to_owned(), value.to_owned());
    }
    let mut sections = profile.answers(|s, f| {
        Answer::from_input(
            given
                .get(&[s.id.as_str(), "/", &f.id].concat())
                .map_or("", String::as_str),
        )
    });
    sections.push(SectionAnswers {
        id: "intake".into(),
        fields: vec![
            FieldAnswer {
                id: "channel".into(),
                answer: Answer::Given(channel.into()),
            },
            FieldAnswer {
                id: "recorded_by".into(),
                answer: Answer::Given(actor.into()),
            },
        ],
    });
    Ok(sections)
}

/// Fetches a proof-of-work challenge and solves it (natively a 2^18 challenge takes tens of
/// milliseconds); `None` when the server asks for no work.
pub async fn solve_challenge(remote: &Remote) -> anyhow::Result<Option<Pow>> {
    use base64::Engine as _;
    let challenge: Challenge = remote.get_json("/api/v1/challenge").await?;
    if challenge.difficulty == 0 {
        return Ok(None);
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&challenge.challenge)?;
    let nonce = cluebox_protocol::pow::solve(&bytes, challenge.difficulty, 0, u64::MAX)
        .ok_or_else(|| anyhow::anyhow!("the server's challenge has no solution"))?;
    Ok(Some(Pow {
        challenge: challenge.challenge,
        nonce,
    }))
}

/// Who a desk-filed report is sealed to, and with which profile: the desk's own.
pub struct Sealing<'a> {
    /// The desk's copies of the hotline profiles (sections, Argon2 settings).
    pub profiles: &'a crate::Profiles,
    /// The desk's keys: its key files' public halves as national, its regional settings.
    pub recipients: &'a Recipients,
}

/// Seals and files a report; returns the grouped inquiry code and the receipt.
pub async fn file(
    conn: &Connection,
    remote: &Remote,
    sealing: &Sealing<'_>,
    pairs: &[String],
    channel: &str,
    actor: &str,
) -> anyhow::Result<(String, Filed)> {
    anyhow::ensure!(
        CHANNELS.contains(&channel),
        "--channel takes one of: {}",
        CHANNELS.join(", ")
    );
    let server: PublicProfile = remote.get_json("/api/v1/profile").await?;
    let profile = &sealing.profiles.get(&server.profile.id).ok_or_else(|| {
        anyhow::anyhow!(
            "the server runs profile {}, which this desk does not have: give its file with --profile",
            server.profile.id
        )
    })?;
    profile.validate()?;
    let sections = sections(profile, pairs, channel, actor)?;
    check_server(&server, profile, sealing.recipients)?;
    let region = sections
        .iter()
        .flat_map(|s| &s.fields)
        .find(|f| f.id == "region")
        .and_then(|f| match &f.answer {
            Answer::Given(r) => Some(r.clone()),
            Answer::Unclear | Answer::Files(_) => None,
        });
    let code = InquiryCode::generate();
    let keys = derive(&code, &profile.argon2, &profile.argon2_salt)?;
    let letter = Letter::Report(Report {
        profile: profile.id.clone(),
        locale: "zh-CN".into(),
        reply_key: keys.reply_public(),
        sections,
    });
    let recipients = sealing.recipients.for_region(region.as_deref());
    let body = SubmitReport {
        v: API_VERSION,
        sealed: Sealed(envelope::seal(
            &recipients,
            &letter.to_bytes(),
            REPORT_LIMIT,
        )?),
        lookup_token: keys.lookup_token.clone(),
        idempotency_key: IdempotencyKey::generate(),
        pow: solve_challenge(remote).await?,
        files: Vec::new(),
    };
    let filed: Filed = remote
        .http()
        .post(remote.url("/api/v1/reports"))
        .json(&body)
        .send()
        .await
        .map_err(crate::sync::connection_error)?
        .error_for_status()?
        .json()
        .await?;
    audit::append(
        conn,
        actor,
        "intake",
        channel,
        &format!("filed on {}", crate::cases::day(filed.receipt.received_at)),
    )?;
    Ok((code.expose_grouped().to_string(), filed))
}
