//! Who runs a command-line command.
//!
//! A desk without staff accounts is one operator's tool, named by `--actor`, and nobody else
//! is there to approve anything. Once the first account exists, every command that reads or
//! changes cases, accounts or the audit log needs a signed-in account (`--as LOGIN`, the
//! password from `CLUEBOX_DESK_PASSWORD` or the terminal), is recorded under that login, and
//! follows the same role and approval rules as the web desk ([`crate::staff::may`],
//! [`crate::procedure`]): the command line is not a way around them.

use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::reports::CaseRow;
use crate::staff::{self, Action, SignInError, Staff};

/// Who runs the command.
#[derive(Debug, Clone)]
pub enum Operator {
    /// The one operator of a desk without accounts (the `--actor` name).
    Alone(String),
    /// A signed-in account.
    Staff(Staff),
}

impl Operator {
    /// Signs in `login` if the desk has accounts (asking `password` for it), or takes `actor`
    /// as the one operator of a desk without any.
    pub fn sign_in(
        conn: &mut Connection,
        login: Option<&str>,
        actor: &str,
        password: impl FnOnce(&str) -> anyhow::Result<Zeroizing<String>>,
    ) -> anyhow::Result<Operator> {
        if staff::list(conn)?.is_empty() {
            return Ok(Operator::Alone(actor.to_owned()));
        }
        let login = login.ok_or_else(|| {
            anyhow::anyhow!(
                "this desk has staff accounts: sign in with --as LOGIN (the password from \
                 CLUEBOX_DESK_PASSWORD or typed at the terminal)"
            )
        })?;
        let password = password(login)?;
        match staff::sign_in(conn, login, &password, crate::now() as i64)? {
            Ok(who) => Ok(Operator::Staff(who)),
            Err(SignInError::Locked(until)) => anyhow::bail!(
                "locked after too many wrong passwords until {} UTC",
                crate::cases::date(until.max(0) as u64)
            ),
            Err(e) => anyhow::bail!("{e}"),
        }
    }

    /// The name the audit log and the case history record.
    pub fn actor(&self) -> &str {
        match self {
            Operator::Alone(actor) => actor,
            Operator::Staff(who) => &who.login,
        }
    }

    /// The account, when signed in.
    pub fn staff(&self) -> Option<&Staff> {
        match self {
            Operator::Alone(_) => None,
            Operator::Staff(who) => Some(who),
        }
    }

    /// Whether the operator may do `action` (on a case of `region`): always, alone.
    pub fn may(&self, action: Action, region: Option<&str>) -> anyhow::Result<()> {
        match self {
            Operator::Alone(_) => Ok(()),
            Operator::Staff(who) => staff::may(who, action, region).map_err(anyhow::Error::msg),
        }
    }

    /// Whether the operator works on cases (intake, handler, leader, or alone): what pulling,
    /// importing, pushing and the quarantine need.
    pub fn may_work(&self) -> anyhow::Result<()> {
        match self {
            Operator::Staff(who)
                if !matches!(
                    who.role,
                    staff::Role::Intake | staff::Role::Handler | staff::Role::Leader
                ) =>
            {
                anyhow::bail!("the {} role does not work on cases", who.role.as_str())
            }
            _ => Ok(()),
        }
    }

    /// Whether the operator may read `case` (a handler only its regions').
    pub fn sees(&self, case: &CaseRow) -> bool {
        self.may(Action::ReadCase, case.region()).is_ok()
    }

    /// The case `id`, if the operator may read it and do `action` on it (another region's
    /// case reads as no case).
    pub fn case(&self, conn: &Connection, id: &str, action: Action) -> anyhow::Result<CaseRow> {
        let row = crate::reports::case(conn, id)?.ok_or_else(|| anyhow::anyhow!("no case {id}"))?;
        self.may(Action::ReadCase, row.region()).map_err(|e| {
            if e.to_string() == "no such case" {
                anyhow::anyhow!("no case {id}")
            } else {
                e
            }
        })?;
        self.may(action, row.region())?;
        Ok(row)
    }
}
