//! `intake`: staff record a report received by phone, letter, email or in person. The desk
//! seals it exactly as the browser would (a new inquiry code, Argon2id, the profile's
//! recipients) and files it with the API, then prints the code to give to the caller. The
//! report then arrives like any other, through `pull`.

use cluebox_protocol::code::InquiryCode;
use cluebox_protocol::derive::derive;
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::letter::{Answer, FieldAnswer, Letter, Report, SectionAnswers};
use cluebox_protocol::profile::{FieldKind, PublicProfile};
use cluebox_protocol::wire::{API_VERSION, Filed, IdempotencyKey, Sealed, SubmitReport};
use rusqlite::Connection;

use crate::audit;

/// The channels a report can come in by.
pub const CHANNELS: [&str; 4] = ["phone", "letter", "email", "in-person"];

/// Builds the report's sections from `section/field=value` pairs; every other field is unclear.
pub fn sections(
    profile: &PublicProfile,
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
            .profile
            .sections
            .iter()
            .find(|s| s.id == section)
            .and_then(|s| s.fields.iter().find(|f| f.id == field));
        let Some(def) = known else {
            anyhow::bail!("profile {} has no field {key}", profile.profile.id);
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
    let mut sections = profile.profile.answers(|s, f| {
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

/// Seals and files a report; returns the grouped inquiry code and the receipt.
pub async fn file(
    conn: &Connection,
    server: &str,
    pairs: &[String],
    channel: &str,
    actor: &str,
) -> anyhow::Result<(String, Filed)> {
    anyhow::ensure!(
        CHANNELS.contains(&channel),
        "--channel takes one of: {}",
        CHANNELS.join(", ")
    );
    let http = reqwest::Client::new();
    let server = server.trim_end_matches('/');
    let profile: PublicProfile = http
        .get(format!("{server}/api/v1/profile"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let sections = sections(&profile, pairs, channel, actor)?;
    let region = sections
        .iter()
        .flat_map(|s| &s.fields)
        .find(|f| f.id == "region")
        .and_then(|f| match &f.answer {
            Answer::Given(r) => Some(r.clone()),
            Answer::Unclear => None,
        });
    let code = InquiryCode::generate();
    let keys = derive(&code, &profile.profile.argon2, &profile.profile.argon2_salt)?;
    let letter = Letter::Report(Report {
        profile: profile.profile.id.clone(),
        locale: "zh-CN".into(),
        reply_key: keys.reply_public(),
        sections,
    });
    let recipients = profile.recipients.for_region(region.as_deref());
    let body = SubmitReport {
        v: API_VERSION,
        sealed: Sealed(envelope::seal(
            &recipients,
            &letter.to_bytes(),
            REPORT_LIMIT,
        )?),
        lookup_token: keys.lookup_token.clone(),
        reply_key: keys.reply_public(),
        idempotency_key: IdempotencyKey::generate(),
    };
    let filed: Filed = http
        .post(format!("{server}/api/v1/reports"))
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    audit::append(
        conn,
        actor,
        "intake",
        channel,
        &format!("filed at {}", filed.receipt.received_at),
    )?;
    Ok((code.expose_grouped().to_string(), filed))
}
