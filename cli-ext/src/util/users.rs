//! User commands: loginHSM / logoutHSM (key_mgmt_util flags `-u -s -p`, or
//! cloudhsm_mgmt_util's positional `loginHSM CU cu1 <password>`), and the
//! management utility's listUsers, createUser, deleteUser, changePswd,
//! syncUser, plus unlockUser.

use cloudhsm_data_plane::{client::credentials_from_env, Role};

use super::{
    args::{flag, Parsed, Spec},
    context::Ctx,
    output,
    registry::Command,
    two_factor, UtilError,
};

const USER_FLAGS: &[super::args::Flag] = &[
    flag("-u", "user type", "CU, CO, PRECO or AU"),
    flag("-s", "user name", "the user"),
];

/// A password given on the command line works but is visible to other
/// users of the machine (`ps`, shell history): say so, as the seed advises
/// keeping credentials out of sight.
fn warn_command_line_password() {
    eprintln!(
        "WARNING: a password on the command line can be seen by other users of this machine; \
         set azcloudhsm_password=\"user:password\" instead"
    );
}

/// `(user type, name)` from `-u`/`-s` or positions 0 and 1.
fn user_of(parsed: &Parsed, command: &str) -> Result<(String, String), UtilError> {
    parsed.one_form(command, &["-u", "-s", "-p"])?;
    let user_type = parsed.require(parsed.either("-u", 0), "-u <user type>")?;
    let name = parsed.require(parsed.either("-s", 1), "-s <user name>")?;
    Ok((
        canonical_user_type(user_type)?.to_string(),
        name.to_string(),
    ))
}

/// The user type as the HSM names it (`cu` → `CU`), by the engine's own parser.
fn canonical_user_type(user_type: &str) -> Result<&'static str, UtilError> {
    Role::parse(user_type).map(Role::as_str).map_err(|_| {
        UtilError::Usage(format!(
            "-u: unknown user type '{}' (CU, CO, PRECO, AU)",
            user_type.to_ascii_uppercase()
        ))
    })
}

/// The password at `-p` or position 2, warned about.
fn password_arg(parsed: &Parsed) -> Option<String> {
    let password = parsed.either("-p", 2)?;
    warn_command_line_password();
    Some(password.to_string())
}

pub const LOGIN: Command = Command {
    spec: Spec {
        name: "loginHSM",
        summary: "log in to the cluster's HSMs",
        flags: &[
            flag(
                "-u",
                "user type",
                "CU, CO, PRECO or AU (default: azcloudhsm_user_type, then CU)",
            ),
            flag(
                "-s",
                "user name",
                "the user (default: from azcloudhsm_password)",
            ),
            flag(
                "-p",
                "password",
                "the password (better: azcloudhsm_password=\"user:password\")",
            ),
            flag(
                "-2fa",
                "authdata file",
                "an officer with 2FA: where the authdata to sign goes",
            ),
        ],
        positionals: &["user type", "user name", "password"],
        example: "loginHSM -u CU -s cu1 -p user1234",
    },
    run: login,
};

fn login(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    parsed.one_form("loginHSM", &["-u", "-s", "-p"])?;
    let env = credentials_from_env();
    let user_type = parsed
        .either("-u", 0)
        .map(str::to_string)
        .or_else(|| std::env::var("azcloudhsm_user_type").ok())
        .unwrap_or_else(|| "CU".into());
    let user_type = canonical_user_type(&user_type)?.to_string();
    let name = match (parsed.either("-s", 1), &env) {
        (Some(name), _) => name.to_string(),
        (None, Some((_, name, _))) => name.clone(),
        (None, None) => {
            return Err(UtilError::Usage(
                "loginHSM: give -s <user name>, or set azcloudhsm_password=\"user:password\""
                    .into(),
            ))
        }
    };
    let password = match (password_arg(parsed), env) {
        (Some(password), _) => password,
        (None, Some((_, env_user, password))) if env_user == name => password,
        _ => {
            return Err(UtilError::Usage(format!(
                "loginHSM: no password for '{name}': set azcloudhsm_password=\"{name}:<password>\" (or give -p)"
            )))
        }
    };
    let hsm = ctx.connect()?;
    match parsed.get("-2fa") {
        None => hsm.run(
            "Cfm3LoginHSM",
            hsm.client.login(&user_type, &name, &password),
        )?,
        Some(path) => {
            let request = hsm.run(
                "Cfm3LoginHSM",
                hsm.client
                    .login_two_factor_begin(&user_type, &name, &password),
            )?;
            let signed = two_factor::exchange(path, &request, false)?;
            hsm.run(
                "Cfm3LoginHSM",
                hsm.client.login_two_factor_complete(&signed),
            )?;
        }
    }
    output::success("Cfm3LoginHSM");
    ctx.logged_in = Some((user_type, name));
    Ok(())
}

pub const LOGOUT: Command = Command {
    spec: Spec {
        name: "logoutHSM",
        summary: "log out",
        flags: &[],
        positionals: &[],
        example: "logoutHSM",
    },
    run: logout,
};

fn logout(ctx: &mut Ctx, _: &Parsed) -> Result<(), UtilError> {
    if ctx.logged_in.is_none() {
        return Err(UtilError::Usage("logoutHSM: not logged in".into()));
    }
    let hsm = ctx.connect()?;
    hsm.run_reported("Cfm3LogoutHSM", hsm.client.logout())?;
    ctx.logged_in = None;
    Ok(())
}

pub const LIST_USERS: Command = Command {
    spec: Spec {
        name: "listUsers",
        summary: "list the cluster's users",
        flags: &[],
        positionals: &[],
        example: "listUsers",
    },
    run: list_users,
};

fn list_users(ctx: &mut Ctx, _: &Parsed) -> Result<(), UtilError> {
    let hsm = ctx.session()?;
    let users = hsm.run_reported("Cfm3ListUsers", hsm.client.list_users())?;
    println!("\tNumber Of Users found {}\n", users.len());
    println!("\t{:<10}{:<12}User Name", "Index", "User Type");
    for (index, user) in users.iter().enumerate() {
        println!("\t{:<10}{:<12}{}", index + 1, user.user_type, user.name);
    }
    Ok(())
}

pub const CREATE_USER: Command = Command {
    spec: Spec {
        name: "createUser",
        summary: "create a user (crypto officers)",
        flags: &[
            flag("-u", "user type", "CU or CO"),
            flag("-s", "user name", "the new user"),
            flag(
                "-p",
                "password",
                "its password (8-32 characters; 12 or more recommended)",
            ),
            flag(
                "-2fa",
                "authdata file",
                "a crypto officer with 2FA: where the authdata to sign goes",
            ),
        ],
        positionals: &["user type", "user name", "password"],
        example: "createUser CU cu1 user1234",
    },
    run: create_user,
};

fn create_user(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let (user_type, name) = user_of(parsed, "createUser")?;
    let password = password_arg(parsed)
        .ok_or_else(|| UtilError::Usage("createUser: missing the new user's password".into()))?;
    let hsm = ctx.session()?;
    match parsed.get("-2fa") {
        None => hsm.run(
            "Cfm3CreateUser",
            hsm.client.create_user(&user_type, &name, &password),
        )?,
        Some(path) => two_factor::officer_exchange(
            &hsm,
            "Cfm3CreateUser",
            path,
            hsm.client
                .create_user_two_factor_begin(&user_type, &name, &password),
        )?,
    }
    output::success("Cfm3CreateUser");
    println!("\tCreated {user_type} '{name}' on every available HSM of the cluster");
    Ok(())
}

pub const DELETE_USER: Command = Command {
    spec: Spec {
        name: "deleteUser",
        summary: "delete a user (crypto officers)",
        flags: USER_FLAGS,
        positionals: &["user type", "user name"],
        example: "deleteUser CU cu2",
    },
    run: delete_user,
};

fn delete_user(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let (_, name) = user_of(parsed, "deleteUser")?;
    let hsm = ctx.session()?;
    hsm.run_reported("Cfm3DeleteUser", hsm.client.delete_user(&name))?;
    Ok(())
}

pub const CHANGE_PASSWORD: Command = Command {
    spec: Spec {
        name: "changePswd",
        summary: "change your password, or (crypto officers) another user's",
        flags: &[
            flag("-u", "user type", "the user's type"),
            flag("-s", "user name", "the user"),
            flag("-p", "new password", "the new password"),
            flag(
                "-2fa",
                "authdata file",
                "add or rotate 2FA (without it, 2FA is removed)",
            ),
        ],
        positionals: &["user type", "user name", "new password"],
        example: "changePswd CU cu1 new-password-1",
    },
    run: change_password,
};

fn change_password(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let (_, name) = user_of(parsed, "changePswd")?;
    let password = password_arg(parsed)
        .ok_or_else(|| UtilError::Usage("changePswd: missing the new password".into()))?;
    let hsm = ctx.session()?;
    match parsed.get("-2fa") {
        None => hsm.run(
            "Cfm3ChangePswd",
            hsm.client.change_password(&name, &password),
        )?,
        Some(path) => two_factor::officer_exchange(
            &hsm,
            "Cfm3ChangePswd",
            path,
            hsm.client
                .change_password_two_factor_begin(&name, &password),
        )?,
    }
    output::success("Cfm3ChangePswd");
    Ok(())
}

pub const UNLOCK_USER: Command = Command {
    spec: Spec {
        name: "unlockUser",
        summary: "unlock a user locked by failed logins (crypto officers)",
        flags: USER_FLAGS,
        positionals: &["user type", "user name"],
        example: "unlockUser CU cu1",
    },
    run: unlock_user,
};

fn unlock_user(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let (_, name) = user_of(parsed, "unlockUser")?;
    let hsm = ctx.session()?;
    hsm.run_reported("Cfm3UnlockUser", hsm.client.unlock_user(&name))?;
    Ok(())
}

pub const SYNC_USER: Command = Command {
    spec: Spec {
        name: "syncUser",
        summary: "copy a user to the HSMs that miss it (crypto officers)",
        flags: &[flag("-s", "user name", "the user")],
        positionals: &["user name"],
        example: "syncUser cu1",
    },
    run: sync_user,
};

fn sync_user(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    parsed.one_form("syncUser", &["-s"])?;
    let name = parsed
        .require(parsed.either("-s", 0), "<user name>")?
        .to_string();
    let hsm = ctx.session()?;
    hsm.run_reported("Cfm3SyncUser", hsm.client.sync_user(&name))?;
    Ok(())
}

pub const SET_USER_ATTRIBUTES: Command = Command {
    spec: Spec {
        name: "setUserAttributes",
        summary: "disable (1) or re-enable (0) a user's login (crypto officers)",
        flags: &[
            flag("-s", "user name", "the user"),
            flag(
                "-disableLogin",
                "0|1",
                "1 refuses the user's logins (and ends its sessions)",
            ),
        ],
        positionals: &[],
        example: "setUserAttributes -s cu2 -disableLogin 1",
    },
    run: set_user_attributes,
};

fn set_user_attributes(ctx: &mut Ctx, parsed: &Parsed) -> Result<(), UtilError> {
    let name = parsed
        .require(parsed.get("-s"), "-s <user name>")?
        .to_string();
    let login_disabled = match parsed.get("-disableLogin") {
        Some("1") => true,
        Some("0") => false,
        Some(other) => return Err(UtilError::Usage(format!("-disableLogin {other}: 0 or 1"))),
        None => return Err(UtilError::Usage("missing -disableLogin <0|1>".into())),
    };
    let attributes = cloudhsm_data_plane::server::wire::UserAttributesRequest {
        login_disabled: Some(login_disabled),
    };
    let hsm = ctx.session()?;
    hsm.run_reported(
        "Cfm3SetUserAttributes",
        hsm.client.set_user_attributes(&name, attributes),
    )?;
    Ok(())
}

pub const DISABLE_USER_ACCESS: Command = Command {
    spec: Spec {
        name: "disableUserAccess",
        summary: "as a crypto user, stop crypto officers from managing you (for good)",
        flags: &[],
        positionals: &[],
        example: "disableUserAccess",
    },
    run: disable_user_access,
};

fn disable_user_access(ctx: &mut Ctx, _: &Parsed) -> Result<(), UtilError> {
    ctx.session()?;
    let Some((_, me)) = ctx.logged_in.clone() else {
        return Err(UtilError::NotLoggedIn);
    };
    let hsm = ctx.connect()?;
    hsm.run_reported("Cfm3DisableUserAccess", hsm.client.disable_user_access(&me))?;
    println!("\n\tCrypto officers can no longer delete '{me}', change its password or attributes");
    Ok(())
}
