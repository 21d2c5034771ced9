//! Message catalogs: every string the portal shows that does not come from the hotline profile.
//!
//! Simplified Chinese is the default; English is one switch away. Components take their text
//! from [`Text`] and never spell a sentence themselves. Placeholders such as `{n}` are filled
//! with [`fill`].

use cluebox_protocol::code::CodeError;

/// The interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The catalog.
    pub fn text(self) -> &'static Text {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// The BCP 47 tag (stored in reports; `lang` of the page).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The evidence files field's catalog.
    pub fn files(self) -> &'static FilesText {
        match self {
            Lang::Zh => &ZH_FILES,
            Lang::En => &EN_FILES,
        }
    }

    /// The status page's catalog (kept apart so the form's bundle does not carry it).
    pub fn status(self) -> &'static StatusText {
        match self {
            Lang::Zh => &ZH_STATUS,
            Lang::En => &EN_STATUS,
        }
    }

    /// The poster page's catalog.
    pub fn poster(self) -> &'static PosterText {
        match self {
            Lang::Zh => &ZH_POSTER,
            Lang::En => &EN_POSTER,
        }
    }

    /// The profile's text in this language.
    pub fn pick(self, text: &cluebox_protocol::profile::Localized) -> &str {
        text.get(self.tag())
    }
}

/// One language's strings.
#[allow(missing_docs)]
pub struct Text {
    pub switch_label: &'static str,
    pub switch_to: &'static str,
    pub load_failed: &'static str,
    pub retry: &'static str,
    pub report_title: &'static str,
    pub step_of: &'static str,
    pub review: &'static str,
    pub review_intro: &'static str,
    pub back: &'static str,
    pub next: &'static str,
    pub edit: &'static str,
    pub unclear: &'static str,
    pub choose: &'static str,
    pub id_invalid_length: &'static str,
    pub id_invalid_check: &'static str,
    pub mobile_invalid: &'static str,
    pub too_long: &'static str,
    pub submit: &'static str,
    pub deriving: &'static str,
    pub sealing: &'static str,
    pub uploading: &'static str,
    pub retrying: &'static str,
    pub failed_network: &'static str,
    pub failed_server: &'static str,
    pub receipt_title: &'static str,
    pub your_code: &'static str,
    pub code_warning: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub copy_failed: &'static str,
    pub save_receipt: &'static str,
    pub received_at: &'static str,
    pub receipt_hash: &'static str,
    pub receipt_file: &'static str,
    pub go_status: &'static str,
    pub errors_title: &'static str,
    pub empty_title: &'static str,
    pub empty_body: &'static str,
    pub empty_back: &'static str,
    pub empty_submit: &'static str,
    pub blanks: &'static str,
    /// Submit was tapped while evidence files are still uploading.
    pub files_wait: &'static str,
    /// How many evidence files a field has, on the review step.
    pub files_count: &'static str,
    pub edit_section: &'static str,
    pub offline_wait: &'static str,
    pub next_title: &'static str,
    pub next_accept: &'static str,
    pub next_contact: &'static str,
    pub next_handle: &'static str,
    pub next_feedback: &'static str,
    pub next_check: &'static str,
    pub saved_confirm: &'static str,
    pub saved_needed: &'static str,
    pub details: &'static str,
}

/// Simplified Chinese.
pub static ZH: Text = Text {
    switch_label: "English",
    switch_to: "Switch to English",
    load_failed: "无法连接举报平台，请检查网络后重试。",
    retry: "重试",
    report_title: "在线举报",
    step_of: "第 {n} 步，共 {m} 步：{s}",
    review: "核对并提交",
    review_intro: "请核对以下内容。提交前，内容会在您的设备上加密。",
    back: "上一步",
    next: "下一步",
    edit: "修改",
    unclear: "不清楚",
    choose: "请选择（可不选）",
    id_invalid_length: "身份证号码应为 18 位：前 17 位是数字，最后一位是数字或 X。",
    id_invalid_check: "身份证号码的校验位不对，请逐位核对。",
    mobile_invalid: "手机号码应为 11 位数字，以 1 开头。",
    too_long: "内容太长，最多 {n} 个字。",
    submit: "加密并提交",
    deriving: "正在生成查询码和密钥…",
    sealing: "正在加密举报内容…",
    uploading: "正在发送…",
    retrying: "网络不通，{n} 秒后自动重试（第 {k} 次）。请不要关闭本页。",
    failed_network: "发送失败：网络不可用。您填写的内容仍在本页，请稍后再点“加密并提交”。",
    failed_server: "平台未能接收：{msg}",
    receipt_title: "举报已提交",
    your_code: "您的查询码",
    code_warning: "请立即抄写或保存查询码。任何人（包括受理机关）都无法找回它；没有它，就无法查询进度、阅读答复。",
    copy: "复制查询码",
    copied: "已复制",
    copy_failed: "无法自动复制，请手动抄写。",
    save_receipt: "保存回执",
    received_at: "接收时间",
    receipt_hash: "举报摘要（SHA-256）",
    receipt_file: "举报回执",
    go_status: "查询进度",
    errors_title: "还有 {n} 处需要改正（也可以清空该项）：",
    empty_title: "您还没有填写任何内容",
    empty_body: "一份空白举报很难核查。要返回填写，还是仍然提交？",
    empty_back: "返回填写",
    empty_submit: "仍然提交",
    blanks: "{n} 项未填，按“不清楚”处理",
    files_wait: "文件还在上传，请稍候再提交。",
    files_count: "{n} 个文件（已加密上传）",
    edit_section: "修改：{s}",
    offline_wait: "网络已断开。连接恢复后会自动发送，请不要关闭本页。",
    next_title: "接下来",
    next_accept: "{d} 前（{n} 日内）决定是否受理。",
    next_contact: "受理后 {n} 日内与您联系，最迟约 {d}。",
    next_handle: "受理后 {n} 日内办结，最迟约 {d}。",
    next_feedback: "{d} 前（{n} 日内）向您反馈。",
    next_check: "凭查询码可随时查询进度、阅读答复、补充材料。",
    saved_confirm: "我已抄写或保存好查询码",
    saved_needed: "请先确认已保存查询码，再离开本页。",
    details: "回执详情（用于核验）",
};

/// English.
pub static EN: Text = Text {
    switch_label: "中文",
    switch_to: "切换到中文",
    load_failed: "Cannot reach the reporting platform. Check your connection and try again.",
    retry: "Try again",
    report_title: "Report online",
    step_of: "Step {n} of {m}: {s}",
    review: "Review and submit",
    review_intro: "Check what you entered. It is encrypted on your device before it is sent.",
    back: "Back",
    next: "Next",
    edit: "Edit",
    unclear: "Unclear",
    choose: "Choose (optional)",
    id_invalid_length: "A resident ID number has 18 characters: 17 digits, then a digit or X.",
    id_invalid_check: "The ID number's check digit does not match. Check each digit.",
    mobile_invalid: "A mobile number has 11 digits and starts with 1.",
    too_long: "Too long: at most {n} characters.",
    submit: "Encrypt and submit",
    deriving: "Making your inquiry code and keys…",
    sealing: "Encrypting your report…",
    uploading: "Sending…",
    retrying: "No connection. Trying again in {n} s (attempt {k}). Please keep this page open.",
    failed_network: "Could not send: no connection. Your answers are still on this page; press \"Encrypt and submit\" again later.",
    failed_server: "The platform did not accept the report: {msg}",
    receipt_title: "Your report was submitted",
    your_code: "Your inquiry code",
    code_warning: "Write down or save this code now. Nobody, not even the office, can recover it; without it you cannot check progress or read replies.",
    copy: "Copy the code",
    copied: "Copied",
    copy_failed: "Could not copy automatically; please write it down.",
    save_receipt: "Save receipt",
    received_at: "Received",
    receipt_hash: "Report digest (SHA-256)",
    receipt_file: "Report receipt",
    go_status: "Check progress",
    errors_title: "{n} answers need correcting (or clear them):",
    empty_title: "You have not filled in anything",
    empty_body: "An empty report is hard to verify. Go back and fill it in, or send it anyway?",
    empty_back: "Go back",
    empty_submit: "Send anyway",
    blanks: "{n} left blank, recorded as \"unclear\"",
    files_wait: "Files are still uploading; please wait, then submit.",
    files_count: "{n} file(s), encrypted and uploaded",
    edit_section: "Edit: {s}",
    offline_wait: "You are offline. The report will be sent as soon as the connection returns; please keep this page open.",
    next_title: "What happens next",
    next_accept: "By {d} ({n} days): the office decides whether to accept it.",
    next_contact: "Within {n} days of acceptance, at the latest about {d}: the office contacts you.",
    next_handle: "Within {n} days of acceptance, at the latest about {d}: handling is concluded.",
    next_feedback: "By {d} ({n} days): you receive feedback.",
    next_check: "With the code you can check progress, read replies and add information at any time.",
    saved_confirm: "I have written down or saved my code",
    saved_needed: "Please confirm that you saved your code before you leave this page.",
    details: "Receipt details (for verification)",
};

/// The status page's strings.
#[allow(missing_docs)]
pub struct StatusText {
    pub status_title: &'static str,
    pub status_intro: &'static str,
    pub code_label: &'static str,
    pub code_hint: &'static str,
    pub code_ok: &'static str,
    pub look_up: &'static str,
    pub looking_up: &'static str,
    pub not_found: &'static str,
    pub current_status: &'static str,
    pub timeline: &'static str,
    pub replies: &'static str,
    pub no_replies: &'static str,
    pub reply_unreadable: &'static str,
    pub unconfirmed: &'static str,
    pub irregular: &'static str,
    pub follow_up_unreadable: &'static str,
    pub your_follow_ups: &'static str,
    pub follow_up_label: &'static str,
    pub follow_up_hint: &'static str,
    pub send: &'static str,
    pub sending: &'static str,
    pub sent: &'static str,
    pub empty_message: &'static str,
    pub code_empty: &'static str,
    pub code_bad_char: &'static str,
    pub code_short: &'static str,
    pub code_long: &'static str,
    pub code_typo: &'static str,
    pub stages: &'static str,
    pub due_by: &'static str,
    pub days_left: &'static str,
    pub overdue: &'static str,
    pub result: &'static str,
    pub show_code: &'static str,
    pub hide_code: &'static str,
    pub need_code: &'static str,
    pub since: &'static str,
}

/// Simplified Chinese, status page.
pub static ZH_STATUS: StatusText = StatusText {
    status_title: "查询办理进度",
    status_intro: "输入提交举报时得到的查询码。",
    code_label: "查询码",
    code_hint: "20 位字母和数字，例如 7K3Q-M9XD-2HTV-P4WB-RG6E；不区分大小写，可省略横线。",
    code_ok: "查询码格式正确。",
    look_up: "查询",
    looking_up: "正在查询…",
    not_found: "没有找到这个查询码对应的举报，请核对查询码。",
    current_status: "当前状态",
    timeline: "办理记录",
    replies: "受理机关的答复",
    no_replies: "暂无答复。",
    reply_unreadable: "这条消息无法确认来自受理机关，因此不予显示。如有疑问，请拨打举报电话核实。",
    unconfirmed: "（未经受理机关确认）",
    irregular: "注意：受理机关的消息有缺失或重复，可能被人为篡改。请以受理机关确认的内容为准，必要时拨打举报电话核实。",
    follow_up_unreadable: "这条补充无法确认是用您的查询码发送的，因此不予显示。",
    your_follow_ups: "您的补充",
    follow_up_label: "补充情况或留言",
    follow_up_hint: "内容会加密后发送，只有受理机关能看到。",
    send: "加密并发送",
    sending: "正在发送…",
    sent: "已发送。",
    empty_message: "请先填写内容。",
    code_empty: "请输入查询码。",
    code_bad_char: "查询码里不会有“{c}”（第 {n} 位）。",
    code_short: "查询码还不完整：已输入 {n} 位，共 20 位。",
    code_long: "查询码太长：输入了 {n} 位，应为 20 位。",
    code_typo: "查询码有错字：请逐位核对。",
    stages: "办理阶段",
    due_by: "期限 {d}",
    days_left: "还剩 {n} 天",
    overdue: "已超过期限 {n} 天",
    result: "办理结果",
    show_code: "显示查询码",
    hide_code: "隐藏查询码",
    need_code: "输入完整的 20 位查询码后即可查询。",
    since: "自 {d} 起",
};

/// English, status page.
pub static EN_STATUS: StatusText = StatusText {
    status_title: "Check the progress of a report",
    status_intro: "Enter the inquiry code you received when you reported.",
    code_label: "Inquiry code",
    code_hint: "20 letters and digits, such as 7K3Q-M9XD-2HTV-P4WB-RG6E; any case, dashes optional.",
    code_ok: "The code looks right.",
    look_up: "Look up",
    looking_up: "Looking up…",
    not_found: "No report has this inquiry code. Please check the code.",
    current_status: "Current status",
    timeline: "History",
    replies: "Replies from the office",
    no_replies: "No replies yet.",
    reply_unreadable: "This message could not be confirmed as coming from the office, so it is not shown. If in doubt, call the hotline.",
    unconfirmed: " (not confirmed by the office)",
    irregular: "Note: a message from the office is missing or repeated, which may mean tampering. Trust only what the office confirmed, and call the hotline if in doubt.",
    follow_up_unreadable: "This follow-up could not be confirmed as sent with your code, so it is not shown.",
    your_follow_ups: "Your follow-ups",
    follow_up_label: "Add information or a message",
    follow_up_hint: "It is encrypted before it is sent; only the office can read it.",
    send: "Encrypt and send",
    sending: "Sending…",
    sent: "Sent.",
    empty_message: "Please write something first.",
    code_empty: "Please enter your inquiry code.",
    code_bad_char: "An inquiry code never contains \"{c}\" (character {n}).",
    code_short: "The code is not complete: {n} of 20 characters.",
    code_long: "The code is too long: {n} characters, it has 20.",
    code_typo: "This code has a typo: check each character.",
    stages: "Stages",
    due_by: "due {d}",
    days_left: "{n} days left",
    overdue: "{n} days overdue",
    result: "Result",
    show_code: "Show code",
    hide_code: "Hide code",
    need_code: "Enter the whole 20-character code to look it up.",
    since: "since {d}",
};

/// The poster page's strings.
#[allow(missing_docs)]
pub struct PosterText {
    pub heading: &'static str,
    pub intro: &'static str,
    pub title: &'static str,
    pub subtitle: &'static str,
    pub url: &'static str,
    pub phone: &'static str,
    pub lines: &'static str,
    pub paper: &'static str,
    pub print: &'static str,
    pub default_subtitle: &'static str,
    pub qr_too_long: &'static str,
}

/// Simplified Chinese, poster page.
pub static ZH_POSTER: PosterText = PosterText {
    heading: "制作举报二维码海报",
    intro: "填写后即可打印，或在打印对话框中选择“另存为 PDF”。二维码为矢量图，放大印刷也清晰。",
    title: "标题",
    subtitle: "副标题",
    url: "举报入口网址（二维码的内容）",
    phone: "举报电话",
    lines: "受理范围（每行一条）",
    paper: "纸张",
    print: "打印 / 存为 PDF",
    default_subtitle: "扫码在线举报，约三分钟，可匿名",
    qr_too_long: "网址太长，无法生成二维码。",
};

/// English, poster page.
pub static EN_POSTER: PosterText = PosterText {
    heading: "Make a QR code poster",
    intro: "Fill in, then print, or choose \"Save as PDF\" in the print dialog. The QR code is vector art and stays sharp at any size.",
    title: "Title",
    subtitle: "Subtitle",
    url: "Entry address (what the QR code holds)",
    phone: "Hotline phone number",
    lines: "What it accepts (one per line)",
    paper: "Paper",
    print: "Print / save as PDF",
    default_subtitle: "Scan to report online: about three minutes, anonymous if you wish",
    qr_too_long: "This address is too long for a QR code.",
};

/// Fills `{n}`, `{m}`, `{k}`, `{c}`, `{msg}` placeholders.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    // One pass over the template; an unknown `{name}` is left as it is. (Splitting on the
    // braces keeps substring search, and its code, out of the form's bundle.)
    let mut parts = template.split('{');
    let mut out = String::from(parts.next().unwrap_or_default());
    for part in parts {
        let value = part
            .split_once('}')
            .and_then(|(name, rest)| Some((args.iter().find(|(n, _)| *n == name)?.1, rest)));
        match value {
            Some((value, rest)) => out.extend([value, rest]),
            None => out.extend(["{", part]),
        }
    }
    out
}

/// A code-entry problem in the reporter's language.
pub fn code_error(t: &StatusText, err: &CodeError) -> String {
    match err {
        CodeError::Empty => t.code_empty.to_owned(),
        CodeError::InvalidCharacter { ch, position } => fill(
            t.code_bad_char,
            &[("c", &ch.to_string()), ("n", &position.to_string())],
        ),
        CodeError::TooShort { found } => fill(t.code_short, &[("n", &found.to_string())]),
        CodeError::TooLong { found } => fill(t.code_long, &[("n", &found.to_string())]),
        _ => t.code_typo.to_owned(),
    }
}

/// The evidence files field's strings.
#[allow(missing_docs)]
pub struct FilesText {
    pub too_large: &'static str,
    pub too_many: &'static str,
    /// Said when the region changed after files were attached.
    pub region_changed: &'static str,
    pub sending: &'static str,
    /// Appended to `sending` once a rate is known: `{t}` is a duration.
    pub left: &'static str,
    /// Durations: `{n}` seconds, `{n}` minutes.
    pub seconds: &'static str,
    pub minutes: &'static str,
    pub waiting: &'static str,
    pub cleaned: &'static str,
    pub nothing: &'static str,
    pub not_cleaned: &'static str,
    pub failed: &'static str,
    pub remove: &'static str,
    pub separator: &'static str,
    /// Location, device, time, author, text, thumbnail, other (in [`cluebox_protocol::evidence::Removal`] order).
    pub removals: [&'static str; 7],
}

/// Chinese.
pub static ZH_FILES: FilesText = FilesText {
    too_large: "{name}：超过 {max} 的上限，未添加。",
    too_many: "最多可以附 {n} 个文件。",
    region_changed: "地区已更改：已附的文件会重新加密，发送给新地区的受理机关。",
    sending: "正在加密上传 {p}%（{done} / {total}）",
    left: "，约剩 {t}",
    seconds: "{n} 秒",
    minutes: "{n} 分钟",
    waiting: "网络中断，恢复后自动继续上传……",
    cleaned: "已去除：{what}",
    nothing: "未发现位置、设备等隐藏信息",
    not_cleaned: "此类文件无法自动去除位置、设备等隐藏信息，请确认无妨后再提交。",
    failed: "上传失败：{msg}",
    remove: "移除",
    separator: "、",
    removals: [
        "位置",
        "设备型号",
        "拍摄时间",
        "作者",
        "文字说明",
        "缩略图",
        "其他信息",
    ],
};

/// English.
pub static EN_FILES: FilesText = FilesText {
    too_large: "{name}: larger than the {max} limit, not added.",
    too_many: "At most {n} files can be attached.",
    region_changed: "The region changed: the attached files are encrypted again for the new region's office.",
    sending: "Encrypting and uploading {p}% ({done} / {total})",
    left: ", about {t} left",
    seconds: "{n} s",
    minutes: "{n} min",
    waiting: "Connection lost; the upload goes on when it returns...",
    cleaned: "Removed: {what}",
    nothing: "No location or device details found",
    not_cleaned: "Location and device details cannot be removed from this kind of file: check it is safe to send.",
    failed: "Upload failed: {msg}",
    remove: "Remove",
    separator: ", ",
    removals: [
        "location",
        "device model",
        "time taken",
        "author",
        "text",
        "thumbnail",
        "other details",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_placeholders_and_keeps_the_rest() {
        assert_eq!(
            fill("第 {n} 步，共 {m} 步", &[("n", "2"), ("m", "5")]),
            "第 2 步，共 5 步"
        );
        assert_eq!(fill("{x} and {n}", &[("n", "1")]), "{x} and 1");
        assert_eq!(fill("open { brace", &[("n", "1")]), "open { brace");
        assert_eq!(
            fill("{msg}", &[("msg", "{n}")]),
            "{n}",
            "values are not re-filled"
        );
    }

    #[test]
    fn both_languages_fill_the_same_placeholders() {
        for (zh, en) in [
            (ZH.step_of, EN.step_of),
            (ZH.retrying, EN.retrying),
            (ZH.next_accept, EN.next_accept),
            (ZH.next_contact, EN.next_contact),
            (ZH.next_handle, EN.next_handle),
            (ZH.next_feedback, EN.next_feedback),
            (ZH.errors_title, EN.errors_title),
            (ZH.blanks, EN.blanks),
            (ZH.edit_section, EN.edit_section),
            (ZH_STATUS.days_left, EN_STATUS.days_left),
            (ZH_STATUS.overdue, EN_STATUS.overdue),
            (ZH_STATUS.due_by, EN_STATUS.due_by),
        ] {
            let args = [
                ("n", "7"),
                ("m", "8"),
                ("k", "9"),
                ("s", "x"),
                ("d", "2026-01-01"),
            ];
            assert!(!fill(zh, &args).contains('{') && !fill(en, &args).contains('{'));
        }
    }
}
