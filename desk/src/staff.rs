//! The office's staff accounts and what each role may do: the one authorisation the command
//! line and the desk's web workplace (issue #15) share.
//!
//! Passwords are stored only as Argon2id PHC strings (m = 19 MiB, t = 2, p = 1, the OWASP
//! minimum, a 16-byte random salt each) and must be at least [`MIN_PASSWORD`] characters.
//! [`MAX_FAILURES`] wrong passwords in a row lock an account for [`LOCKOUT_SECONDS`]; an unknown
//! login costs the same Argon2 work as a known one, so timing does not say which logins exist.
//! There is no default account and no default password: the first admin is made by
//! `cluebox-desk staff add`. Every change to an account is in the audit log.
//!
//! Roles (what [`may`] allows):
//! - **intake**: reads new reports, accepts or does not accept them, replies.
//! - **handler**: works on the cases of its regions only (verifies, proposes a conclusion,
//!   replies, records contacts and visits); another region's case is as if it did not exist.
//! - **leader**: reads every case, approves assignments and conclusions, replies.
//! - **auditor**: reads every case and the audit log; changes nothing.
//! - **admin**: manages accounts; reads no case content at all.
//!
//! Seeing a real-name reporter's identity needs a role that reads the case, and a stated reason
//! (recorded by the caller in the audit log).

use anyhow::Context as _;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use rusqlite::{Connection, OptionalExtension as _, params};

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Wrong passwords in a row before an account is locked.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_SECONDS: i64 = 15 * 60;

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accepts or does not accept new reports.
    Intake,
    /// Works on the cases of its regions.
    Handler,
    /// Approves assignments and conclusions.
    Leader,
    /// Reads everything, changes nothing.
    Auditor,
    /// Manages accounts, reads no case.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Intake => "intake",
            Role::Handler => "handler",
            Role::Leader => "leader",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role of a stored name.
    pub fn parse(name: &str) -> anyhow::Result<Role> {
        Ok(match name {
            "intake" => Role::Intake,
            "handler" => Role::Handler,
            "leader" => Role::Leader,
            "auditor" => Role::Auditor,
            "admin" => Role::Admin,
            other => anyhow::bail!("no role {other:?}: intake, handler, leader, auditor or admin"),
        })
    }
}

/// A staff account (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// The login name.
    pub login: String,
    /// The name shown in the desk and the audit log.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The regions a handler works on (region ids of the profile).
    pub regions: Vec<String>,
    /// Whether the account was disabled.
    pub disabled: bool,
}

/// Something a member of staff may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read a case (its report without the identity section, its history).
    ReadCase,
    /// Show a real-name reporter's identity section (with a reason).
    ReadIdentity,
    /// Accept a new report, or pass it on as not accepted.
    Accept,
    /// Work on a case: verify, propose a conclusion, record a contact or a visit.
    Handle,
    /// Approve an assignment or a conclusion.
    Approve,
    /// Send the reporter a reply.
    Reply,
    /// Read the audit log.
    ReadAudit,
    /// Add, disable or change accounts.
    ManageAccounts,
}

/// Whether `staff` may do `action` on a case of `region` (`None` for an action on no case, or
/// a case whose report names no region). `Err` says why not, in a sentence.
pub fn may(staff: &Staff, action: Action, region: Option<&str>) -> Result<(), String> {
    if staff.disabled {
        return Err("this account is disabled".into());
    }
    let case_action = !matches!(action, Action::ReadAudit | Action::ManageAccounts);
    let allowed = match staff.role {
        Role::Admin => action == Action::ManageAccounts,
        Role::Auditor => matches!(
            action,
            Action::ReadCase | Action::ReadIdentity | Action::ReadAudit
        ),
        Role::Leader => !matches!(action, Action::ManageAccounts),
        Role::Intake => matches!(
            action,
            Action::ReadCase | Action::ReadIdentity | Action::Accept | Action::Reply
        ),
        Role::Handler => {
            let ours = region.is_some_and(|r| staff.regions.iter().any(|mine| mine == r));
            if case_action && !ours {
                // Another region's case is as if it did not exist.
                return Err("no such case".into());
            }
            matches!(
                action,
                Action::ReadCase | Action::ReadIdentity | Action::Handle | Action::Reply
            )
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "the {} role may not do this ({action:?})",
            staff.role.as_str()
        ))
    }
}

/// Whether a password is acceptable; `Err` says why not.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        ));
    }
    Ok(())
}

fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let hash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// Adds an account (audited as done by `actor`).
pub fn add(
    conn: &mut Connection,
    actor: &str,
    staff: &Staff,
    password: &str,
) -> anyhow::Result<()> {
    check_password(password).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        !staff.login.is_empty()
            && staff
                .login
                .chars()
                .all(|c| c.is_alphanumeric() || "._-".contains(c)),
        "a login is letters, digits, dots, dashes and underscores"
    );
    anyhow::ensure!(
        staff.role != Role::Handler || !staff.regions.is_empty(),
        "a handler needs at least one --region"
    );
    let hash = hash(password)?;
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO staff (login, name, role, regions, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            staff.login,
            staff.name,
            staff.role.as_str(),
            staff.regions.join(","),
            hash,
            crate::now() as i64
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            anyhow::anyhow!("the login {:?} is taken", staff.login)
        }
        other => other.into(),
    })?;
    crate::audit::append(
        &tx,
        actor,
        "staff.add",
        &staff.login,
        &format!(
            "role {} regions {}",
            staff.role.as_str(),
            staff.regions.join(",")
        ),
    )?;
    tx.commit()?;
    Ok(())
}

fn row_to_staff(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Staff, String)> {
    let role: String = r.get(2)?;
    let regions: String = r.get(3)?;
    Ok((
        Staff {
            login: r.get(0)?,
            name: r.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::Auditor),
            regions: regions
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            disabled: r.get::<_, i64>(4)? != 0,
        },
        role,
    ))
}

/// Every account, by login.
pub fn list(conn: &Connection) -> anyhow::Result<Vec<Staff>> {
    let mut stmt =
        conn.prepare("SELECT login, name, role, regions, disabled FROM staff ORDER BY login")?;
    let rows = stmt.query_map([], row_to_staff)?;
    Ok(rows.map(|r| r.map(|(s, _)| s)).collect::<Result<_, _>>()?)
}

/// Disables an account (it can no longer sign in or act).
pub fn disable(conn: &mut Connection, actor: &str, login: &str) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    let n = tx.execute("UPDATE staff SET disabled = 1 WHERE login = ?1", [login])?;
    anyhow::ensure!(n == 1, "no account {login:?}");
    crate::audit::append(&tx, actor, "staff.disable", login, "")?;
    tx.commit()?;
    Ok(())
}

/// Sets a new password (and clears a lockout).
pub fn set_password(
    conn: &mut Connection,
    actor: &str,
    login: &str,
    password: &str,
) -> anyhow::Result<()> {
    check_password(password).map_err(anyhow::Error::msg)?;
    let hash = hash(password)?;
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE staff SET password_hash = ?2, failures = 0, locked_until = 0 WHERE login = ?1",
        params![login, hash],
    )?;
    anyhow::ensure!(n == 1, "no account {login:?}");
    crate::audit::append(&tx, actor, "staff.password", login, "")?;
    tx.commit()?;
    Ok(())
}

/// Why a sign-in was refused. Wrong login and wrong password read the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The login or the password is wrong (which one is not said).
    #[error("wrong login or password")]
    Wrong,
    /// Too many wrong passwords: locked until this time (unix seconds).
    #[error("locked after too many wrong passwords; try again after {0}")]
    Locked(i64),
    /// The account is disabled.
    #[error("this account is disabled")]
    Disabled,
}

/// A PHC string for a password nobody has, verified against unknown logins so that they cost
/// the same Argon2 work as known ones.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$T9hMRn4dr7eHaUjgz8ZOu1yWQ7wMSUTgNqdcIcy6Ab8";

/// Checks a sign-in at `now` (unix seconds): counts failures, locks after [`MAX_FAILURES`],
/// audits every outcome. The account on success.
///
/// The password is checked outside any transaction (Argon2 takes tens of milliseconds); the
/// failure count is then raised in an immediate transaction (`failures = failures + 1`), so
/// guesses made at the same moment, from two processes or two requests, each count.
pub fn sign_in(
    conn: &mut Connection,
    login: &str,
    password: &str,
    now: i64,
) -> anyhow::Result<Result<Staff, SignInError>> {
    let found = conn
        .query_row(
            "SELECT login, name, role, regions, disabled, password_hash FROM staff WHERE login = ?1",
            [login],
            |r| Ok((row_to_staff(r)?.0, r.get::<_, String>(5)?)),
        )
        .optional()?;
    let Some((staff, stored)) = found else {
        let _ = Argon2::default().verify_password(password.as_bytes(), DUMMY_HASH);
        let tx = conn.transaction()?;
        crate::audit::append(&tx, login, "staff.sign_in_refused", login, "unknown login")?;
        tx.commit()?;
        return Ok(Err(SignInError::Wrong));
    };
    let parsed = PasswordHash::new(&stored).context("a stored password hash is damaged")?;
    let right = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Read again inside the transaction: another sign-in may have locked or disabled it since.
    let (disabled, locked_until): (bool, i64) = tx.query_row(
        "SELECT disabled != 0, locked_until FROM staff WHERE login = ?1",
        [login],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let outcome = if disabled {
        // Only the right password learns that the account is disabled.
        Err(if right {
            SignInError::Disabled
        } else {
            SignInError::Wrong
        })
    } else if locked_until > now {
        Err(SignInError::Locked(locked_until))
    } else if right {
        tx.execute(
            "UPDATE staff SET failures = 0, locked_until = 0 WHERE login = ?1",
            [login],
        )?;
        Ok(staff)
    } else {
        let failures: i64 = tx.query_row(
            "UPDATE staff SET failures = failures + 1 WHERE login = ?1 RETURNING failures",
            [login],
            |r| r.get(0),
        )?;
        if failures >= MAX_FAILURES {
            let until = now + LOCKOUT_SECONDS;
            tx.execute(
                "UPDATE staff SET failures = 0, locked_until = ?2 WHERE login = ?1",
                params![login, until],
            )?;
            Err(SignInError::Locked(until))
        } else {
            Err(SignInError::Wrong)
        }
    };
    let (action, detail) = match &outcome {
        Ok(_) => ("staff.sign_in", String::new()),
        Err(e) => ("staff.sign_in_refused", e.to_string()),
    };
    crate::audit::append(&tx, login, action, login, &detail)?;
    tx.commit()?;
    Ok(outcome)
}

/// The account with this login, if there is one.
pub fn get(conn: &Connection, login: &str) -> anyhow::Result<Option<Staff>> {
    Ok(conn
        .query_row(
            "SELECT login, name, role, regions, disabled FROM staff WHERE login = ?1",
            [login],
            |r| row_to_staff(r).map(|(s, _)| s),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("desk.sqlite3")).unwrap();
        (dir, conn)
    }

    fn staff(login: &str, role: Role, regions: &[&str]) -> Staff {
        Staff {
            login: login.into(),
            name: login.to_uppercase(),
            role,
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
            disabled: false,
        }
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"anything", &parsed)
                .is_err()
        );
    }

    #[test]
    fn passwords_are_argon2id_and_never_stored_in_clear() {
        let (_dir, mut conn) = db();
        add(
            &mut conn,
            "setup",
            &staff("li", Role::Leader, &[]),
            "correct horse battery",
        )
        .unwrap();
        let stored: String = conn
            .query_row("SELECT password_hash FROM staff", [], |r| r.get(0))
            .unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!stored.contains("horse"));
        assert!(
            add(
                &mut conn,
                "setup",
                &staff("wang", Role::Leader, &[]),
                "short"
            )
            .unwrap_err()
            .to_string()
            .contains("12 characters")
        );
        assert!(
            add(
                &mut conn,
                "setup",
                &staff("li", Role::Intake, &[]),
                "another long one"
            )
            .unwrap_err()
            .to_string()
            .contains("taken")
        );
        assert!(
            add(
                &mut conn,
                "setup",
                &staff("h", Role::Handler, &[]),
                "a handler w/o region"
            )
            .is_err()
        );
        assert_eq!(list(&conn).unwrap().len(), 1);
        assert_eq!(
            crate::audit::verify(&conn).unwrap(),
            Ok(1),
            "the addition is audited"
        );
    }

    #[test]
    fn five_wrong_passwords_lock_the_account_and_a_new_password_unlocks_it() {
        let (_dir, mut conn) = db();
        add(
            &mut conn,
            "setup",
            &staff("zhao", Role::Intake, &[]),
            "correct horse battery",
        )
        .unwrap();
        let now = 1_800_000_000;
        assert_eq!(
            sign_in(&mut conn, "nobody", "x", now).unwrap(),
            Err(SignInError::Wrong),
            "an unknown login reads like a wrong password"
        );
        for _ in 1..MAX_FAILURES {
            assert_eq!(
                sign_in(&mut conn, "zhao", "wrong", now).unwrap(),
                Err(SignInError::Wrong)
            );
        }
        let locked = Err(SignInError::Locked(now + LOCKOUT_SECONDS));
        assert_eq!(sign_in(&mut conn, "zhao", "wrong", now).unwrap(), locked);
        // Locked: even the right password is refused until the time has passed.
        assert_eq!(
            sign_in(&mut conn, "zhao", "correct horse battery", now + 60).unwrap(),
            locked
        );
        assert!(
            sign_in(
                &mut conn,
                "zhao",
                "correct horse battery",
                now + LOCKOUT_SECONDS + 1
            )
            .unwrap()
            .is_ok()
        );
        // A success clears the count; an admin's new password clears a lock.
        for _ in 0..MAX_FAILURES {
            let _ = sign_in(&mut conn, "zhao", "wrong", now + 2 * LOCKOUT_SECONDS).unwrap();
        }
        set_password(&mut conn, "admin", "zhao", "a brand new passphrase").unwrap();
        assert!(
            sign_in(
                &mut conn,
                "zhao",
                "a brand new passphrase",
                now + 2 * LOCKOUT_SECONDS
            )
            .unwrap()
            .is_ok()
        );
        disable(&mut conn, "admin", "zhao").unwrap();
        assert_eq!(
            sign_in(
                &mut conn,
                "zhao",
                "a brand new passphrase",
                now + 3 * LOCKOUT_SECONDS
            )
            .unwrap(),
            Err(SignInError::Disabled)
        );
        assert!(crate::audit::verify(&conn).unwrap().is_ok());
        let refused: i64 = conn
            .query_row(
                "SELECT count(*) FROM audit WHERE action = 'staff.sign_in_refused'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(refused, 1 + 5 + 1 + 5 + 1, "every refusal is audited");
    }

    #[test]
    fn wrong_passwords_guessed_at_the_same_moment_each_count() {
        let (dir, mut conn) = db();
        add(
            &mut conn,
            "setup",
            &staff("qian", Role::Intake, &[]),
            "correct horse battery",
        )
        .unwrap();
        let path = dir.path().join("desk.sqlite3");
        let now = 1_800_000_000;
        let start = std::sync::Arc::new(std::sync::Barrier::new(MAX_FAILURES as usize));
        let guesses: Vec<_> = (0..MAX_FAILURES)
            .map(|n| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    let mut conn = crate::db::open(&path).unwrap();
                    start.wait();
                    sign_in(&mut conn, "qian", &format!("guess number {n}"), now).unwrap()
                })
            })
            .collect();
        let outcomes: Vec<_> = guesses.into_iter().map(|g| g.join().unwrap()).collect();
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, Err(SignInError::Locked(_))))
                .count(),
            1,
            "the fifth guess locks the account: {outcomes:?}"
        );
        assert!(matches!(
            sign_in(&mut conn, "qian", "correct horse battery", now + 1).unwrap(),
            Err(SignInError::Locked(_))
        ));
    }

    #[test]
    fn each_role_may_do_its_own_work_only() {
        use Action::*;
        let handler = staff("h", Role::Handler, &["440000"]);
        assert!(may(&handler, Handle, Some("440000")).is_ok());
        assert_eq!(
            may(&handler, ReadCase, Some("110000")),
            Err("no such case".into()),
            "another region's case does not exist for a handler"
        );
        assert!(
            may(&handler, ReadCase, None).is_err(),
            "nor a case with no region"
        );
        assert!(may(&handler, Approve, Some("440000")).is_err());
        assert!(may(&handler, ReadAudit, None).is_err());

        let auditor = staff("a", Role::Auditor, &[]);
        assert!(may(&auditor, ReadCase, Some("110000")).is_ok());
        assert!(may(&auditor, ReadAudit, None).is_ok());
        for change in [Accept, Handle, Approve, Reply, ManageAccounts] {
            assert!(may(&auditor, change, Some("110000")).is_err(), "{change:?}");
        }

        let admin = staff("ad", Role::Admin, &[]);
        assert!(may(&admin, ManageAccounts, None).is_ok());
        for read in [ReadCase, ReadIdentity, ReadAudit] {
            assert!(may(&admin, read, Some("110000")).is_err(), "{read:?}");
        }

        let intake = staff("i", Role::Intake, &[]);
        assert!(may(&intake, Accept, None).is_ok());
        assert!(may(&intake, Approve, None).is_err());

        let leader = staff("l", Role::Leader, &[]);
        assert!(may(&leader, Approve, Some("110000")).is_ok());
        assert!(may(&leader, ManageAccounts, None).is_err());

        let mut gone = leader.clone();
        gone.disabled = true;
        assert!(may(&gone, ReadCase, None).is_err());
    }
}
