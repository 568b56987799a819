//! `role assignment` and `cloudhsm backup / restore` through the real
//! binary, against the real emulator and a real Azurite: the user grants
//! the cluster's identity the blob role, backs up, and restores into a new
//! cluster — and the restored cluster has the source's state.

mod common;

use cloudhsm_e2e_tests::{
    azurite::{self, storage_token, Azurite},
    cluster_path, SUB,
};
use common::Cli;
use reqwest::Method;
use serde_json::json;

const ROLE: &str = "Storage Blob Data Contributor";

fn account_scope() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/{}",
        azurite::ACCOUNT
    )
}

#[tokio::test]
async fn grant_back_up_and_restore_with_the_cli() {
    let cli = Cli::logged_in().await;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    let identity = cli.json(&["identity", "create", "-g", "rg1", "-n", "backup-id"]);
    let principal = identity["properties"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    // The README's way to get it.
    assert_eq!(
        cli.run(&[
            "identity",
            "show",
            "-g",
            "rg1",
            "-n",
            "backup-id",
            "--query",
            "properties.principalId",
            "-o",
            "tsv",
        ])
        .stdout,
        format!("{principal}\n")
    );
    let azurite = Azurite::start(&cli.emulator).await;
    azurite
        .create_container(&storage_token(&cli.emulator, &identity).await, "backups")
        .await;
    let container = azurite.container_uri("backups");

    let source = cli.json(&[
        "cloudhsm",
        "create",
        "-g",
        "rg1",
        "-n",
        "chsm-src",
        "--mi-user-assigned",
        "backup-id",
    ]);
    let target = cli.json(&[
        "cloudhsm",
        "create",
        "-g",
        "rg1",
        "-n",
        "chsm-dst",
        "--mi-user-assigned",
        "backup-id",
    ]);
    cli.emulator.activate(&source, "officer-pass1").await;
    let cluster = |name: &'static str| ["-g", "rg1", "-n", name];
    let blob = ["--blob-container-uri", container.as_str()];

    // Without the role the backup is refused by storage: the job fails, exit 1.
    let run = cli.run(
        &[
            &["cloudhsm", "backup", "start"][..],
            &cluster("chsm-src"),
            &blob,
        ]
        .concat(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.starts_with("ERROR: ("), "{run:?}");

    // Grant the identity the blob role on the storage account.
    let scope = account_scope();
    let assignment = cli.json(&[
        "role",
        "assignment",
        "create",
        "--assignee-object-id",
        &principal,
        "--assignee-principal-type",
        "ServicePrincipal",
        "--role",
        ROLE,
        "--scope",
        &scope,
    ]);
    assert_eq!(assignment["properties"]["principalId"], principal.as_str());
    assert_eq!(assignment["properties"]["scope"], scope.as_str());
    assert_eq!(assignment["roleDefinitionName"], ROLE);
    assert!(assignment["properties"]["roleDefinitionId"]
        .as_str()
        .is_some_and(|d| d.ends_with("/ba92f5b4-2d11-453d-a403-e96b0029c9fe")));
    let listed = cli.json(&[
        "role",
        "assignment",
        "list",
        "--assignee",
        &principal,
        "--all",
    ]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], assignment["id"]);
    assert_eq!(
        cli.json(&[
            "role",
            "assignment",
            "list",
            "--scope",
            &scope,
            "--query",
            "[].name"
        ]),
        json!([assignment["name"]])
    );
    assert_eq!(
        cli.json(&["role", "assignment", "list"]),
        json!([]),
        "none at the subscription's scope or above"
    );
    let table = cli
        .run(&[
            "role",
            "assignment",
            "list",
            "--assignee",
            &principal,
            "--all",
            "-o",
            "table",
        ])
        .stdout;
    assert!(table.starts_with("Principal"), "{table}");
    assert!(
        table.contains(&format!("{principal}  {ROLE}  {scope}")),
        "{table}"
    );
    cli.run(&[
        "role",
        "assignment",
        "create",
        "--assignee",
        &principal,
        "--role",
        "Chief Wizard",
    ])
    .expect_error(1, "Role 'Chief Wizard' doesn't exist");

    // Validate, then back up: the CLI waits for the job and prints its result.
    let validated = cli.json(
        &[
            &["cloudhsm", "backup", "validate"][..],
            &cluster("chsm-src"),
            &blob,
        ]
        .concat(),
    );
    assert_eq!(validated["status"], "Succeeded", "{validated}");
    let backup = cli.json(
        &[
            &["cloudhsm", "backup", "start"][..],
            &cluster("chsm-src"),
            &blob,
        ]
        .concat(),
    );
    assert_eq!(backup["status"], "Succeeded", "{backup}");
    let backup_id = backup["properties"]["backupId"]
        .as_str()
        .expect("backupId")
        .to_string();
    let job_id = backup["properties"]["jobId"]
        .as_str()
        .expect("jobId")
        .to_string();
    let job = cli.json(
        &[
            &["cloudhsm", "backup", "show"][..],
            &cluster("chsm-src"),
            &["--job-id", &job_id],
        ]
        .concat(),
    );
    assert_eq!(job["properties"]["status"], "Succeeded");
    assert_eq!(job["properties"]["backupId"], backup_id.as_str());
    cli.run(
        &[
            &["cloudhsm", "backup", "show"][..],
            &cluster("chsm-src"),
            &["--job-id", "0123456789abcdef0123456789abcdef"],
        ]
        .concat(),
    )
    .expect_error(3, "(OperationNotFound)");

    // Restore into the new cluster: it comes back activated, as the source was.
    assert_eq!(target["properties"]["activationState"], "NotActivated");
    let restore_args = ["--backup-id", backup_id.as_str()];
    let validated = cli.json(
        &[
            &["cloudhsm", "restore", "validate"][..],
            &cluster("chsm-dst"),
            &restore_args,
            &blob,
        ]
        .concat(),
    );
    assert_eq!(validated["status"], "Succeeded", "{validated}");
    let restored = cli.json(
        &[
            &["cloudhsm", "restore", "start"][..],
            &cluster("chsm-dst"),
            &restore_args,
            &blob,
        ]
        .concat(),
    );
    assert_eq!(restored["status"], "Succeeded", "{restored}");
    let job_id = restored["properties"]["jobId"]
        .as_str()
        .expect("jobId")
        .to_string();
    let job = cli.json(
        &[
            &["cloudhsm", "restore", "show"][..],
            &cluster("chsm-dst"),
            &["--job-id", &job_id],
        ]
        .concat(),
    );
    assert_eq!(job["properties"]["status"], "Succeeded");
    let served = cli
        .emulator
        .call(Method::GET, &cluster_path("rg1", "chsm-dst"), None)
        .await
        .body;
    assert_eq!(served["properties"]["activationState"], "Active");
    // The officer's password came with the backup.
    let officer = cli.emulator.hsm_client(&served);
    officer
        .login("CO", "admin", "officer-pass1")
        .await
        .expect("restored officer logs in");

    // An activated cluster cannot be restored into: the service's error, exit 1.
    cli.run(
        &[
            &["cloudhsm", "restore", "start"][..],
            &cluster("chsm-src"),
            &restore_args,
            &blob,
        ]
        .concat(),
    )
    .expect_error(1, "(ClusterAlreadyActivated)");
    // A SAS token is refused by the emulator, and --debug never shows it.
    let run = cli.run(
        &[
            &["cloudhsm", "backup", "validate"][..],
            &cluster("chsm-src"),
            &blob,
            &["--token", "sv=2024-01-01&sig=TopSecretSignature", "--debug"],
        ]
        .concat(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("ERROR: (InvalidParameter)"), "{run:?}");
    assert!(
        run.stderr.contains("'token': '*****'") || run.stderr.contains("\"token\":\"*****\""),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("TopSecretSignature"),
        "SAS leaked: {run:?}"
    );

    // --no-wait starts the job and prints nothing; the job runs on.
    cli.quiet(
        &[
            &["cloudhsm", "backup", "start"][..],
            &cluster("chsm-src"),
            &blob,
            &["--no-wait"],
        ]
        .concat(),
    );

    // Revoke: delete by filter, and nothing is left.
    cli.quiet(&[
        "role",
        "assignment",
        "delete",
        "--assignee",
        &principal,
        "--role",
        ROLE,
        "--scope",
        &scope,
    ]);
    assert_eq!(
        cli.json(&["role", "assignment", "list", "--all"]),
        json!([])
    );
    let run = cli.run(&["role", "assignment", "delete", "--assignee", &principal]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("WARNING: No matched assignments"),
        "{run:?}"
    );
    cli.run(&["role", "assignment", "delete"])
        .expect_error(2, "at least one of");
}

#[tokio::test]
async fn role_assignments_by_id() {
    let cli = Cli::logged_in().await;
    cli.json(&["group", "create", "-n", "rg1", "-l", "eastus2"]);
    let identity = cli.json(&["identity", "create", "-g", "rg1", "-n", "backup-id"]);
    let principal = identity["properties"]["principalId"].as_str().unwrap();
    let group_scope = format!("/subscriptions/{SUB}/resourceGroups/rg1");
    let a = cli.json(&[
        "role",
        "assignment",
        "create",
        "--assignee",
        principal,
        "--role",
        "Reader",
        "--scope",
        &group_scope,
    ]);
    // A role by GUID; the scope defaults to the subscription.
    let b = cli.json(&[
        "role",
        "assignment",
        "create",
        "--assignee",
        principal,
        "--role",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    ]);
    assert_eq!(b["properties"]["scope"], format!("/subscriptions/{SUB}"));
    assert_eq!(b["roleDefinitionName"], ROLE);
    // At the group's scope: its own and the inherited subscription one.
    let ids = cli.json(&[
        "role",
        "assignment",
        "list",
        "--scope",
        &group_scope,
        "--query",
        "sort([].name)",
    ]);
    let mut expected = vec![a["name"].as_str().unwrap(), b["name"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids, json!(expected));
    cli.quiet(&[
        "role",
        "assignment",
        "delete",
        "--ids",
        a["id"].as_str().unwrap(),
        b["id"].as_str().unwrap(),
    ]);
    assert_eq!(
        cli.json(&["role", "assignment", "list", "--all"]),
        json!([])
    );
    // ARM's deletes are idempotent: an assignment already gone is no error.
    cli.quiet(&[
        "role",
        "assignment",
        "delete",
        "--ids",
        a["id"].as_str().unwrap(),
    ]);
}
