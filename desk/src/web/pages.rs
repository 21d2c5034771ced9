//! The web desk's pages, drawn with maud (every value is HTML-escaped unless marked otherwise,
//! and nothing here marks anything). Reporter text also goes through [`crate::text`], so
//! direction overrides and control characters show as `\u{..}` instead of rearranging what
//! staff read. No page has a script.

use maud::{DOCTYPE, Markup, html};

use super::Lang;
use super::session::Signed;
use crate::cases::{self, Event, FollowUp, Repeat};
use crate::evidence::CaseFile;
use crate::reports::CaseRow;
use crate::staff::{self, Action, Role, Staff};
use crate::text;
use axum::http::StatusCode;
use cluebox_protocol::letter::Answer;
use cluebox_protocol::profile::Profile;

use crate::cases::{IDENTITY_CHOICE, IDENTITY_SECTION};

const DAY: i64 = 86_400;

/// What every signed-in page knows: language, who is reading, how many new reports they have,
/// and where in the navigation they are.
pub(super) struct Page<'a> {
    /// The language.
    pub(super) lang: Lang,
    /// The reader.
    pub(super) who: &'a Signed,
    /// New (received) reports the reader may see: in the title and the navigation.
    pub(super) new: usize,
    /// The page's path, for the language switch to come back to.
    pub(super) path: &'a str,
}

fn role_label(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::Intake => lang.t("受理", "intake"),
        Role::Handler => lang.t("承办", "handler"),
        Role::Leader => lang.t("领导", "leader"),
        Role::Auditor => lang.t("审计", "auditor"),
        Role::Admin => lang.t("管理员", "admin"),
    }
}

fn status_label(lang: Lang, profile: Option<&Profile>, status: &str) -> String {
    profile
        .and_then(|p| Profile::label(&p.statuses, status, lang.locale()))
        .unwrap_or(status)
        .to_owned()
}

fn deadline_label(lang: Lang, what: &str) -> &'static str {
    match what {
        "acknowledge" => lang.t("受理", "acceptance"),
        "contact the reporter" => lang.t("联系举报人", "contact the reporter"),
        "conclude handling" => lang.t("办结", "conclusion"),
        _ => lang.t("反馈结果", "feedback"),
    }
}

/// "3 days left", "due today" or "2 days overdue".
fn days_left(lang: Lang, due: u64, now: u64) -> (String, bool) {
    let days = (due as i64 - now as i64).div_euclid(DAY);
    match days {
        d if d < 0 => (
            match lang {
                Lang::Zh => format!("已逾期 {} 天", -d),
                Lang::En => format!("{} days overdue", -d),
            },
            true,
        ),
        0 => (lang.t("今天到期", "due today").to_owned(), false),
        d => (
            match lang {
                Lang::Zh => format!("还剩 {d} 天"),
                Lang::En => format!("{d} days left"),
            },
            false,
        ),
    }
}

fn layout(lang: Lang, page: Option<&Page<'_>>, title: &str, body: Markup) -> Markup {
    let desk = lang.t("案件台", "Case desk");
    let back = page.map_or("/", |p| p.path);
    html! {
        (DOCTYPE)
        html lang=(lang.t("zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title {
                    @if let Some(p) = page.filter(|p| p.new > 0) { "(" (p.new) ") " }
                    (title) " · " (desk)
                }
                link rel="stylesheet" href="/desk.css";
            }
            body data-new=[page.map(|p| p.new)] data-live=[page.filter(|p| p.path == "/cases?show=new").map(|_| "new")] {
                // The first stop of the Tab key: past the menu to the page's own content.
                a.skip href="#main" { (lang.t("跳到正文", "Skip to the content")) }
                header.top {
                    a.brand href="/" { "Cluebox " (desk) }
                    @if let Some(p) = page {
                        nav aria-label=(lang.t("主菜单", "Main")) {
                            @if p.who.staff.role != Role::Admin {
                                a href="/cases?show=new" {
                                    (lang.t("新举报", "New reports"))
                                    @if p.new > 0 { " " span.count { (p.new) } }
                                }
                                a href="/cases?show=open" { (lang.t("办理中", "Open")) }
                                a href="/cases?show=due" { (lang.t("期限", "Deadlines")) }
                                a href="/cases?show=all" { (lang.t("全部", "All")) }
                                a href="/sample" { (lang.t("回访抽样", "Visit sample")) }
                                a href="/stats" { (lang.t("统计", "Statistics")) }
                            }
                            @if staff::may(&p.who.staff, Action::ReadAudit, None).is_ok() {
                                a href="/audit" { (lang.t("审计日志", "Audit log")) }
                            }
                            @if p.who.staff.role == Role::Admin {
                                a href="/staff" { (lang.t("账户", "Accounts")) }
                            }
                        }
                        div.me {
                            span { (p.who.staff.name) " · " (role_label(lang, p.who.staff.role)) }
                            form method="post" action="/sign-out" {
                                input type="hidden" name="csrf" value=(p.who.csrf);
                                button.link type="submit" { (lang.t("退出登录", "Sign out")) }
                            }
                        }
                    }
                    a.lang href={ "/lang/" (lang.t("en", "zh")) "?back=" (back) }
                        lang=(lang.t("en", "zh-CN")) { (lang.t("English", "中文")) }
                }
                main #main tabindex="-1" { (body) }
                @if page.is_some() { script src="/desk.js" defer {} }
            }
        }
    }
}

/// The sign-in page, with a sentence saying why the last try failed.
pub(super) fn sign_in(lang: Lang, error: Option<&str>) -> Markup {
    layout(
        lang,
        None,
        lang.t("登录", "Sign in"),
        html! {
            h1 { (lang.t("登录案件台", "Sign in to the case desk")) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.signin method="post" action="/sign-in" {
                label for="login" { (lang.t("登录名", "Login")) }
                input #login name="login" autocomplete="username" required autofocus;
                label for="password" { (lang.t("密码", "Password")) }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (lang.t("登录", "Sign in")) }
            }
            p.hint { (lang.t(
                "账户由管理员用 cluebox-desk staff add 建立；没有默认账户。",
                "Accounts are made by an administrator with cluebox-desk staff add; there is no default account."
            )) }
        },
    )
}

/// A page saying why a request failed.
pub(super) fn failure(lang: Lang, status: StatusCode, message: &str) -> Markup {
    layout(
        lang,
        None,
        lang.t("出错了", "Problem"),
        html! {
            h1 { (status.as_u16()) " " (lang.t("无法完成", "Not done")) }
            p.error role="alert" { (message) }
            p { a href="/" { (lang.t("回到案件台", "Back to the desk")) } }
        },
    )
}

/// A case as a row of the list.
pub(super) struct ListRow {
    id: String,
    received: u64,
    status: String,
    category: String,
    region: String,
    real_name: bool,
    /// The next deadline and what it is for.
    pub(super) due: Option<(u64, &'static str)>,
}

impl ListRow {
    /// The row of `c`, labelled from its profile in `lang`.
    pub(super) fn of(
        c: &CaseRow,
        profile: Option<&Profile>,
        due: Option<(u64, &'static str)>,
        lang: Lang,
    ) -> Self {
        let label = |list: fn(&Profile) -> &[cluebox_protocol::profile::Choice],
                     id: Option<&str>| match id {
            None => lang.t("不清楚", "unclear").to_owned(),
            Some(id) => profile
                .and_then(|p| Profile::label(list(p), id, lang.locale()))
                .map_or_else(|| text::line(id).into_owned(), str::to_owned),
        };
        ListRow {
            id: c.id.clone(),
            received: c.received_at,
            status: status_label(lang, profile, &c.status),
            category: label(|p| &p.categories, c.answer("category")),
            region: label(|p| &p.regions, c.region()),
            real_name: c.real_name(),
            due,
        }
    }
}

/// The case list: new reports, open cases, the deadline board or all.
pub(super) fn cases(page: &Page<'_>, shown: &str, rows: &[ListRow], now: u64) -> Markup {
    let lang = page.lang;
    let title = match shown {
        "open" => lang.t("办理中的案件", "Open cases"),
        "due" => lang.t("逾期和 7 天内到期", "Overdue and due within 7 days"),
        "all" => lang.t("全部案件", "All cases"),
        _ => lang.t("新举报", "New reports"),
    };
    layout(
        lang,
        Some(page),
        title,
        html! {
            h1 { (title) " " span.muted { "(" (rows.len()) ")" } }
            @if rows.is_empty() {
                p.empty { (lang.t("没有案件。", "No cases.")) }
            } @else {
                table.cases {
                    (head(lang, &[("案件", "Case"), ("收到", "Received"), ("状态", "Status"), ("类别", "Category"), ("地区", "Region"), ("方式", "Reporter"), ("下一期限", "Next deadline")]))
                    tbody {
                        @for r in rows {
                            tr {
                                td { a href={ "/cases/" (r.id) } { (cases::short(&r.id)) } }
                                td { (cases::day(r.received)) }
                                td { (r.status) }
                                td { (r.category) }
                                td { (r.region) }
                                td { @if r.real_name { (lang.t("实名", "real name")) } @else { (lang.t("匿名", "anonymous")) } }
                                td { (deadline(lang, r.due, now)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A table's header row, each column named in both languages.
fn head(lang: Lang, columns: &[(&str, &str)]) -> Markup {
    html! {
        thead { tr { @for (zh, en) in columns { th scope="col" { (lang.t(zh, en)) } } } }
    }
}

fn deadline(lang: Lang, due: Option<(u64, &'static str)>, now: u64) -> Markup {
    match due {
        None => html! { span.muted { "—" } },
        Some((at, what)) => {
            let (left, late) = days_left(lang, at, now);
            html! {
                span class=(if late { "due late" } else { "due" }) {
                    (deadline_label(lang, what)) " " (cases::day(at)) " (" (left) ")"
                }
            }
        }
    }
}

/// Everything the case page shows.
pub(super) struct CaseView {
    /// The case.
    pub(super) row: CaseRow,
    /// Its profile, for labels.
    pub(super) profile: Option<Profile>,
    /// Its history.
    pub(super) history: Vec<Event>,
    /// The reporter's follow-ups.
    pub(super) follow_ups: Vec<FollowUp>,
    /// Possible repeats.
    pub(super) repeats: Vec<Repeat>,
    /// Evidence files.
    pub(super) files: Vec<CaseFile>,
    /// Whether the identity section is shown (a reason was given and audited).
    pub(super) revealed: bool,
    /// Whether the reader may ask to see it.
    pub(super) can_reveal: bool,
    /// Whether the reader may reply.
    pub(super) can_reply: bool,
    /// The states the reader may move the case to now, and whether each waits for approval.
    pub(super) moves: Vec<(&'static str, bool)>,
    /// The move waiting for approval, if any.
    pub(super) waiting: Option<crate::procedure::Pending>,
    /// Whether the reader may approve or refuse it.
    pub(super) can_decide: bool,
    /// Contacts and visits recorded.
    pub(super) records: Vec<crate::procedure::Record>,
    /// Whether the reader may record a contact (real-name reports).
    pub(super) can_contact: bool,
    /// Whether the reader may record a follow-up visit now.
    pub(super) can_visit: bool,
    /// The reply composer's starting text (a template the reader picked).
    pub(super) reply_text: String,
    /// The next deadline.
    pub(super) deadline: Option<(u64, &'static str)>,
}

fn answer(lang: Lang, v: &CaseView, section: &str, field: &str, answer: &Answer) -> Markup {
    let profile = v.profile.as_ref();
    let def = profile
        .and_then(|p| p.sections.iter().find(|s| s.id == section))
        .and_then(|s| s.fields.iter().find(|f| f.id == field));
    match answer {
        Answer::Unclear => html! { span.unclear { (lang.t("不清楚", "unclear")) } },
        Answer::Files(refs) if refs.is_empty() => {
            html! { span.unclear { (lang.t("不清楚", "unclear")) } }
        }
        Answer::Files(_) => files(lang, &v.row.id, &v.files),
        Answer::Given(value) => match cases::option_label(profile, def, value, lang.locale()) {
            Some(label) => html! { (label) },
            None => html! { span.text { (text::block(value)) } },
        },
    }
}

/// A case's files, each a download (recorded in the audit log) once it opened.
fn files(lang: Lang, case: &str, list: &[CaseFile]) -> Markup {
    html! {
        ol.files {
            @for (n, f) in list.iter().enumerate() {
                li {
                    @match &f.name {
                        Some(name) => {
                            a href={ "/cases/" (case) "/files/" (n + 1) } download {
                                strong { (text::line(name)) }
                            }
                            " (" (text::line(f.media_type.as_deref().unwrap_or(""))) ", "
                            (f.size.unwrap_or(0)) " " (lang.t("字节", "bytes")) ") "
                            span.muted { (text::line(f.cleaning.as_deref().unwrap_or(""))) }
                        }
                        None => {
                            span.error { (text::line(f.problem.as_deref().unwrap_or(lang.t("未能打开", "not opened")))) }
                        }
                    }
                }
            }
        }
        p.hint { (lang.t(
            "点文件名下载（记入审计日志）；也可用命令 cluebox-desk files 案件 --out 目录 一次打开全部。",
            "Select a file's name to download it (recorded in the audit log), or open them all with cluebox-desk files CASE --out DIR."
        )) }
    }
}

fn move_form(lang: Lang, v: &CaseView, csrf: &str, to: &str, proposes: bool) -> Markup {
    let field = |name: &str, zh: &str, en: &str| {
        html! {
            label { (lang.t(zh, en)) input name=(name) required; }
        }
    };
    html! {
        form.move id={ "move-" (to) } method="post" action={ "/cases/" (v.row.id) "/move" } {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="to" value=(to);
            @for what in crate::workflow::needs(to) {
                @match *what {
                    "unit" => (field("unit", "承办单位", "Handling unit")),
                    "department" => (field("department", "转交的有关部门", "Competent department")),
                    "reason" => (field("reason", "不予受理的理由", "Why not accepted")),
                    _ => (field("result", "核查结果", "Result of verification")),
                }
            }
            label { (lang.t("备注（仅内部）", "Note (internal)")) textarea name="note" rows="2" {} }
            button type="submit" {
                @if proposes { (lang.t("提请审批：", "Propose for approval: ")) }
                @else { (lang.t("转为：", "Move to: ")) }
                (status_label(lang, v.profile.as_ref(), to))
            }
        }
    }
}

fn record_label(lang: Lang, kind: &str, what: &str) -> &'static str {
    match (kind, what) {
        ("contact", "phone") => lang.t("电话联系", "Phone call"),
        ("contact", "sms") => lang.t("短信联系", "SMS"),
        ("contact", "in_person") => lang.t("当面联系", "In person"),
        ("contact", _) => lang.t("书信联系", "Letter"),
        (_, "satisfied") => lang.t("回访：满意", "Visit: satisfied"),
        (_, "not_satisfied") => lang.t("回访：不满意", "Visit: not satisfied"),
        _ => lang.t("回访：联系不上", "Visit: unreachable"),
    }
}

/// The move waiting for approval, and the approve/refuse form for those who may decide.
fn waiting(lang: Lang, v: &CaseView, w: &crate::procedure::Pending, csrf: &str) -> Markup {
    let profile = v.profile.as_ref();
    html! {
        div.notice #waiting {
            p {
                strong { (lang.t("待审批：", "Waiting for approval: ")) }
                (status_label(lang, profile, &w.to)) " — "
                (lang.t("提出人 ", "proposed by ")) (text::line(&w.proposed_by)) ", " (cases::date(w.proposed_at)) " UTC"
            }
            @for (label, value) in [
                (lang.t("承办单位", "Handling unit"), &w.details.unit),
                (lang.t("核查结果", "Result"), &w.details.result),
                (lang.t("有关部门", "Department"), &w.details.department),
                (lang.t("理由", "Reason"), &w.details.reason),
            ] {
                @if let Some(value) = value {
                    p { span.muted { (label) "：" } span.text { (text::block(value)) } }
                }
            }
            @if !w.details.note.is_empty() { p.text { (text::block(&w.details.note)) } }
            @if v.can_decide {
                form method="post" action={ "/cases/" (v.row.id) "/decide" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="approval" value=(w.id);
                    label { (lang.t("意见（退回时必填）", "Comment (required to refuse)")) input name="reason"; }
                    button type="submit" name="decision" value="approve" { (lang.t("批准", "Approve")) }
                    " "
                    button.secondary type="submit" name="decision" value="refuse" { (lang.t("退回", "Refuse")) }
                }
            }
        }
    }
}

/// The reply composer. It offers the profile's templates for the case's status (all of them
/// when none is for that status), each as a link that starts the text from it.
fn reply_form(lang: Lang, v: &CaseView, csrf: &str) -> Markup {
    let all = v
        .profile
        .as_ref()
        .map_or(&[][..], |p| &p.procedure.templates[..]);
    let suits = |t: &&cluebox_protocol::profile::ReplyTemplate| t.status == v.row.status;
    let for_status = all.iter().any(|t| suits(&t));
    let templates: Vec<(usize, &cluebox_protocol::profile::ReplyTemplate)> = all
        .iter()
        .enumerate()
        .filter(|(_, t)| !for_status || suits(t))
        .collect();
    html! {
        form.reply #reply method="post" action={ "/cases/" (v.row.id) "/reply" } {
            input type="hidden" name="csrf" value=(csrf);
            @if !templates.is_empty() {
                p.templates {
                    (lang.t("从模板开始：", "Start from a template: "))
                    @for (n, t) in &templates {
                        a href={ "/cases/" (v.row.id) "?template=" (n) "#reply" } { (t.label.get(lang.locale())) } " "
                    }
                }
            }
            label { (lang.t("回复举报人（加密后只有举报人能读）", "Reply to the reporter (sealed: only they can read it)"))
                textarea name="text" rows="4" required { (v.reply_text) } }
            button type="submit" { (lang.t("加密并发送回复", "Seal and send the reply")) }
        }
    }
}

fn record_form(lang: Lang, v: &CaseView, csrf: &str, kind: &str) -> Markup {
    let contact = kind == "contact";
    let choices: &[(&str, &str, &str)] = if contact {
        &[
            ("phone", "电话", "Phone"),
            ("sms", "短信", "SMS"),
            ("in_person", "当面", "In person"),
            ("letter", "书信", "Letter"),
        ]
    } else {
        &[
            ("satisfied", "满意", "Satisfied"),
            ("not_satisfied", "不满意", "Not satisfied"),
            ("unreachable", "联系不上", "Unreachable"),
        ]
    };
    html! {
        form.record method="post" action={ "/cases/" (v.row.id) "/" (kind) } {
            input type="hidden" name="csrf" value=(csrf);
            fieldset {
                legend { @if contact { (lang.t("记录与实名举报人的联系", "Record a contact with the real-name reporter")) }
                    @else { (lang.t("记录回访", "Record the follow-up visit")) } }
                label { (lang.t("日期（年-月-日）", "Day (YYYY-MM-DD)")) input name="on" required pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}" placeholder="2026-12-01"; }
                label { @if contact { (lang.t("方式", "Channel")) } @else { (lang.t("结果", "Outcome")) }
                    select name="what" { @for (id, zh, en) in choices { option value=(id) { (lang.t(zh, en)) } } } }
                label { @if contact { (lang.t("联系结果", "What came of it")) } @else { (lang.t("说明", "Note")) }
                    textarea name="text" rows="2" required[contact] {} }
                button type="submit" { (lang.t("记录", "Record")) }
            }
        }
    }
}

/// One case: its fields, files, follow-ups, repeats, the actions the reader may take now, a
/// reply composer and its history.
pub(super) fn case(page: &Page<'_>, v: &CaseView, now: u64) -> Markup {
    let lang = page.lang;
    let profile = v.profile.as_ref();
    let title = format!("{} {}", lang.t("案件", "Case"), cases::short(&v.row.id));
    layout(
        lang,
        Some(page),
        &title,
        html! {
            h1 { (title) " " span.status { (status_label(lang, profile, &v.row.status)) } }
            div.case-layout {
                div.case-main {
                section.summary { dl {
                    dt { (lang.t("案件编号", "Case id")) } dd { code { (v.row.id) } }
                    dt { (lang.t("热线", "Hotline")) } dd { (profile.map_or_else(|| v.row.profile.clone(), |p| p.name.get(lang.locale()).to_owned())) }
                    dt { (lang.t("收到", "Received")) } dd { (cases::day(v.row.received_at)) }
                    @if let Some(unit) = &v.row.unit {
                        dt { (lang.t("承办单位", "Handling unit")) } dd { (text::line(unit)) }
                    }
                    dt { (lang.t("下一期限", "Next deadline")) } dd { (deadline(lang, v.deadline, now)) }
                } }
                @for section in &v.row.sections {
                    @let def = profile.and_then(|p| p.sections.iter().find(|s| s.id == section.id));
                    section.report {
                        h2 { (def.map_or_else(|| text::line(&section.id).into_owned(), |d| d.title.get(lang.locale()).to_owned())) }
                        @let hidden = section.id == IDENTITY_SECTION && !v.revealed;
                        dl {
                            @for f in &section.fields {
                                @if !hidden || f.id == IDENTITY_CHOICE {
                                    @let label = def.and_then(|d| d.fields.iter().find(|x| x.id == f.id));
                                    dt { (label.map_or_else(|| text::line(&f.id).into_owned(), |l| l.label.get(lang.locale()).to_owned())) }
                                    dd { (answer(lang, v, &section.id, &f.id, &f.answer)) }
                                }
                            }
                        }
                        @if hidden && v.row.real_name() {
                            p.notice { (lang.t(
                                "实名举报人的身份信息已隐藏。查看需要写明理由，并记入审计日志。",
                                "The real-name reporter's identity is hidden. Showing it needs a stated reason and is recorded in the audit log."
                            )) }
                            @if v.can_reveal {
                                form.reveal method="post" action={ "/cases/" (v.row.id) "/identity" } {
                                    input type="hidden" name="csrf" value=(page.who.csrf);
                                    label { (lang.t("理由", "Reason")) input name="reason" required minlength="2"; }
                                    button type="submit" { (lang.t("显示身份信息", "Show the identity")) }
                                }
                            }
                        }
                        @if section.id == IDENTITY_SECTION && v.revealed {
                            p.notice { (lang.t("身份信息已显示，本次查看已记入审计日志。", "Identity shown; this showing is in the audit log.")) }
                        }
                    }
                }
                @if !v.follow_ups.is_empty() {
                    section {
                        h2 { (lang.t("补充材料", "Follow-ups")) }
                        @for f in &v.follow_ups {
                            div.followup {
                                span.muted { (cases::day(f.at)) }
                                @if !f.authenticated { " " span.warn { (lang.t("（旧版，未证实来自查询码持有人）", "(older, not proven to come from the code's holder)")) } }
                                p.text { (text::block(&f.text)) }
                            }
                        }
                    }
                }
                @if !v.repeats.is_empty() {
                    section {
                        h2 { (lang.t("可能重复", "Possible repeats")) }
                        ul { @for r in &v.repeats {
                            li { a href={ "/cases/" (r.other) } { (cases::short(&r.other)) } " " (text::line(&r.reason))
                                @if r.linked { " " span.muted { (lang.t("（已关联）", "(linked)")) } } }
                        } }
                    }
                }
                @if !v.records.is_empty() {
                    section {
                        h2 { (lang.t("联系和回访", "Contacts and visits")) }
                        ul { @for r in &v.records {
                            li {
                                span.muted { (cases::day(r.on_day)) } " "
                                strong { (record_label(lang, r.kind, &r.what)) } " "
                                (text::line(&r.text)) " "
                                span.muted { "(" (text::line(&r.by)) ")" }
                            }
                        } }
                    }
                }
                section {
                    h2 { (lang.t("办理记录", "History")) }
                    @if v.history.is_empty() { p.muted { (lang.t("还没有记录。", "Nothing yet.")) } }
                    ol.history { @for e in &v.history {
                        li {
                            span.muted { (cases::date(e.at)) " UTC" } " "
                            strong { (text::line(&e.actor)) } ": "
                            @if e.from == e.to { (status_label(lang, profile, &e.to)) (lang.t("（延期）", " (extended)")) }
                            @else { (status_label(lang, profile, &e.from)) " → " (status_label(lang, profile, &e.to)) }
                            @if !e.note.is_empty() { p.text { (text::block(&e.note)) } }
                        }
                    } }
                }
                }
                aside.case-side aria-label=(lang.t("操作", "Actions")) {
                section.actions {
                    h2 { (lang.t("可以进行的操作", "What you can do now")) }
                    @if let Some(w) = &v.waiting {
                        (waiting(lang, v, w, &page.who.csrf))
                    }
                    @if v.moves.is_empty() && !v.can_reply && !v.can_decide && !v.can_contact && !v.can_visit {
                        p.muted { (lang.t("您的账户在这一步没有可做的操作。", "Your account has nothing to do at this step.")) }
                    }
                    @for (to, proposes) in &v.moves { (move_form(lang, v, &page.who.csrf, to, *proposes)) }
                    @if v.can_reply { (reply_form(lang, v, &page.who.csrf)) }
                    @if v.can_contact { (record_form(lang, v, &page.who.csrf, "contact")) }
                    @if v.can_visit { (record_form(lang, v, &page.who.csrf, "visit")) }
                }
                }
            }
        },
    )
}

/// The audit log: whether the chain verifies, and the newest entries.
pub(super) fn audit(
    page: &Page<'_>,
    verified: &Result<u64, String>,
    entries: &[crate::audit::Entry],
) -> Markup {
    let lang = page.lang;
    layout(
        lang,
        Some(page),
        lang.t("审计日志", "Audit log"),
        html! {
            h1 { (lang.t("审计日志", "Audit log")) }
            @match verified {
                Ok(n) => p.ok { (lang.t("哈希链完整，共 ", "The hash chain is intact: ")) (n) (lang.t(" 条。", " entries.")) },
                Err(bad) => p.error role="alert" { (lang.t("哈希链已损坏：", "The hash chain is broken: ")) (bad) },
            }
            table.audit {
                (head(lang, &[("#", "#"), ("时间 (UTC)", "Time (UTC)"), ("操作人", "Who"), ("操作", "Action"), ("对象", "On"), ("详情", "Details")]))
                tbody { @for e in entries {
                    tr {
                        td { (e.id) }
                        td { (cases::date(e.at.max(0) as u64)) }
                        td { (text::line(&e.actor)) }
                        td { (e.action) }
                        td { (cases::short(&e.subject)) }
                        td { (text::line(&e.detail)) }
                    }
                } }
            }
        },
    )
}

fn group_title(lang: Lang, group: &str) -> &'static str {
    match group {
        "category" => lang.t("按类别", "By category"),
        "region" => lang.t("按地区", "By region"),
        "month" => lang.t("按收到月份", "By month received"),
        "status" => lang.t("按状态", "By status"),
        "overdue" => lang.t("逾期", "Overdue"),
        _ => lang.t(
            "回访结果（每案最近一次）",
            "Follow-up visits (each case's latest)",
        ),
    }
}

fn key_label(lang: Lang, profiles: &[Profile], group: &str, key: &str) -> String {
    let fixed = match (group, key) {
        (_, "unclear") => Some(lang.t("不清楚", "unclear")),
        ("overdue", "yes") => Some(lang.t("已逾期", "overdue")),
        ("overdue", _) => Some(lang.t("未逾期", "on time")),
        ("visit", "none") => Some(lang.t("未回访", "not visited")),
        ("visit", "satisfied") => Some(lang.t("满意", "satisfied")),
        ("visit", "not_satisfied") => Some(lang.t("不满意", "not satisfied")),
        ("visit", "unreachable") => Some(lang.t("联系不上", "unreachable")),
        _ => None,
    };
    if let Some(label) = fixed {
        return label.to_owned();
    }
    profiles
        .iter()
        .find_map(|p| {
            let list = match group {
                "category" => &p.categories,
                "region" => &p.regions,
                "status" => &p.statuses,
                _ => return None,
            };
            Profile::label(list, key, lang.locale())
        })
        .map_or_else(|| text::line(key).into_owned(), str::to_owned)
}

/// A horizontal bar chart in SVG, drawn here (no script, no library): one bar per key.
fn bars(title: &str, rows: &[(String, u64)]) -> Markup {
    const ROW: usize = 26;
    const LABEL: usize = 180;
    const WIDTH: usize = 500;
    let most = rows.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let height = rows.len() * ROW + 8;
    html! {
        svg.chart width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) }
            role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
            @for (i, (label, n)) in rows.iter().enumerate() {
                @let y = i * ROW + 4;
                @let w = ((WIDTH - LABEL - 60) as u64 * n / most).max(1);
                text x=(LABEL - 8) y=(y + 17) text-anchor="end" { (label) }
                rect x=(LABEL) y=(y + 3) width=(w) height=(ROW - 8) rx="3" {}
                text x=(LABEL as u64 + w + 6) y=(y + 17) { (n) }
            }
        }
    }
}

/// Statistics over the cases the reader may see, as bar charts and tables.
pub(super) fn stats(
    page: &Page<'_>,
    counts: &crate::reports::Counts,
    profiles: &[Profile],
) -> Markup {
    let lang = page.lang;
    let title = lang.t("统计", "Statistics");
    layout(
        lang,
        Some(page),
        title,
        html! {
            h1 { (title) }
            @if counts.is_empty() { p.empty { (lang.t("还没有案件。", "No cases yet.")) } }
            div.charts {
                @for group in ["status", "overdue", "category", "region", "month", "visit"] {
                    @if let Some(keys) = counts.get(group) {
                        @let rows: Vec<(String, u64)> = keys.iter().map(|(k, n)| (key_label(lang, profiles, group, k), *n)).collect();
                        section.chart-box {
                            h2 { (group_title(lang, group)) }
                            (bars(group_title(lang, group), &rows))
                        }
                    }
                }
            }
        },
    )
}

/// The monthly follow-up sample: earlier draws and, for a leader, a new one.
pub(super) fn sample(
    page: &Page<'_>,
    month: &str,
    draws: &[crate::reports::Draw],
    can_draw: bool,
) -> Markup {
    let lang = page.lang;
    let title = lang.t("每月回访抽样", "Monthly follow-up sample");
    layout(
        lang,
        Some(page),
        title,
        html! {
            h1 { (title) }
            p.hint { (lang.t(
                "从当月办结的实名举报中随机抽取，抽取的种子记入审计日志，任何人都可以复核。",
                "Drawn at random from the real-name reports concluded in the month; the seed goes into the audit log, so anyone can redo the draw."
            )) }
            @if can_draw {
                form.draw method="post" action="/sample" {
                    input type="hidden" name="csrf" value=(page.who.csrf);
                    label { (lang.t("月份（年-月）", "Month (YYYY-MM)")) input name="month" value=(month) required pattern="[0-9]{4}-[0-9]{2}"; }
                    label { (lang.t("数量", "How many")) input name="count" type="number" min="1" max="1000" value="5" required; }
                    button type="submit" { (lang.t("抽取", "Draw")) }
                }
            }
            @if draws.is_empty() { p.empty { (lang.t("还没有抽取过。", "No draw yet.")) } }
            @for d in draws {
                section {
                    h2 { (d.month) " · " (cases::date(d.at.max(0) as u64)) " UTC · " (text::line(&d.by)) }
                    p.muted { (text::line(&d.detail)) }
                    @if d.cases.is_empty() { p { (lang.t("没有符合条件的案件。", "No case qualified.")) } }
                    ul { @for c in &d.cases { li { a href={ "/cases/" (c) } { (cases::short(c)) } } } }
                }
            }
        },
    )
}

/// The accounts (for an admin).
pub(super) fn staff(page: &Page<'_>, accounts: &[Staff]) -> Markup {
    let lang = page.lang;
    layout(
        lang,
        Some(page),
        lang.t("账户", "Accounts"),
        html! {
            h1 { (lang.t("账户", "Accounts")) }
            table {
                (head(lang, &[("登录名", "Login"), ("姓名", "Name"), ("角色", "Role"), ("地区", "Regions"), ("状态", "State"), ("操作", "Actions")]))
                tbody { @for s in accounts {
                    tr {
                        td { (s.login) }
                        td { (s.name) }
                        td { (role_label(lang, s.role)) }
                        td { (s.regions.join(", ")) }
                        td { @if s.disabled { (lang.t("已停用", "disabled")) } @else { (lang.t("可用", "active")) } }
                        td.account-actions {
                            @if !s.disabled && s.login != page.who.staff.login {
                                form method="post" action={ "/staff/" (s.login) "/disable" } {
                                    input type="hidden" name="csrf" value=(page.who.csrf);
                                    button.secondary type="submit" { (lang.t("停用", "Disable")) }
                                }
                            }
                            form method="post" action={ "/staff/" (s.login) "/password" } {
                                input type="hidden" name="csrf" value=(page.who.csrf);
                                label { (lang.t("新密码", "New password"))
                                    input type="password" name="password" autocomplete="new-password" minlength="12" required; }
                                button.secondary type="submit" { (lang.t("设置密码", "Set password")) }
                            }
                        }
                    }
                } }
            }
            form.account method="post" action="/staff" {
                input type="hidden" name="csrf" value=(page.who.csrf);
                fieldset {
                    legend { (lang.t("新账户", "New account")) }
                    label { (lang.t("登录名", "Login")) input name="login" required autocomplete="off"; }
                    label { (lang.t("姓名", "Name")) input name="name" required; }
                    label { (lang.t("角色", "Role")) select name="role" {
                        @for role in [Role::Intake, Role::Handler, Role::Leader, Role::Auditor, Role::Admin] {
                            option value=(role.as_str()) { (role_label(lang, role)) }
                        }
                    } }
                    label { (lang.t("地区代码（承办人必填，逗号分隔）", "Region ids (handlers; comma-separated)")) input name="regions"; }
                    label { (lang.t("初始密码（至少 12 个字符）", "First password (12 characters or more)"))
                        input type="password" name="password" autocomplete="new-password" minlength="12" required; }
                    button type="submit" { (lang.t("建立账户", "Add the account")) }
                }
            }
        },
    )
}
