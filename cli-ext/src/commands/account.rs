//! `login`, `logout` and `account show/list/set`.

use serde_json::Value;

use super::{
    cli::{AccountCommand, LoginArgs},
    error::{CliError, CliResult},
    http::Http,
    output::Row,
    paths,
    profile::{self, Endpoints, Profile, Subscription},
    Ctx, Outcome,
};

/// The emulator's published, well-known secret (README): fine locally,
/// worth a reminder that it is not a credential.
const WELL_KNOWN_SECRET: &str = "CloudHsmEmulator~WellKnownSecret~DoNotUseInProduction";

fn account_row(a: &Value) -> Row {
    vec![
        ("Name", a["name"].clone()),
        ("CloudName", a["environmentName"].clone()),
        ("SubscriptionId", a["id"].clone()),
        ("TenantId", a["tenantId"].clone()),
        ("State", a["state"].clone()),
        ("IsDefault", a["isDefault"].clone()),
    ]
}

pub async fn login(ctx: &Ctx, args: LoginArgs) -> CliResult<Outcome> {
    // Flags override what endpoints.json says; with every flag given the
    // file is not needed.
    let from_flags = args.resource_manager.is_some()
        && args.authority.is_some()
        && args.tenant.is_some()
        && args.username.is_some()
        && args.password.is_some();
    let mut endpoints = if from_flags && args.endpoints.is_none() {
        Endpoints {
            resource_manager: String::new(),
            authority: String::new(),
            tenant_id: String::new(),
            subscription_id: None,
            client_id: String::new(),
            client_secret: None,
            ca_certificate: None,
        }
    } else {
        Endpoints::read(&Endpoints::locate(args.endpoints.as_deref())?)?
    };
    if let Some(v) = args.resource_manager {
        endpoints.resource_manager = v;
    }
    if let Some(v) = args.authority {
        endpoints.authority = v;
    }
    if let Some(v) = args.tenant {
        endpoints.tenant_id = v;
    }
    if let Some(v) = args.username {
        endpoints.client_id = v;
    }
    if let Some(v) = args.ca_certificate {
        endpoints.ca_certificate = Some(v);
    }
    let secret = args
        .password
        .or_else(|| endpoints.client_secret.take())
        .ok_or_else(|| {
            CliError::usage("argument --password/-p: the service principal's secret is required")
        })?;
    endpoints.client_secret = None;

    let http = Http::new(endpoints.ca_certificate.as_deref(), ctx.global.debug)?;
    let token = http.client_credentials(&endpoints, &secret).await?;
    let url = format!(
        "{}/subscriptions?api-version={}",
        endpoints.resource_manager.trim_end_matches('/'),
        paths::SUBSCRIPTIONS_API
    );
    let reply = http.get(&url, &token.access_token).await?;
    let listed = reply.body["value"].as_array().cloned().unwrap_or_default();
    if listed.is_empty() {
        return Err(CliError::client(
            "No subscriptions found for this service principal.",
        ));
    }
    let subscriptions = listed
        .iter()
        .enumerate()
        .map(|(i, s)| Subscription {
            id: s["subscriptionId"].as_str().unwrap_or_default().to_string(),
            name: s["displayName"].as_str().unwrap_or_default().to_string(),
            state: s["state"].as_str().unwrap_or("Enabled").to_string(),
            tenant_id: s["tenantId"]
                .as_str()
                .unwrap_or(&endpoints.tenant_id)
                .to_string(),
            is_default: i == 0,
        })
        .collect();
    if secret == WELL_KNOWN_SECRET {
        ctx.warn(
            "Logged in with the emulator's well-known client secret: never use it anywhere real.",
        );
    }
    let profile = Profile {
        endpoints,
        client_secret: secret,
        subscriptions,
    };
    profile.save()?;
    profile::save_token(&token)?;
    // As `az login` does: print the subscriptions now available.
    Ok(Outcome::table(all_accounts(&profile), account_row))
}

fn all_accounts(profile: &Profile) -> Value {
    Value::Array(
        profile
            .subscriptions
            .iter()
            .map(|s| profile.account_json(s))
            .collect(),
    )
}

pub fn logout(ctx: &Ctx) -> CliResult<Outcome> {
    if !Profile::remove()? {
        ctx.warn("There was no login to remove.");
    }
    Ok(Outcome::none())
}

pub async fn run(ctx: &Ctx, command: AccountCommand) -> CliResult<Outcome> {
    let mut profile = Profile::load()?;
    match command {
        AccountCommand::Show => {
            let sub = profile.subscription(ctx.global.subscription.as_deref())?;
            Ok(Outcome::table(profile.account_json(sub), account_row))
        }
        AccountCommand::List => Ok(Outcome::table(all_accounts(&profile), account_row)),
        AccountCommand::Set { name } => {
            let wanted = name
                .or_else(|| ctx.global.subscription.clone())
                .ok_or_else(|| {
                    CliError::usage("the following arguments are required: --subscription/-s")
                })?;
            let id = profile
                .subscription(Some(&wanted))
                .map_err(|_| {
                    CliError::client(format!(
                        "The subscription of '{wanted}' doesn't exist in cloud 'CloudHsmEmulator'."
                    ))
                })?
                .id
                .clone();
            for s in &mut profile.subscriptions {
                s.is_default = s.id == id;
            }
            profile.save()?;
            Ok(Outcome::none())
        }
    }
}
