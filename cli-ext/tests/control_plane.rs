//! The az-style control-plane commands, end to end: the real `az-cloudhsm`
//! binary against the real emulator. What the CLI claims is checked against
//! the emulator's own answers over HTTP, so a CLI that printed the right
//! thing without doing it would fail.

mod common;

use cloudhsm_e2e_tests::{cluster_path, group_path, identity_id, identity_path};
use common::Cli;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SUB: &str = cloudhsm_e2e_tests::SUB;

#[tokio::test]
async fn login_reads_endpoints_json_and_account_commands_show_the_subscription() {
    let cli = Cli::start().await;

    // Not logged in yet: az's message, exit 1.
    cli.run(&["group", "list"])
        .expect_error(1, "Please run 'az-cloudhsm login'");

    // A wrong secret is refused by the token service and leaves no login behind.
    let endpoints = cli.endpoints_file();
    let endpoints = endpoints.to_str().unwrap();
    cli.run(&["login", "--endpoints", endpoints, "-p", "wrong-secret"])
        .expect_error(1, "(invalid_client) AADSTS7000215");
    cli.run(&["account", "show"])
        .expect_error(1, "Please run 'az-cloudhsm login'");

    // As `az login` does, login prints the subscriptions it found; the
    // well-known secret draws a warning, which --only-show-errors hides.
    let run = cli.run(&["login", "--endpoints", endpoints]);
    let accounts = run.json();
    assert_eq!(accounts.as_array().map(Vec::len), Some(1), "{run:?}");
    assert_eq!(accounts[0]["id"], SUB);
    assert_eq!(accounts[0]["isDefault"], true);
    assert_eq!(accounts[0]["tenantId"], cli.emulator.endpoints.tenant_id);
    assert_eq!(accounts[0]["user"]["type"], "servicePrincipal");
    assert_eq!(
        accounts[0]["user"]["name"],
        cli.emulator.endpoints.client_id
    );
    assert!(run.stderr.starts_with("WARNING: "), "{run:?}");
    let run = cli.run(&[
        "login",
        "--endpoints",
        endpoints,
        "--only-show-errors",
        "-o",
        "none",
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{run:?}"
    );

    // The token is cached in the config folder, readable by the owner only.
    let cache = cli.config_dir().join("cloudhsmEmulatorTokens.json");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&cache).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "token cache is private");
    assert!(!cli.cached_token().is_empty());

    let account = cli.json(&["account", "show"]);
    assert_eq!(account["id"], SUB);
    assert_eq!(account["name"], "Cloud HSM Emulator");
    assert_eq!(account["state"], "Enabled");
    let list = cli.json(&["account", "list"]);
    assert_eq!(list, json!([account]));
    assert_eq!(
        cli.run(&["account", "show", "--query", "id", "-o", "tsv"])
            .stdout,
        format!("{SUB}\n")
    );

    cli.quiet(&["account", "set", "--subscription", SUB]);
    cli.quiet(&["account", "set", "-n", "Cloud HSM Emulator"]);
    cli.run(&[
        "account",
        "set",
        "--subscription",
        "11111111-1111-1111-1111-111111111111",
    ])
    .expect_error(1, "doesn't exist");
    cli.run(&["group", "list", "--subscription", "nope"])
        .expect_error(1, "Subscription 'nope' not found");
    assert_eq!(
        cli.json(&["account", "show"])["id"],
        SUB,
        "default unchanged"
    );

    // The endpoints file may also come from the environment.
    cli.quiet(&["logout"]);
    cli.run(&["account", "show"])
        .expect_error(1, "Please run 'az-cloudhsm login'");
    let mut login = cli.command(&["login", "--only-show-errors", "-o", "none"]);
    login.env("CLOUDHSM_EMULATOR_ENDPOINTS", cli.endpoints_file());
    let run = cli.run_with(login);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(cli.json(&["group", "list"]), json!([]));

    // Or from flags alone, trusting the CA given.
    cli.quiet(&["logout"]);
    let e = &cli.emulator.endpoints;
    let run = cli.run(&[
        "login",
        "--service-principal",
        "-u",
        &e.client_id,
        "-p",
        &e.client_secret,
        "--tenant",
        &e.tenant_id,
        "--resource-manager",
        &e.resource_manager,
        "--authority",
        &e.authority,
        "--ca-certificate",
        e.ca_certificate.as_deref().unwrap(),
        "--only-show-errors",
    ]);
    assert_eq!(run.json()[0]["id"], SUB);
    // Without the CA the emulator's certificate is not trusted.
    cli.quiet(&["logout"]);
    cli.run(&[
        "login",
        "-u",
        &e.client_id,
        "-p",
        &e.client_secret,
        "--tenant",
        &e.tenant_id,
        "--resource-manager",
        &e.resource_manager,
        "--authority",
        &e.authority,
    ])
    .expect_error(1, "certificate");
}

#[tokio::test]
async fn groups_and_identities() {
    let cli = Cli::logged_in().await;
    let e = &cli.emulator;

    let group = cli.json(&[
        "group",
        "create",
        "-n",
        "rg1",
        "-l",
        "East US 2",
        "--tags",
        "env=test",
        "solo",
    ]);
    assert_eq!(group["name"], "rg1");
    assert_eq!(group["location"], "eastus2");
    assert_eq!(group["tags"], json!({"env": "test", "solo": ""}));
    assert_eq!(
        e.call(Method::GET, &group_path("rg1"), None).await.body,
        group
    );
    // az accepts -g for a group's name too.
    assert_eq!(cli.json(&["group", "show", "-g", "rg1"]), group);
    cli.json(&[
        "group",
        "create",
        "--resource-group",
        "rg2",
        "--location",
        "westus",
    ]);
    let names = cli.json(&["group", "list", "--query", "sort([].name)"]);
    assert_eq!(names, json!(["rg1", "rg2"]));
    assert_eq!(cli.json(&["group", "exists", "-n", "rg2"]), json!(true));
    assert_eq!(cli.json(&["group", "exists", "-n", "rg9"]), json!(false));
    cli.run(&["group", "show", "-n", "rg9"])
        .expect_error(3, "(ResourceGroupNotFound)");

    // An identity takes its group's location unless told otherwise.
    let id = cli.json(&["identity", "create", "-g", "rg1", "-n", "backup-id"]);
    assert_eq!(id["location"], "eastus2");
    assert_eq!(id["id"], identity_id("rg1", "backup-id"));
    let principal = id["properties"]["principalId"].as_str().unwrap();
    let served = e
        .call(Method::GET, &identity_path("rg1", "backup-id"), None)
        .await;
    assert_eq!(served.body["properties"]["principalId"], principal);
    assert_eq!(
        cli.json(&["identity", "show", "-g", "rg1", "-n", "backup-id"]),
        served.body
    );
    cli.json(&[
        "identity", "create", "-g", "rg2", "-n", "other", "-l", "eastus2", "--tags", "a=b",
    ]);
    assert_eq!(
        cli.json(&["identity", "list", "-g", "rg1", "--query", "[].name"]),
        json!(["backup-id"])
    );
    assert_eq!(
        cli.json(&["identity", "list", "--query", "sort([].name)"]),
        json!(["backup-id", "other"])
    );
    cli.quiet(&["identity", "delete", "-g", "rg2", "-n", "other"]);
    let gone = e
        .call(Method::GET, &identity_path("rg2", "other"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    cli.run(&["identity", "show", "-g", "rg2", "-n", "other"])
        .expect_error(3, "(ResourceNotFound)");
    cli.run(&["identity", "create", "-g", "rg9", "-n", "x"])
        .expect_error(3, "(ResourceGroupNotFound)");

    // Deleting a group asks first; without a terminal and without --yes it refuses.
    cli.run(&["group", "delete", "-n", "rg2"])
        .expect_error(2, "Use --yes");
    assert_eq!(cli.json(&["group", "exists", "-n", "rg2"]), json!(true));
    cli.quiet(&["group", "delete", "-n", "rg2", "--yes"]);
    assert_eq!(
        e.call(Method::GET, &group_path("rg2"), None).await.status,
        StatusCode::NOT_FOUND
    );
    // --no-wait returns at once; `group wait --deleted` waits for the end.
    cli.quiet(&["group", "delete", "-n", "rg1", "--yes", "--no-wait"]);
    cli.quiet(&["group", "wait", "-n", "rg1", "--deleted", "--interval", "1"]);
    assert_eq!(
        e.call(Method::GET, &group_path("rg1"), None).await.status,
        StatusCode::NOT_FOUND
    );
    // The cascade took the identity with it.
    assert_eq!(
        e.call(Method::GET, &identity_path("rg1", "backup-id"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cluster_lifecycle() {
    let cli = Cli::logged_in().await;
    let e = &cli.emulator;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    let identity = cli.json(&["identity", "create", "-g", "rg1", "-n", "backup-id"]);

    // Create waits for provisioning and prints the cluster; no progress
    // output when stderr is not a terminal.
    let run = cli.run(&chsm1(
        "create",
        &[
            "--sku",
            "Standard_B1",
            "--tags",
            "Dept=hsm",
            "env=test",
            "--domain-name-label-scope",
            "SubscriptionReuse",
            "--mi-user-assigned",
            "backup-id",
        ],
    ));
    assert_eq!(run.stderr, "", "{run:?}");
    let cluster = run.json();
    assert_eq!(cluster["name"], "chsm1");
    assert_eq!(
        cluster["location"], "eastus2",
        "the group's location by default"
    );
    assert_eq!(
        cluster["sku"],
        json!({"family": "B", "name": "Standard_B1"})
    );
    assert_eq!(cluster["tags"], json!({"Dept": "hsm", "env": "test"}));
    let p = &cluster["properties"];
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(p["activationState"], "NotActivated");
    assert_eq!(p["autoGeneratedDomainNameLabelScope"], "SubscriptionReuse");
    assert_eq!(p["hsms"].as_array().map(Vec::len), Some(3));
    assert_eq!(cluster["identity"]["type"], "UserAssigned");
    let assigned = &cluster["identity"]["userAssignedIdentities"][identity["id"].as_str().unwrap()];
    assert_eq!(
        assigned["principalId"],
        identity["properties"]["principalId"]
    );
    let served = e
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await
        .body;
    assert_eq!(served, cluster);

    assert_eq!(cli.json(&chsm1("show", &[])), served);
    let fqdns = cli.json(&chsm1("show", &["--query", "properties.hsms[].fqdn"]));
    assert_eq!(
        fqdns,
        json!(served["properties"]["hsms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["fqdn"].clone())
            .collect::<Vec<_>>())
    );

    // A second cluster, default SKU, explicit location, identity by id.
    cli.json(&["group", "create", "-n", "rg2", "-l", "eastus2"]);
    let second = cli.json(&[
        "cloudhsm",
        "create",
        "-g",
        "rg2",
        "-n",
        "chsm2",
        "-l",
        "eastus2",
        "--mi-user-assigned",
        identity["id"].as_str().unwrap(),
    ]);
    assert_eq!(second["sku"]["name"], "Standard_B1");
    assert_eq!(
        cli.json(&["cloudhsm", "list", "--query", "sort([].name)"]),
        json!(["chsm1", "chsm2"])
    );
    assert_eq!(
        cli.json(&["cloudhsm", "list", "-g", "rg2", "--query", "[].id"]),
        json!([second["id"]])
    );

    // Update: PATCH, followed to its end.
    let updated = cli.json(&chsm1("update", &["--tags", "Dept=security"]));
    assert_eq!(updated["tags"], json!({"Dept": "security"}));
    let served = e
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await
        .body;
    assert_eq!(served["tags"], json!({"Dept": "security"}));
    assert_eq!(served["properties"]["provisioningState"], "Succeeded");
    cli.run(&chsm1("update", &[]))
        .expect_error(2, "nothing to update");

    // Delete asks first, then removes the cluster.
    cli.run(&["cloudhsm", "delete", "-g", "rg2", "-n", "chsm2"])
        .expect_error(2, "Use --yes");
    assert_eq!(
        e.call(Method::GET, &cluster_path("rg2", "chsm2"), None)
            .await
            .status,
        StatusCode::OK
    );
    cli.quiet(&["cloudhsm", "delete", "-g", "rg2", "-n", "chsm2", "--yes"]);
    assert_eq!(
        e.call(Method::GET, &cluster_path("rg2", "chsm2"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    cli.run(&["cloudhsm", "show", "-g", "rg2", "-n", "chsm2"])
        .expect_error(3, "(ResourceNotFound)");
}

#[tokio::test]
async fn no_wait_returns_at_once_and_wait_waits() {
    // Slow provisioning, so "not finished yet" is observable.
    let cli = Cli::start_with(&["--provisioning-delay", "3s"]).await;
    cli.login();
    let e = &cli.emulator;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);

    cli.quiet(&chsm1("create", &["--no-wait"]));
    let state = e
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await
        .body;
    assert_ne!(
        state["properties"]["provisioningState"], "Succeeded",
        "{state}"
    );

    // A condition that cannot come true ends in az's timeout error.
    cli.run(&chsm1(
        "wait",
        &["--deleted", "--interval", "1", "--timeout", "1"],
    ))
    .expect_error(1, "Wait operation timed-out after 1 seconds");
    cli.quiet(&chsm1("wait", &["--created", "--interval", "1"]));
    let state = e
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await
        .body;
    assert_eq!(state["properties"]["provisioningState"], "Succeeded");
    cli.quiet(&chsm1(
        "wait",
        &[
            "--custom",
            "properties.activationState=='NotActivated'",
            "--interval",
            "1",
        ],
    ));
    cli.quiet(&chsm1("wait", &["--exists", "--interval", "1"]));
    // Exactly one condition.
    cli.run(&chsm1("wait", &[])).expect_error(2, "required");
    cli.run(&chsm1("wait", &["--created", "--deleted"]))
        .expect_error(2, "cannot be used with");

    cli.quiet(&chsm1("update", &["--tags", "a=b", "--no-wait"]));
    cli.quiet(&chsm1("wait", &["--updated", "--interval", "1"]));
    let state = e
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await
        .body;
    assert_eq!(state["tags"], json!({"a": "b"}));
    assert_eq!(state["properties"]["provisioningState"], "Succeeded");

    cli.quiet(&chsm1("delete", &["--yes", "--no-wait"]));
    let during = e
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await;
    assert_eq!(
        during.status,
        StatusCode::OK,
        "deletion takes the provisioning delay"
    );
    cli.quiet(&chsm1("wait", &["--deleted", "--interval", "1"]));
    assert_eq!(
        e.call(Method::GET, &cluster_path("rg1", "chsm1"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// One cluster in a known state, for the output tests.
async fn one_cluster() -> Cli {
    let cli = Cli::logged_in().await;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    cli.json(&chsm1("create", &["--tags", "Dept=hsm"]));
    cli.json(&[
        "cloudhsm", "create", "-g", "rg1", "-n", "chsm2", "--tags", "Dept=ops",
    ]);
    cli
}

#[tokio::test]
async fn output_formats_and_queries() {
    let cli = one_cluster().await;

    // Table: the columns an operator wants, in a stable layout.
    let run = cli.run(&["cloudhsm", "list", "-g", "rg1", "-o", "table"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "Name   ResourceGroup  Location  Sku          ProvisioningState  ActivationState\n\
         -----  -------------  --------  -----------  -----------------  ---------------\n\
         chsm1  rg1            eastus2   Standard_B1  Succeeded          NotActivated\n\
         chsm2  rg1            eastus2   Standard_B1  Succeeded          NotActivated\n"
    );
    // The same layout for one cluster; AZURE_CORE_OUTPUT sets the default format.
    let mut show = cli.command(&["cloudhsm", "show", "-g", "rg1", "-n", "chsm2"]);
    show.env("AZURE_CORE_OUTPUT", "table");
    assert_eq!(
        cli.run_with(show).stdout,
        "Name   ResourceGroup  Location  Sku          ProvisioningState  ActivationState\n\
         -----  -------------  --------  -----------  -----------------  ---------------\n\
         chsm2  rg1            eastus2   Standard_B1  Succeeded          NotActivated\n"
    );
    assert_eq!(
        cli.run(&["group", "list", "-o", "table"]).stdout,
        "Name  Location  Status\n----  --------  ---------\nrg1   eastus2   Succeeded\n"
    );
    // With --query, the table shows what the query returned.
    assert_eq!(
        cli.run(&[
            "cloudhsm",
            "list",
            "--query",
            "[].{Cluster: name, Dept: tags.Dept}",
            "-o",
            "table"
        ])
        .stdout,
        "Cluster  Dept\n-------  ----\nchsm1    hsm\nchsm2    ops\n"
    );

    // JMESPath: filters, projections, functions.
    assert_eq!(
        cli.json(&["cloudhsm", "list", "--query", "[?tags.Dept=='ops'].name"]),
        json!(["chsm2"])
    );
    assert_eq!(
        cli.json(&[
            "cloudhsm",
            "list",
            "--query",
            "length([?properties.provisioningState=='Succeeded'])"
        ]),
        json!(2)
    );
    // TSV: plain values, one line per item; scripts use it.
    assert_eq!(
        cli.run(&[
            "cloudhsm",
            "list",
            "--query",
            "[].[name, location]",
            "-o",
            "tsv"
        ])
        .stdout,
        "chsm1\teastus2\nchsm2\teastus2\n"
    );
    let id = cli
        .run(&chsm1("show", &["--query", "id", "-o", "tsv"]))
        .stdout;
    assert!(id.ends_with("/cloudHsmClusters/chsm1\n"), "{id}");

    // YAML and JSONC carry the same data as JSON.
    let json = cli.json(&chsm1("show", &[]));
    let yaml = cli.run(&chsm1("show", &["-o", "yaml"]));
    let parsed: Value = serde_yaml_ng::from_str(&yaml.stdout).expect("YAML");
    assert_eq!(parsed, json);
    let jsonc = cli.run(&chsm1("show", &["-o", "jsonc"])).stdout;
    assert!(jsonc.contains("\x1b["), "coloured");
    let stripped = strip_ansi(&jsonc);
    assert_eq!(
        serde_json::from_str::<Value>(&stripped).expect("JSON under the colours"),
        json
    );
    // none: nothing at all.
    let none = cli.run(&chsm1("show", &["-o", "none"]));
    assert_eq!((none.code, none.stdout.as_str()), (0, ""));
}

/// `cloudhsm <command> -g rg1 -n chsm1 <rest>`: most commands here act on
/// the one cluster the tests create.
fn chsm1<'a>(command: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["cloudhsm", command, "-g", "rg1", "-n", "chsm1"];
    args.extend_from_slice(rest);
    args
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_changes_nothing() {
    let cli = Cli::logged_in().await;
    let e = &cli.emulator;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    let clusters = || async {
        e.call(
            Method::GET,
            &format!("/subscriptions/{SUB}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters?api-version=2025-03-31"),
            None,
        )
        .await
        .body["value"]
            .clone()
    };

    // Usage errors: exit 2, az's ERROR line, nothing sent.
    let usage: &[(&[&str], &str)] = &[
        (
            &chsm1("create", &["--bogus"]),
            "unexpected argument '--bogus'",
        ),
        (
            &chsm1("create", &["--sku", "Standard_B2"]),
            "invalid value 'Standard_B2' for '--sku",
        ),
        (
            &chsm1("create", &["--domain-name-label-scope", "Global"]),
            "invalid value 'Global'",
        ),
        (&["cloudhsm", "create", "-n", "chsm1"], "--resource-group"),
        (&chsm1("create", &["--tags", "=x"]), "invalid tag '=x'"),
        (
            &chsm1("create", &["--query", "[?"]),
            "invalid jmespath query",
        ),
        (&chsm1("create", &["-o", "xml"]), "invalid value 'xml'"),
        (
            &["cloudhsm", "frobnicate"],
            "unrecognized subcommand 'frobnicate'",
        ),
    ];
    for (args, message) in usage {
        cli.run(args).expect_error(2, message);
    }
    // Service errors: exit 1 with the service's code and message.
    cli.run(&chsm1("create", &["-l", "atlantis"]))
        .expect_error(1, "(LocationNotAvailableForResourceType)");
    cli.run(&["cloudhsm", "create", "-g", "rg1", "-n", "bad_name!"])
        .expect_error(1, "(InvalidResourceName)");
    cli.run(&chsm1("create", &["--mi-user-assigned", "missing-id"]))
        .expect_error(1, "(FailedIdentityOperation)");
    // Not found: exit 3.
    cli.run(&["cloudhsm", "create", "-g", "rg9", "-n", "chsm1"])
        .expect_error(3, "(ResourceGroupNotFound)");
    assert_eq!(clusters().await, json!([]), "nothing was created");

    // az-style usage text for a group without a command: help, exit 0.
    let run = cli.run(&["cloudhsm"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("Usage: az-cloudhsm cloudhsm"),
        "{run:?}"
    );
}

/// Every group and command has --help, with examples.
#[tokio::test]
async fn help_on_every_group_and_command() {
    let cli = Cli::start().await;
    let commands: &[&str] = &[
        "",
        "login",
        "logout",
        "account",
        "account show",
        "account list",
        "account set",
        "group",
        "group create",
        "group show",
        "group list",
        "group exists",
        "group delete",
        "group wait",
        "identity",
        "identity create",
        "identity show",
        "identity list",
        "identity delete",
        "deployment",
        "deployment group",
        "deployment group create",
        "deployment group show",
        "deployment group list",
        "deployment group delete",
        "deployment sub",
        "deployment sub create",
        "deployment sub show",
        "deployment sub list",
        "cloudhsm",
        "cloudhsm create",
        "cloudhsm show",
        "cloudhsm list",
        "cloudhsm update",
        "cloudhsm delete",
        "cloudhsm wait",
        "cloudhsm backup",
        "cloudhsm backup start",
        "cloudhsm backup show",
        "cloudhsm backup validate",
        "cloudhsm restore",
        "cloudhsm restore start",
        "cloudhsm restore show",
        "cloudhsm restore validate",
        "cloudhsm private-link-resource",
        "cloudhsm private-link-resource list",
        "cloudhsm private-endpoint-connection",
        "cloudhsm private-endpoint-connection list",
        "cloudhsm private-endpoint-connection show",
        "cloudhsm private-endpoint-connection approve",
        "cloudhsm private-endpoint-connection reject",
        "cloudhsm private-endpoint-connection delete",
        "role",
        "role assignment",
        "role assignment create",
        "role assignment list",
        "role assignment delete",
        "emulator",
        "emulator fault",
        "emulator fault show",
        "emulator fault hsm-node",
        "emulator fault operation",
        "emulator fault operation add",
        "emulator fault operation list",
        "emulator fault operation clear",
        "emulator fault data-plane",
        "emulator fault data-plane start",
        "emulator fault data-plane stop",
        "emulator fault event-hubs",
        "emulator fault event-hubs pause",
        "emulator fault event-hubs resume",
    ];
    for command in commands {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--help");
        let run = cli.run(&args);
        assert_eq!(run.code, 0, "{command}: {run:?}");
        assert!(
            run.stdout
                .contains(format!("Usage: az-cloudhsm {command}").trim_end()),
            "{command}: {run:?}"
        );
        assert!(
            run.stdout.contains("Examples:\n  "),
            "{command} has examples: {run:?}"
        );
        assert!(
            run.stdout.contains("--output"),
            "{command} lists the global flags"
        );
        assert!(
            !run.stdout.contains("Print this message or the help"),
            "no `help` subcommand, as in az: {run:?}"
        );
        // Every example invokes this very command.
        let examples = run.stdout.split("Examples:").nth(1).unwrap_or_default();
        assert!(
            examples.contains(&format!("az-cloudhsm {command}").trim_end().to_string()),
            "{command}: examples show another command: {examples}"
        );
    }
}

#[tokio::test]
async fn debug_shows_requests_without_secrets() {
    let cli = Cli::start().await;
    let endpoints = cli.endpoints_file();
    let run = cli.run(&[
        "login",
        "--endpoints",
        endpoints.to_str().unwrap(),
        "--debug",
        "-o",
        "none",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let token = cli.cached_token();
    let secret = cli.emulator.endpoints.client_secret.clone();
    assert!(run.stderr.contains("/oauth2/v2.0/token'"), "{run:?}");
    assert!(
        run.stderr.contains("'access_token': '*****'")
            || run.stderr.contains("\"access_token\":\"*****\""),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains(&secret),
        "client secret leaked: {run:?}"
    );
    assert!(!run.stderr.contains(&token), "token leaked: {run:?}");

    let run = cli.run(&["group", "create", "-n", "rg1", "-l", "eastus2", "--debug"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("Request method: 'PUT'"), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg1?api-version=2025-04-01'"
        )),
        "{run:?}"
    );
    assert!(run.stderr.contains("'authorization': '*****'"), "{run:?}");
    assert!(
        run.stderr.contains("Response status: 201") || run.stderr.contains("Response status: 200"),
        "{run:?}"
    );
    assert!(!run.stderr.contains(&token), "token leaked: {run:?}");
    assert!(!run.stderr.contains("Bearer "), "{run:?}");
    // stdout still has just the result.
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap()["name"],
        "rg1"
    );

    // --verbose adds timing only; without it stderr stays empty.
    let run = cli.run(&["group", "show", "-n", "rg1", "--verbose"]);
    assert!(run.stderr.starts_with("INFO: Command ran in "), "{run:?}");
    let run = cli.run(&["group", "show", "-n", "rg1"]);
    assert_eq!(run.stderr, "");
}

/// On a terminal, a long-running command shows az's spinner on stderr.
#[tokio::test]
async fn progress_shows_on_a_terminal() {
    let cli = Cli::start_with(&["--provisioning-delay", "2s"]).await;
    cli.login();
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    let (ok, seen) = on_terminal(&cli, "cloudhsm create -g rg1 -n chsm1 -o none", "");
    assert!(ok, "{seen}");
    assert!(seen.contains("Running .."), "no spinner: {seen:?}");
    let state = cli
        .emulator
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await
        .body;
    assert_eq!(state["properties"]["provisioningState"], "Succeeded");
}

/// Runs the CLI on a pseudo-terminal (`script`), typing `input`; returns
/// exit success and everything the terminal showed.
fn on_terminal(cli: &Cli, args: &str, input: &str) -> (bool, String) {
    use std::io::Write;
    let bin = env!("CARGO_BIN_EXE_az-cloudhsm");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .env("AZURE_CONFIG_DIR", cli.config_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running script");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("typing");
    let output = child.wait_with_output().expect("script output");
    drop(stdin);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// On a terminal, deletes ask first, as az does: "n" keeps the cluster.
#[tokio::test]
async fn delete_asks_on_a_terminal() {
    let cli = Cli::logged_in().await;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    cli.json(&chsm1("create", &[]));
    let (ok, seen) = on_terminal(&cli, "cloudhsm delete -g rg1 -n chsm1", "n\n");
    assert!(!ok, "{seen}");
    assert!(
        seen.contains("Are you sure you want to perform this operation? (y/n)"),
        "{seen}"
    );
    assert!(seen.contains("ERROR: Operation cancelled."), "{seen}");
    let kept = cli
        .emulator
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await;
    assert_eq!(kept.status, StatusCode::OK);
    let (ok, seen) = on_terminal(&cli, "cloudhsm delete -g rg1 -n chsm1", "y\n");
    assert!(ok, "{seen}");
    let gone = cli
        .emulator
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

/// The README's walkthrough, command for command (keep them in step).
#[tokio::test]
async fn readme_walkthrough() {
    let cli = Cli::start().await;
    // `login` with no flags reads ./.cloudhsm-emulator/endpoints.json, where
    // the emulator writes it by default: run from a folder that has one.
    let cwd = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        cli.emulator.data_dir(),
        cwd.path().join(".cloudhsm-emulator"),
    )
    .unwrap();
    let step = |args: &[&str]| {
        let mut command = cli.command(args);
        command.current_dir(cwd.path());
        let run = cli.run_with(command);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        run.stdout
    };

    let accounts: Value = serde_json::from_str(&step(&["login"])).unwrap();
    assert_eq!(accounts[0]["id"], SUB);
    let table = step(&["account", "show", "-o", "table"]);
    assert!(
        table.starts_with("Name                CloudName         SubscriptionId"),
        "{table}"
    );
    step(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    step(&["identity", "create", "-g", "rg1", "-n", "backup-id"]);
    let cluster: Value = serde_json::from_str(&step(&chsm1(
        "create",
        &["--mi-user-assigned", "backup-id", "--tags", "Dept=hsm"],
    )))
    .unwrap();
    assert_eq!(cluster["properties"]["provisioningState"], "Succeeded");
    assert!(step(&["cloudhsm", "list", "-o", "table"])
        .contains("chsm1  rg1            eastus2   Standard_B1  Succeeded          NotActivated"));
    let fqdns = step(&chsm1(
        "show",
        &["--query", "properties.hsms[].fqdn", "-o", "tsv"],
    ));
    assert_eq!(fqdns.lines().count(), 3, "{fqdns}");
    assert!(fqdns.starts_with("hsm1.chsm1-"), "{fqdns}");
    let tags = step(&chsm1(
        "update",
        &["--tags", "Dept=security", "--query", "tags"],
    ));
    assert_eq!(
        serde_json::from_str::<Value>(&tags).unwrap(),
        json!({"Dept": "security"})
    );
    assert_eq!(
        step(&[
            "cloudhsm",
            "create",
            "-g",
            "rg1",
            "-n",
            "chsm2",
            "--no-wait"
        ]),
        ""
    );
    step(&[
        "cloudhsm",
        "wait",
        "-g",
        "rg1",
        "-n",
        "chsm2",
        "--created",
        "--interval",
        "1",
    ]);
    step(&["cloudhsm", "delete", "-g", "rg1", "-n", "chsm2", "--yes"]);
    let names = step(&["cloudhsm", "list", "--query", "[].name", "-o", "tsv"]);
    assert_eq!(names, "chsm1\n");
}

/// Tokens are reused while valid, renewed with the stored service principal
/// when they expire, and renewed once when the emulator rejects one.
#[tokio::test]
async fn tokens_are_cached_and_renewed() {
    let cli = Cli::logged_in().await;
    let cache = cli.config_dir().join("cloudhsmEmulatorTokens.json");
    let read =
        || -> Value { serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap() };
    let first = read();
    assert_eq!(cli.json(&["group", "list"]), json!([]));
    assert_eq!(read(), first, "a valid token is reused");

    // Expired: renewed without a new login.
    std::fs::write(
        &cache,
        json!({"accessToken": first["accessToken"], "expiresOn": 0}).to_string(),
    )
    .unwrap();
    assert_eq!(cli.json(&["group", "list"]), json!([]));
    assert!(
        read()["expiresOn"].as_u64().unwrap() > 1_000_000_000,
        "renewed: {}",
        read()
    );

    // Not accepted by the emulator (say, its data dir was reset): renewed once.
    std::fs::write(
        &cache,
        json!({"accessToken": "not-a-token", "expiresOn": 9_999_999_999u64}).to_string(),
    )
    .unwrap();
    assert_eq!(
        cli.json(&["group", "list", "--subscription", SUB]),
        json!([])
    );
    assert_ne!(read()["accessToken"], "not-a-token");
}

/// Lists follow `nextLink` to the end: every page, in order.
#[tokio::test]
async fn lists_follow_next_links() {
    let cli = Cli::start_with(&["--provisioning-delay", "200ms", "--page-size", "1"]).await;
    cli.login();
    for group in ["rg1", "rg2", "rg3"] {
        cli.json(&["group", "create", "-n", group, "-l", "eastus2"]);
    }
    // The server really pages (one item and a nextLink)...
    let page = cli
        .emulator
        .call(
            Method::GET,
            &format!("/subscriptions/{SUB}/resourcegroups?api-version=2025-04-01"),
            None,
        )
        .await
        .body;
    assert_eq!(page["value"].as_array().map(Vec::len), Some(1), "{page}");
    assert!(page["nextLink"].is_string(), "{page}");
    // ...and the CLI shows every item.
    assert_eq!(
        cli.json(&["group", "list", "--query", "sort([].name)"]),
        json!(["rg1", "rg2", "rg3"])
    );
    cli.json(&chsm1("create", &[]));
    cli.json(&["cloudhsm", "create", "-g", "rg2", "-n", "chsm2"]);
    assert_eq!(
        cli.json(&["cloudhsm", "list", "--query", "sort([].name)"]),
        json!(["chsm1", "chsm2"])
    );
}

#[tokio::test]
async fn emulator_fault_commands_switch_faults_on_and_off() {
    const CLUSTERS: &str = "Microsoft.HardwareSecurityModules/cloudHsmClusters";
    let cli = Cli::logged_in().await;
    let e = &cli.emulator;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    cli.json(&chsm1("create", &[]));

    // The next update fails with the rule's error, which the CLI prints.
    let rule = cli.json(&[
        "emulator",
        "fault",
        "operation",
        "add",
        "--resource-type",
        CLUSTERS,
        "--operation",
        "update",
        "--error-code",
        "InjectedError",
        "--error-message",
        "Injected by the CLI test",
        "--error-status",
        "409",
    ]);
    assert_eq!(rule["remaining"], 1);
    let listed = cli.json(&["emulator", "fault", "operation", "list"]);
    assert_eq!(listed[0]["id"], rule["id"]);
    let failed = cli.run(&chsm1("update", &["--tags", "a=b"]));
    failed.expect_error(1, "Injected by the CLI test");
    assert!(failed.stderr.contains("InjectedError"), "{failed:?}");
    let shown = e.fault(Method::GET, "", None).await;
    assert_eq!(shown.body["operations"], json!([]), "the rule is used up");
    cli.json(&[
        "emulator",
        "fault",
        "operation",
        "add",
        "--resource-type",
        CLUSTERS,
        "--duration",
        "30s",
    ]);
    cli.quiet(&["emulator", "fault", "operation", "clear"]);
    assert_eq!(
        e.fault(Method::GET, "/operations", None).await.body["value"],
        json!([])
    );

    // An HSM node down and back, as ARM shows it.
    let nodes = cli.json(&[
        "emulator", "fault", "hsm-node", "-g", "rg1", "-n", "chsm1", "--node", "1", "--action",
        "stop",
    ]);
    assert_eq!(nodes["nodes"][1], json!({"node": 1, "up": false}));
    let arm = e
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await;
    assert_eq!(arm.body["properties"]["hsms"][1]["state"], "Failed");
    cli.json(&[
        "emulator", "fault", "hsm-node", "-g", "rg1", "-n", "chsm1", "--node", "1", "--action",
        "start",
    ]);
    let arm = e
        .call(Method::GET, &cluster_path("rg1", "chsm1"), None)
        .await;
    assert_eq!(arm.body["properties"]["hsms"][1]["state"], "Active");

    // A data-plane outage and a broker pause, on and off.
    let outage = cli.json(&[
        "emulator",
        "fault",
        "data-plane",
        "start",
        "--mode",
        "drop",
        "--duration",
        "30s",
    ]);
    assert_eq!(outage["mode"], "drop");
    assert_eq!(
        e.fault(Method::GET, "", None).await.body["dataPlane"]["mode"],
        "drop"
    );
    cli.quiet(&["emulator", "fault", "data-plane", "stop"]);
    let paused = cli.json(&[
        "emulator",
        "fault",
        "event-hubs",
        "pause",
        "--duration",
        "30s",
    ]);
    assert_eq!(paused["paused"], true);
    cli.quiet(&["emulator", "fault", "event-hubs", "resume"]);
    let all = cli.json(&["emulator", "fault", "show"]);
    assert_eq!(
        all,
        json!({"operations": [], "dataPlane": null, "eventHubs": {"paused": false}})
    );

    // Bad values get the emulator's ARM errors; nothing is switched on.
    cli.run(&[
        "emulator",
        "fault",
        "data-plane",
        "start",
        "--mode",
        "drop",
        "--duration",
        "forever",
    ])
    .expect_error(1, "InvalidParameter");
    cli.run(&[
        "emulator", "fault", "hsm-node", "-g", "rg1", "-n", "nope", "--node", "0", "--action",
        "stop",
    ])
    .expect_error(3, "ResourceNotFound");
    assert_eq!(
        e.fault(Method::GET, "", None).await.body["dataPlane"],
        Value::Null
    );
}
