//! The web desk's handlers: each reads its input, asks [`staff::may`], calls the same library
//! function the command line calls, and draws a page from [`super::pages`].

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use rusqlite::Connection;
use serde::Deserialize;

use super::pages::{self, CaseView, ListRow, Page};
use super::session::{self, Act, CsrfForm, Signed};
use super::{Desk, Lang, Shared, WebError};
use crate::staff::{self, Action, Role, SignInError, Staff};
use crate::{audit, cases, evidence, procedure, reports, workflow};

/// Each form below carries the session's CSRF token in its `csrf` field.
macro_rules! csrf_forms {
    ($($form:ty),*) => {
        $(impl CsrfForm for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })*
    };
}

csrf_forms!(
    Plain,
    IdentityForm,
    MoveForm,
    ReplyForm,
    DecideForm,
    RecordForm,
    SampleForm,
    AccountForm,
    PasswordForm
);

/// `/`: the cases, or the accounts for an admin.
pub(super) async fn home(who: Signed) -> Redirect {
    if who.staff.role == Role::Admin {
        Redirect::to("/staff")
    } else {
        Redirect::to("/cases")
    }
}

pub(super) async fn sign_in_page(lang: Lang) -> Markup {
    pages::sign_in(lang, None)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    login: String,
    password: String,
}

/// The longest login or password looked at (longer ones are simply wrong).
const LONGEST_INPUT: usize = 1024;

pub(super) async fn sign_in(
    State(desk): State<Shared>,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    session::same_origin(&headers)?;
    if desk.sign_ins.check().is_err() {
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            pages::sign_in(
                lang,
                Some(lang.t(
                    "登录尝试过多，请一分钟后再试。",
                    "Too many sign-in attempts; try again in a minute.",
                )),
            ),
        )
            .into_response());
    }
    let previous = session::cookie(&headers, session::COOKIE);
    let now = crate::now() as i64;
    let outcome = desk
        .run(move |conn, _| {
            if form.login.len() > LONGEST_INPUT || form.password.len() > LONGEST_INPUT {
                return Ok(Err(SignInError::Wrong));
            }
            match staff::sign_in(conn, &form.login, &form.password, now)? {
                Ok(who) => Ok(Ok(session::start(
                    conn,
                    &who.login,
                    previous.as_deref(),
                    now,
                )?)),
                Err(e) => Ok(Err(e)),
            }
        })
        .await?;
    match outcome {
        Ok(token) => Ok((
            [(header::SET_COOKIE, session::set_cookie(&token))],
            Redirect::to("/"),
        )
            .into_response()),
        Err(e) => {
            let why = match e {
                SignInError::Wrong => lang
                    .t("登录名或密码不对。", "Wrong login or password.")
                    .to_owned(),
                SignInError::Disabled => lang
                    .t("此账户已停用。", "This account is disabled.")
                    .to_owned(),
                SignInError::Locked(until) => format!(
                    "{} {} UTC",
                    lang.t(
                        "密码错误次数过多，账户已锁定，解锁时间：",
                        "Locked after too many wrong passwords until"
                    ),
                    cases::date(until.max(0) as u64)
                ),
            };
            Ok((StatusCode::UNAUTHORIZED, pages::sign_in(lang, Some(&why))).into_response())
        }
    }
}

/// A form with nothing but the CSRF token.
#[derive(Deserialize)]
pub(super) struct Plain {
    csrf: String,
}

pub(super) async fn sign_out(
    State(desk): State<Shared>,
    headers: HeaderMap,
    _act: Act<Plain>,
) -> Result<Response, WebError> {
    if let Some(token) = session::cookie(&headers, session::COOKIE) {
        desk.run(move |conn, _| Ok(session::end(conn, &token)?))
            .await?;
    }
    Ok((
        [(header::SET_COOKIE, session::clear_cookie())],
        Redirect::to("/sign-in"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct Back {
    back: Option<String>,
}

/// `/lang/en` or `/lang/zh`: keeps the choice in a cookie and goes back to the page.
pub(super) async fn language(Path(lang): Path<String>, Query(q): Query<Back>) -> Response {
    let value = if lang == "en" { "en" } else { "zh" };
    // Only a path on this desk: never another site.
    let back = q
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    (
        [(
            header::SET_COOKIE,
            format!("cluebox-desk-lang={value}; Path=/; SameSite=Strict; Max-Age=31536000"),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

pub(super) async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("desk.css"),
    )
        .into_response()
}

pub(super) async fn not_found() -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "没有这个页面。",
        "There is no such page.",
    )
}

/// Cases this member of staff may read (an admin reads none).
fn visible(conn: &Connection, who: &Staff) -> Result<Vec<reports::CaseRow>, WebError> {
    if who.role == Role::Admin {
        return Err(WebError::refused("the admin role reads no case"));
    }
    Ok(reports::cases(conn)?
        .into_iter()
        .filter(|c| staff::may(who, Action::ReadCase, c.region()).is_ok())
        .collect())
}

/// How many new (received) reports this member of staff sees: the count in every title.
pub(super) fn new_count(conn: &Connection, who: &Staff) -> usize {
    visible(conn, who)
        .map(|cs| cs.iter().filter(|c| c.status == "received").count())
        .unwrap_or(0)
}

#[derive(Deserialize)]
pub(super) struct Filter {
    show: Option<String>,
}

/// Days ahead the deadline board looks.
const DUE_SOON_DAYS: u64 = 7;

pub(super) async fn cases(
    State(desk): State<Shared>,
    who: Signed,
    lang: Lang,
    Query(filter): Query<Filter>,
) -> Result<Markup, WebError> {
    let show = filter
        .show
        .as_deref()
        .filter(|s| ["new", "open", "due", "all"].contains(s))
        .unwrap_or("new");
    let filter_show = show;
    let show = show.to_owned();
    let staff = who.staff.clone();
    let now = crate::now();
    let (rows, count) = desk
        .run(move |conn, desk| {
            let all = visible(conn, &staff)?;
            let count = all.iter().filter(|c| c.status == "received").count();
            let rows = all
                .into_iter()
                .filter_map(|c| {
                    let profile = desk.profiles.get(&c.profile);
                    let deadlines = profile.as_ref().map(|p| p.deadlines).unwrap_or_default();
                    let due = c.next_deadline(&deadlines);
                    let keep = match show.as_str() {
                        "new" => c.status == "received",
                        "open" => !matches!(c.status.as_str(), "archived" | "not_accepted"),
                        "due" => due.is_some_and(|(at, _)| at <= now + DUE_SOON_DAYS * 86_400),
                        _ => true,
                    };
                    keep.then(|| ListRow::of(&c, profile.as_ref(), due, lang))
                })
                .collect::<Vec<_>>();
            Ok((rows, count))
        })
        .await?;
    let mut rows = rows;
    if filter_show == "due" {
        rows.sort_by_key(|r| r.due.map(|(at, _)| at));
    }
    let shown = filter_show;
    let path = format!("/cases?show={shown}");
    Ok(pages::cases(
        &Page {
            lang,
            who: &who,
            new: count,
            path: &path,
        },
        shown,
        &rows,
        now,
    ))
}

/// Whether `who` may approve or refuse the waiting move `p` on a case of `region`.
fn decider_check(
    conn: &Connection,
    procedure: &cluebox_protocol::profile::Procedure,
    p: &procedure::Pending,
    who: &Staff,
    region: Option<&str>,
) -> Result<(), WebError> {
    procedure::may_decide_on(conn, procedure, p, who, region)?.map_err(|e| WebError::refused(&e))
}

/// Reads a case for `who`, and when `reveal` gives a reason, its identity section too (that
/// showing is audited in the same transaction).
fn load_case(
    conn: &mut Connection,
    desk: &Desk,
    who: &Staff,
    id: &str,
    reveal: Option<&str>,
) -> Result<(CaseView, usize), WebError> {
    let row = reports::case(conn, id)?.ok_or_else(WebError::no_case)?;
    staff::may(who, Action::ReadCase, row.region()).map_err(|e| WebError::refused(&e))?;
    if let Some(reason) = reveal {
        staff::may(who, Action::ReadIdentity, row.region()).map_err(|e| WebError::refused(&e))?;
        let tx = conn.transaction()?;
        audit::append(&tx, &who.login, "identity.shown", id, reason)?;
        tx.commit()?;
    }
    let region = row.region().map(str::to_owned);
    let can = |action| staff::may(who, action, region.as_deref()).is_ok();
    let profile = desk.profiles.get(&row.profile);
    let procedure = profile
        .as_ref()
        .map(|p| p.procedure.clone())
        .unwrap_or_default();
    let waiting = procedure::pending(conn, id)?;
    let can_decide = match &waiting {
        Some(p) => decider_check(conn, &procedure, p, who, region.as_deref()).is_ok(),
        None => false,
    };
    let moves = if waiting.is_some() {
        Vec::new()
    } else {
        workflow::STATES
            .iter()
            .copied()
            .filter(|to| {
                workflow::allowed(&row.status, to)
                    && procedure::may_move(who, &procedure, to, region.as_deref()).is_ok()
            })
            .map(|to| (to, procedure::approval(&procedure, to, who).is_some()))
            .collect()
    };
    let deadline = row.next_deadline(&profile.as_ref().map(|p| p.deadlines).unwrap_or_default());
    let view = CaseView {
        records: procedure::records(conn, id)?,
        can_contact: row.real_name() && can(Action::Reply),
        can_visit: can(Action::Handle)
            && matches!(row.status.as_str(), "feedback_given" | "visited"),
        waiting,
        can_decide,
        history: cases::history(conn, id)?,
        follow_ups: cases::follow_ups(conn, id)?,
        repeats: cases::repeats(conn, id)?,
        files: evidence::of_case(conn, id)?,
        reply_text: String::new(),
        revealed: reveal.is_some(),
        can_reveal: row.real_name() && can(Action::ReadIdentity),
        can_reply: can(Action::Reply),
        moves,
        deadline,
        profile,
        row,
    };
    Ok((view, new_count(conn, who)))
}

#[derive(Deserialize)]
pub(super) struct CaseQuery {
    /// A reply template to start the composer from (its place in the profile's list).
    template: Option<usize>,
}

pub(super) async fn case(
    State(desk): State<Shared>,
    who: Signed,
    lang: Lang,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Result<Markup, WebError> {
    let staff = who.staff.clone();
    let path = format!("/cases/{id}");
    let (mut view, count) = desk
        .run(move |conn, desk| load_case(conn, desk, &staff, &id, None))
        .await?;
    if let Some(t) = q.template.and_then(|n| {
        view.profile
            .as_ref()
            .and_then(|p| p.procedure.templates.get(n).cloned())
    }) {
        view.reply_text = t.text.get(lang.locale()).to_owned();
    }
    Ok(pages::case(
        &Page {
            lang,
            who: &who,
            new: count,
            path: &path,
        },
        &view,
        crate::now(),
    ))
}

#[derive(Deserialize)]
pub(super) struct IdentityForm {
    csrf: String,
    reason: String,
}

/// The longest reason, note or reply text taken from a form.
const LONGEST_TEXT: usize = 20_000;

/// Shows a real-name reporter's identity section: only with a stated reason, and audited.
pub(super) async fn show_identity(
    State(desk): State<Shared>,
    lang: Lang,
    Path(id): Path<String>,
    act: Act<IdentityForm>,
) -> Result<Markup, WebError> {
    let reason = act.form.reason.trim().to_owned();
    if reason.chars().count() < 2 || reason.len() > LONGEST_TEXT {
        return Err(WebError::bad(
            "查看实名举报人的身份信息，需要写明理由（会记入审计日志）。",
            "Showing a real-name reporter's identity needs a stated reason (it goes into the audit log).",
        ));
    }
    let staff = act.who.staff.clone();
    // The language switch goes back to the case, where the identity is hidden again.
    let path = format!("/cases/{id}");
    let (view, count) = desk
        .run(move |conn, desk| load_case(conn, desk, &staff, &id, Some(&reason)))
        .await?;
    Ok(pages::case(
        &Page {
            lang,
            who: &act.who,
            new: count,
            path: &path,
        },
        &view,
        crate::now(),
    ))
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    csrf: String,
    to: String,
    #[serde(default)]
    note: String,
    unit: Option<String>,
    department: Option<String>,
    reason: Option<String>,
    result: Option<String>,
}

/// The case a change is about, if `who` may read it (404 as for no case otherwise).
pub(super) fn readable(
    conn: &Connection,
    who: &Staff,
    id: &str,
) -> Result<reports::CaseRow, WebError> {
    let row = reports::case(conn, id)?.ok_or_else(WebError::no_case)?;
    staff::may(who, Action::ReadCase, row.region()).map_err(|e| WebError::refused(&e))?;
    Ok(row)
}

/// Runs `work` on case `id` for `staff`, who must be able to read it (another region's case
/// is 404, as for none), tells open pages that the cases changed, and goes back to the case.
async fn change_case(
    desk: &Shared,
    staff: Staff,
    id: String,
    work: impl FnOnce(&mut Connection, &Desk, &Staff, &reports::CaseRow) -> Result<(), WebError>
    + Send
    + 'static,
) -> Result<Redirect, WebError> {
    let target = format!("/cases/{id}");
    desk.run(move |conn, desk| {
        let row = readable(conn, &staff, &id)?;
        work(conn, desk, &staff, &row)?;
        desk.changed();
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&target))
}

/// The procedure of a case's profile (the default when the desk does not know the profile).
fn procedure_of(desk: &Desk, row: &reports::CaseRow) -> cluebox_protocol::profile::Procedure {
    desk.profiles
        .get(&row.profile)
        .map(|p| p.procedure)
        .unwrap_or_default()
}

/// Moves a case a step along the procedure.
pub(super) async fn move_case(
    State(desk): State<Shared>,
    Path(id): Path<String>,
    act: Act<MoveForm>,
) -> Result<Redirect, WebError> {
    let f = act.form;
    let long = [&f.unit, &f.department, &f.reason, &f.result]
        .iter()
        .any(|v| v.as_ref().is_some_and(|v| v.len() > LONGEST_TEXT));
    if long || f.note.len() > LONGEST_TEXT {
        return Err(WebError::bad("内容太长。", "Too long."));
    }
    let details = workflow::Details {
        note: f.note.trim().to_owned(),
        unit: f.unit,
        department: f.department,
        reason: f.reason,
        result: f.result,
    };
    if let Some(what) = workflow::missing(&f.to, &details) {
        let (zh, en) = match what {
            "unit" => (
                "交办需要填写承办单位。",
                "Assigning needs the handling unit.",
            ),
            "department" => (
                "不予受理需要填写转交的有关部门。",
                "Not accepting needs the competent department it goes to.",
            ),
            "reason" => ("不予受理需要写明理由。", "Not accepting needs a reason."),
            _ => (
                "办结需要填写核查结果。",
                "Concluding needs the result of verification.",
            ),
        };
        return Err(WebError::bad(zh, en));
    }
    change_case(&desk, act.who.staff, id, move |conn, desk, staff, row| {
        if !workflow::allowed(&row.status, &f.to) {
            return Err(WebError::bad(
                format!("这个案件现在是“{}”，不能进入“{}”。", row.status, f.to),
                format!("This case is {} and cannot become {}.", row.status, f.to),
            ));
        }
        let procedure = procedure_of(desk, row);
        procedure::may_move(staff, &procedure, &f.to, row.region())
            .map_err(|e| WebError::refused(&e))?;
        if procedure::approval(&procedure, &f.to, staff).is_some() {
            procedure::propose(conn, &row.id, &f.to, &details, &staff.login).map_err(refusal)?;
        } else {
            workflow::transition(conn, desk.office(), &row.id, &f.to, &details, &staff.login)
                .map_err(refusal)?;
        }
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    csrf: String,
    text: String,
}

/// Seals a reply to the reporter and queues it.
pub(super) async fn reply(
    State(desk): State<Shared>,
    Path(id): Path<String>,
    act: Act<ReplyForm>,
) -> Result<Redirect, WebError> {
    let text = act.form.text.trim().to_owned();
    if text.is_empty() || text.len() > LONGEST_TEXT {
        return Err(WebError::bad(
            "回复不能为空，也不能太长。",
            "A reply cannot be empty or too long.",
        ));
    }
    change_case(&desk, act.who.staff, id, move |conn, desk, staff, row| {
        staff::may(staff, Action::Reply, row.region()).map_err(|e| WebError::refused(&e))?;
        workflow::reply(conn, desk.office(), &row.id, &text, &staff.login)?;
        Ok(())
    })
    .await
}

/// A rule of the procedure refused the change: its sentence, as a 409.
fn refusal(e: anyhow::Error) -> WebError {
    WebError::new(
        StatusCode::CONFLICT,
        format!("办理流程不允许这样做：{e}。"),
        format!("The procedure does not allow this: {e}."),
    )
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    csrf: String,
    approval: i64,
    decision: String,
    #[serde(default)]
    reason: String,
}

/// Approves or refuses the move waiting on a case.
pub(super) async fn decide(
    State(desk): State<Shared>,
    Path(id): Path<String>,
    act: Act<DecideForm>,
) -> Result<Redirect, WebError> {
    let f = act.form;
    let approve = match f.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => {
            return Err(WebError::bad(
                "请选择批准或退回。",
                "Choose approve or refuse.",
            ));
        }
    };
    if f.reason.len() > LONGEST_TEXT || (!approve && f.reason.trim().is_empty()) {
        return Err(WebError::bad(
            "退回需要写明理由。",
            "Refusing needs a reason.",
        ));
    }
    change_case(&desk, act.who.staff, id, move |conn, desk, staff, row| {
        let procedure = procedure_of(desk, row);
        let waiting = procedure::pending(conn, &row.id)?
            .filter(|p| p.id == f.approval)
            .ok_or_else(|| {
                WebError::new(
                    StatusCode::CONFLICT,
                    "这项审批已经处理过了。",
                    "This approval was decided already.",
                )
            })?;
        decider_check(conn, &procedure, &waiting, staff, row.region())?;
        procedure::decide(
            conn,
            desk.office(),
            waiting.id,
            approve,
            &f.reason,
            &staff.login,
        )
        .map_err(refusal)?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct RecordForm {
    csrf: String,
    on: String,
    /// A contact's channel or a visit's outcome.
    what: String,
    #[serde(default)]
    text: String,
}

/// Records a contact with a real-name reporter.
pub(super) async fn contact(
    State(desk): State<Shared>,
    Path(id): Path<String>,
    act: Act<RecordForm>,
) -> Result<Redirect, WebError> {
    record(desk, id, act, Action::Reply, |conn, id, day, f, by| {
        procedure::record_contact(conn, id, day, &f.what, &f.text, by)
    })
    .await
}

/// Records a follow-up visit.
pub(super) async fn visit(
    State(desk): State<Shared>,
    Path(id): Path<String>,
    act: Act<RecordForm>,
) -> Result<Redirect, WebError> {
    record(desk, id, act, Action::Handle, |conn, id, day, f, by| {
        procedure::record_visit(conn, id, day, &f.what, &f.text, by)
    })
    .await
}

async fn record(
    desk: Shared,
    id: String,
    act: Act<RecordForm>,
    permission: Action,
    write: impl FnOnce(&mut Connection, &str, u64, &RecordForm, &str) -> anyhow::Result<()>
    + Send
    + 'static,
) -> Result<Redirect, WebError> {
    let f = act.form;
    if f.text.len() > LONGEST_TEXT {
        return Err(WebError::bad("内容太长。", "Too long."));
    }
    let day = cases::parse_day(&f.on).map_err(|_| {
        WebError::bad(
            "日期的写法是 年-月-日，例如 2026-12-01。",
            "Write the day as YYYY-MM-DD, for example 2026-12-01.",
        )
    })?;
    change_case(&desk, act.who.staff, id, move |conn, _, staff, row| {
        staff::may(staff, permission, row.region()).map_err(|e| WebError::refused(&e))?;
        write(conn, &row.id, day, &f, &staff.login).map_err(refusal)?;
        Ok(())
    })
    .await
}

/// The statistics page: counts over the cases the reader may see, drawn as bar charts.
pub(super) async fn stats(
    State(desk): State<Shared>,
    who: Signed,
    lang: Lang,
) -> Result<Markup, WebError> {
    let staff = who.staff.clone();
    let now = crate::now();
    let (counts, profiles, count) = desk
        .run(move |conn, desk| {
            let visible: std::collections::HashSet<String> =
                visible(conn, &staff)?.into_iter().map(|c| c.id).collect();
            let counts = reports::counts(conn, &desk.profiles, now, |c| visible.contains(&c.id))?;
            let profiles: Vec<_> = reports::cases(conn)?
                .iter()
                .map(|c| c.profile.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter_map(|id| desk.profiles.get(&id))
                .collect();
            Ok((counts, profiles, new_count(conn, &staff)))
        })
        .await?;
    Ok(pages::stats(
        &Page {
            lang,
            who: &who,
            new: count,
            path: "/stats",
        },
        &counts,
        &profiles,
    ))
}

#[derive(Deserialize)]
pub(super) struct SampleQuery {
    month: Option<String>,
}

/// The monthly follow-up sample: earlier draws (from the audit log) and, for a leader, a new
/// draw.
pub(super) async fn sample_page(
    State(desk): State<Shared>,
    who: Signed,
    lang: Lang,
    Query(q): Query<SampleQuery>,
) -> Result<Markup, WebError> {
    let staff = who.staff.clone();
    let month = q
        .month
        .filter(|m| reports::month_bounds(m).is_ok())
        .unwrap_or_else(|| cases::day(crate::now())[..7].to_owned());
    let (draws, count) = desk
        .run(move |conn, _| {
            visible(conn, &staff)?;
            Ok((reports::draws(conn)?, new_count(conn, &staff)))
        })
        .await?;
    Ok(pages::sample(
        &Page {
            lang,
            who: &who,
            new: count,
            path: "/sample",
        },
        &month,
        &draws,
        staff::may(&who.staff, Action::Approve, None).is_ok(),
    ))
}

#[derive(Deserialize)]
pub(super) struct SampleForm {
    csrf: String,
    month: String,
    count: usize,
}

/// Draws the month's follow-up sample (a leader), with a fresh random seed kept in the audit
/// log so that anyone can redo the draw.
pub(super) async fn draw_sample(
    State(desk): State<Shared>,
    act: Act<SampleForm>,
) -> Result<Redirect, WebError> {
    staff::may(&act.who.staff, Action::Approve, None).map_err(|e| WebError::refused(&e))?;
    let f = act.form;
    if reports::month_bounds(&f.month).is_err() || !(1..=1000).contains(&f.count) {
        return Err(WebError::bad(
            "月份写作 年-月（例如 2026-11），数量为 1 到 1000。",
            "The month is YYYY-MM (for example 2026-11) and the count 1 to 1000.",
        ));
    }
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let seed = hex::encode(seed);
    let login = act.who.staff.login.clone();
    let month = f.month.clone();
    desk.run(move |conn, _| {
        let tx = conn.transaction()?;
        reports::sample(&tx, &month, f.count, &seed, &login)?;
        tx.commit()?;
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&format!("/sample?month={}", f.month)))
}

#[derive(Deserialize)]
pub(super) struct AccountForm {
    csrf: String,
    login: String,
    name: String,
    role: String,
    #[serde(default)]
    regions: String,
    password: String,
}

/// Adds an account (an admin). The first password is typed by the admin and told to the
/// person, who may change it with the admin later; it is stored only as Argon2id.
pub(super) async fn add_account(
    State(desk): State<Shared>,
    act: Act<AccountForm>,
) -> Result<Redirect, WebError> {
    staff::may(&act.who.staff, Action::ManageAccounts, None).map_err(|e| WebError::refused(&e))?;
    let f = act.form;
    let role = Role::parse(&f.role).map_err(|e| WebError::bad(format!("{e}"), format!("{e}")))?;
    let who = Staff {
        login: f.login.trim().to_owned(),
        name: f.name.trim().to_owned(),
        role,
        regions: f
            .regions
            .split([',', ' ', '，'])
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        disabled: false,
    };
    let admin = act.who.staff.login.clone();
    desk.run(move |conn, _| {
        staff::add(conn, &admin, &who, &f.password)
            .map_err(|e| WebError::bad(format!("账户没有建立：{e}。"), format!("Not added: {e}.")))
    })
    .await?;
    Ok(Redirect::to("/staff"))
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    csrf: String,
    #[serde(default)]
    password: String,
}

/// Disables an account (an admin; not their own): it is signed out at once.
pub(super) async fn disable_account(
    State(desk): State<Shared>,
    Path(login): Path<String>,
    act: Act<PasswordForm>,
) -> Result<Redirect, WebError> {
    staff::may(&act.who.staff, Action::ManageAccounts, None).map_err(|e| WebError::refused(&e))?;
    if login == act.who.staff.login {
        return Err(WebError::bad(
            "不能停用自己的账户。",
            "You cannot disable your own account.",
        ));
    }
    let admin = act.who.staff.login.clone();
    desk.run(move |conn, _| {
        staff::disable(conn, &admin, &login)
            .map_err(|e| WebError::bad(format!("{e}。"), format!("{e}.")))
    })
    .await?;
    Ok(Redirect::to("/staff"))
}

/// Sets a new password for an account (an admin), which also lifts a lockout.
pub(super) async fn reset_password(
    State(desk): State<Shared>,
    Path(login): Path<String>,
    act: Act<PasswordForm>,
) -> Result<Redirect, WebError> {
    staff::may(&act.who.staff, Action::ManageAccounts, None).map_err(|e| WebError::refused(&e))?;
    let admin = act.who.staff.login.clone();
    let password = act.form.password;
    desk.run(move |conn, _| {
        staff::set_password(conn, &admin, &login, &password).map_err(|e| {
            WebError::bad(format!("密码没有更改：{e}。"), format!("Not changed: {e}."))
        })
    })
    .await?;
    Ok(Redirect::to("/staff"))
}

/// Entries the audit page shows.
const AUDIT_PAGE: u32 = 200;

pub(super) async fn audit(
    State(desk): State<Shared>,
    who: Signed,
    lang: Lang,
) -> Result<Markup, WebError> {
    staff::may(&who.staff, Action::ReadAudit, None).map_err(|e| WebError::refused(&e))?;
    let staff = who.staff.clone();
    let (verified, entries, count) = desk
        .run(move |conn, _| {
            Ok((
                audit::verify(conn)?,
                audit::newest(conn, AUDIT_PAGE)?,
                new_count(conn, &staff),
            ))
        })
        .await?;
    Ok(pages::audit(
        &Page {
            lang,
            who: &who,
            new: count,
            path: "/audit",
        },
        &verified,
        &entries,
    ))
}

pub(super) async fn staff(
    State(desk): State<Shared>,
    who: Signed,
    lang: Lang,
) -> Result<Markup, WebError> {
    staff::may(&who.staff, Action::ManageAccounts, None).map_err(|e| WebError::refused(&e))?;
    let accounts = desk.run(|conn, _| Ok(staff::list(conn)?)).await?;
    Ok(pages::staff(
        &Page {
            lang,
            who: &who,
            new: 0,
            path: "/staff",
        },
        &accounts,
    ))
}
