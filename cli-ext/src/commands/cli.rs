//! The command tree, its flags and its help (with examples), as the Azure
//! CLI lays them out. Parsing only: the handlers live in the modules named
//! after each group.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::{
    lro::{WaitArgs, WaitTiming},
    output::OutputFormat,
};

#[derive(Debug, Parser)]
#[command(
    name = "az-cloudhsm",
    about = "Manage the Cloud HSM emulator's resources the way the Azure CLI manages Azure's.",
    after_help = "Examples:\n  Log in with the emulator's well-known service principal (reads .cloudhsm-emulator/endpoints.json)\n    az-cloudhsm login\n\n  Create a cluster\n    az-cloudhsm group create -n rg1 -l eastus2\n    az-cloudhsm cloudhsm create -g rg1 -n chsm1 -l eastus2\n\n  List clusters as a table\n    az-cloudhsm cloudhsm list -o table",
    arg_required_else_help = true,
    disable_version_flag = true,
    // az has `--help` on everything and no `help` command.
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: json, jsonc, table, tsv, yaml, yamlc or none.
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// JMESPath query string. See http://jmespath.org/ for more information and examples.
    #[arg(long, global = true)]
    pub query: Option<String>,
    /// Name or ID of subscription.
    #[arg(long, global = true)]
    pub subscription: Option<String>,
    /// Only show errors, suppressing warnings.
    #[arg(long, global = true)]
    pub only_show_errors: bool,
    /// Increase logging verbosity.
    #[arg(long, global = true)]
    pub verbose: bool,
    /// Increase logging verbosity to show all debug logs (HTTP requests and
    /// responses, secrets masked).
    #[arg(long, global = true)]
    pub debug: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to the emulator with a service principal.
    #[command(
        after_help = "Examples:\n  Log in with the well-known service principal from the emulator's endpoints.json\n    az-cloudhsm login --endpoints .cloudhsm-emulator/endpoints.json\n\n  Log in with explicit credentials\n    az-cloudhsm login --service-principal -u <client-id> -p <secret> --tenant <tenant-id>"
    )]
    Login(LoginArgs),
    /// Log out: forget the stored service principal and tokens.
    #[command(after_help = "Examples:\n  Log out\n    az-cloudhsm logout")]
    Logout,
    /// Manage the subscription the CLI uses.
    #[command(
        subcommand,
        after_help = "Examples:\n  Show the current subscription\n    az-cloudhsm account show"
    )]
    Account(AccountCommand),
    /// Manage resource groups.
    #[command(
        subcommand,
        after_help = "Examples:\n  Create a resource group\n    az-cloudhsm group create -n rg1 -l eastus2"
    )]
    Group(GroupCommand),
    /// Manage user-assigned managed identities.
    #[command(
        subcommand,
        after_help = "Examples:\n  Create an identity for backups\n    az-cloudhsm identity create -g rg1 -n backup-id"
    )]
    Identity(IdentityCommand),
    /// Manage Cloud HSM clusters.
    #[command(
        subcommand,
        after_help = "Examples:\n  Create a cluster and wait for it\n    az-cloudhsm cloudhsm create -g rg1 -n chsm1 -l eastus2 --sku Standard_B1\n\n  Show the cluster's HSM addresses\n    az-cloudhsm cloudhsm show -g rg1 -n chsm1 --query \"properties.hsms[].fqdn\""
    )]
    Cloudhsm(CloudHsmCommand),
    /// Manage role assignments.
    #[command(
        subcommand,
        after_help = "Examples:\n  Let an identity write backups to a storage account\n    az-cloudhsm role assignment create --assignee-object-id <principal-id> --role \"Storage Blob Data Contributor\" --scope <storage-account-id>"
    )]
    Role(RoleCommand),
    /// Deploy ARM templates and Bicep files.
    #[command(
        subcommand,
        after_help = "Examples:\n  Deploy a Bicep file to a group\n    az-cloudhsm deployment group create -g rg1 --template-file main.bicep -p clusterName=chsm1"
    )]
    Deployment(DeploymentCommand),
    /// The emulator's own admin surface (needs the well-known principal's login).
    #[command(
        subcommand,
        after_help = "Examples:\n  Make the next cluster create fail\n    az-cloudhsm emulator fault operation add --resource-type Microsoft.HardwareSecurityModules/cloudHsmClusters --operation create --error-code InternalServerError --error-message \"Injected\"\n\n  Show every fault that is on\n    az-cloudhsm emulator fault show"
    )]
    Emulator(EmulatorCommand),
}

#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Switch faults on and off to test retries (`/emulator/faults`).
    #[command(
        subcommand,
        after_help = "Examples:\n  Stop HSM node 0 of a cluster\n    az-cloudhsm emulator fault hsm-node -g rg1 -n chsm1 --node 0 --action stop\n\n  Make every HSM answer 503 for 10 seconds\n    az-cloudhsm emulator fault data-plane start --mode unavailable --duration 10s"
    )]
    Fault(FaultCommand),
}

#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// Show every fault that is on.
    #[command(after_help = "Examples:\n  Show the faults\n    az-cloudhsm emulator fault show")]
    Show,
    /// Stop, start or replace an HSM node of a cluster.
    #[command(
        name = "hsm-node",
        after_help = "Examples:\n  Stop node 0\n    az-cloudhsm emulator fault hsm-node -g rg1 -n chsm1 --node 0 --action stop\n\n  Replace node 1 after it has been down for 5 seconds\n    az-cloudhsm emulator fault hsm-node --cluster-id <cluster id> --node 1 --action replace --down-for 5s"
    )]
    HsmNode {
        /// The cluster's resource id (or give -g and -n).
        #[arg(long, conflicts_with_all = ["resource_group", "name"])]
        cluster_id: Option<String>,
        /// Resource group of the cluster.
        #[arg(short = 'g', long, requires = "name")]
        resource_group: Option<String>,
        /// Name of the cluster.
        #[arg(short = 'n', long, requires = "resource_group")]
        name: Option<String>,
        /// The HSM node (0, 1 or 2).
        #[arg(long)]
        node: usize,
        /// What happens to it.
        #[arg(long, value_parser = ["stop", "start", "replace"])]
        action: String,
        /// With `replace`: how long the node is down before its replacement answers.
        #[arg(long)]
        down_for: Option<String>,
    },
    /// Make a resource type's next long-running operations fail or take longer.
    #[command(
        subcommand,
        after_help = "Examples:\n  Fail the next cluster create\n    az-cloudhsm emulator fault operation add --resource-type Microsoft.HardwareSecurityModules/cloudHsmClusters --operation create --error-code InternalServerError --error-message \"Injected\"\n\n  List the rules\n    az-cloudhsm emulator fault operation list"
    )]
    Operation(FaultOperationCommand),
    /// Make every HSM answer 503, or drop its connections, for a while.
    #[command(
        subcommand,
        name = "data-plane",
        after_help = "Examples:\n  Every HSM answers 503 for 10 seconds\n    az-cloudhsm emulator fault data-plane start --mode unavailable --duration 10s"
    )]
    DataPlane(FaultDataPlaneCommand),
    /// Pause and resume the Event Hubs broker.
    #[command(
        subcommand,
        name = "event-hubs",
        after_help = "Examples:\n  Pause the broker until resumed\n    az-cloudhsm emulator fault event-hubs pause"
    )]
    EventHubs(FaultEventHubsCommand),
}

#[derive(Debug, Subcommand)]
pub enum FaultOperationCommand {
    /// Add a rule for the next operations of a resource type.
    #[command(
        after_help = "Examples:\n  The next two cluster deletes fail with a conflict\n    az-cloudhsm emulator fault operation add --resource-type Microsoft.HardwareSecurityModules/cloudHsmClusters --operation delete --count 2 --error-code Conflict --error-message \"Injected\" --error-status 409\n\n  The next cluster create takes 30 seconds\n    az-cloudhsm emulator fault operation add --resource-type Microsoft.HardwareSecurityModules/cloudHsmClusters --operation create --duration 30s"
    )]
    Add {
        /// Microsoft.HardwareSecurityModules/cloudHsmClusters, .../cloudHsmClusters/privateEndpointConnections or Microsoft.Resources/resourceGroups.
        #[arg(long)]
        resource_type: String,
        /// create, update or delete (default: any).
        #[arg(long)]
        operation: Option<String>,
        /// How many operations the rule applies to (default 1).
        #[arg(long)]
        count: Option<u32>,
        /// The ARM error code the operations fail with.
        #[arg(long, requires = "error_message")]
        error_code: Option<String>,
        /// The error's message.
        #[arg(long, requires = "error_code")]
        error_message: Option<String>,
        /// The HTTP status a failed operation's Location answers (default 500).
        #[arg(long, requires = "error_code")]
        error_status: Option<u16>,
        /// How long each operation takes (e.g. 30s).
        #[arg(long)]
        duration: Option<String>,
    },
    /// List the rules.
    #[command(
        after_help = "Examples:\n  List the rules\n    az-cloudhsm emulator fault operation list -o table"
    )]
    List,
    /// Remove one rule, or all.
    #[command(
        after_help = "Examples:\n  Remove every rule\n    az-cloudhsm emulator fault operation clear"
    )]
    Clear {
        /// The rule to remove (default: all).
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FaultDataPlaneCommand {
    /// Start an outage of every HSM.
    #[command(
        after_help = "Examples:\n  Drop every HSM connection for 5 seconds\n    az-cloudhsm emulator fault data-plane start --mode drop --duration 5s"
    )]
    Start {
        /// unavailable (503) or drop (connections closed without an answer).
        #[arg(long, value_parser = ["unavailable", "drop"])]
        mode: String,
        /// How long it lasts (e.g. 10s).
        #[arg(long)]
        duration: String,
    },
    /// End the outage now.
    #[command(after_help = "Examples:\n  End it\n    az-cloudhsm emulator fault data-plane stop")]
    Stop,
}

#[derive(Debug, Subcommand)]
pub enum FaultEventHubsCommand {
    /// Refuse every send (server busy) until resumed, or for a while.
    #[command(
        after_help = "Examples:\n  Pause for 10 seconds\n    az-cloudhsm emulator fault event-hubs pause --duration 10s"
    )]
    Pause {
        /// How long (default: until resumed).
        #[arg(long)]
        duration: Option<String>,
    },
    /// Accept sends again.
    #[command(
        after_help = "Examples:\n  Resume\n    az-cloudhsm emulator fault event-hubs resume"
    )]
    Resume,
}

#[derive(Debug, Subcommand)]
pub enum DeploymentCommand {
    /// Deployments at resource-group scope.
    #[command(
        subcommand,
        after_help = "Examples:\n  Deploy a Bicep file\n    az-cloudhsm deployment group create -g rg1 -f main.bicep -p clusterName=chsm1"
    )]
    Group(DeploymentGroupCommand),
    /// Deployments at subscription scope.
    #[command(
        subcommand,
        after_help = "Examples:\n  Deploy a subscription-scope template\n    az-cloudhsm deployment sub create -l eastus2 -f main.bicep"
    )]
    Sub(DeploymentSubCommand),
}

/// What `create` takes at either scope.
#[derive(Debug, Args)]
pub struct DeploymentCreateArgs {
    /// The deployment name (default: the template file's name).
    #[arg(short = 'n', long = "name")]
    pub name: Option<String>,
    /// An ARM JSON template or a Bicep file (compiled in-process).
    #[arg(short = 'f', long = "template-file")]
    pub template_file: Option<String>,
    /// Parameters: name=value, @file.json, inline JSON, or a .bicepparam file.
    #[arg(short = 'p', long = "parameters", num_args = 1..)]
    pub parameters: Vec<String>,
    /// Incremental (default) or Complete.
    #[arg(long)]
    pub mode: Option<String>,
    #[command(flatten)]
    pub no_wait: NoWait,
}

#[derive(Debug, Subcommand)]
pub enum DeploymentGroupCommand {
    /// Start a deployment at resource-group scope and wait for it.
    #[command(
        after_help = "Examples:\n  Deploy a Bicep file with a parameter\n    az-cloudhsm deployment group create -g rg1 -f main.bicep -p clusterName=chsm1\n\n  Deploy with a .bicepparam file\n    az-cloudhsm deployment group create -g rg1 -p main.bicepparam"
    )]
    Create {
        /// Name of resource group.
        #[arg(short = 'g', long = "resource-group")]
        resource_group: String,
        #[command(flatten)]
        create: DeploymentCreateArgs,
    },
    /// Show a deployment.
    #[command(
        after_help = "Examples:\n  Show a deployment's outputs\n    az-cloudhsm deployment group show -g rg1 -n main --query properties.outputs"
    )]
    Show {
        #[arg(short = 'g', long = "resource-group")]
        resource_group: String,
        #[arg(short = 'n', long = "name")]
        name: String,
    },
    /// List a group's deployments.
    #[command(
        after_help = "Examples:\n  List a group's deployments\n    az-cloudhsm deployment group list -g rg1 -o table"
    )]
    List {
        #[arg(short = 'g', long = "resource-group")]
        resource_group: String,
    },
    /// Delete a deployment's record (its resources stay).
    #[command(
        after_help = "Examples:\n  Delete a deployment's record\n    az-cloudhsm deployment group delete -g rg1 -n main"
    )]
    Delete {
        #[arg(short = 'g', long = "resource-group")]
        resource_group: String,
        #[arg(short = 'n', long = "name")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeploymentSubCommand {
    /// Start a deployment at subscription scope and wait for it.
    #[command(
        after_help = "Examples:\n  Create a group and a cluster in it\n    az-cloudhsm deployment sub create -l eastus2 -f main.bicep -p groupName=rg2"
    )]
    Create {
        /// Where the deployment's metadata is kept.
        #[arg(short = 'l', long = "location")]
        location: String,
        #[command(flatten)]
        create: DeploymentCreateArgs,
    },
    /// Show a subscription deployment.
    #[command(
        after_help = "Examples:\n  Show a subscription deployment\n    az-cloudhsm deployment sub show -n main"
    )]
    Show {
        #[arg(short = 'n', long = "name")]
        name: String,
    },
    /// List the subscription's deployments.
    #[command(
        after_help = "Examples:\n  List the subscription's deployments\n    az-cloudhsm deployment sub list -o table"
    )]
    List,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The emulator's endpoints.json (default: $CLOUDHSM_EMULATOR_ENDPOINTS, else .cloudhsm-emulator/endpoints.json).
    #[arg(long, value_name = "FILE")]
    pub endpoints: Option<PathBuf>,
    /// Log in as a service principal (the only kind of login the emulator has).
    #[arg(long)]
    pub service_principal: bool,
    /// The service principal's client id (default: endpoints.json's clientId).
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// The service principal's secret (default: endpoints.json's clientSecret).
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// The tenant (default: endpoints.json's tenantId).
    #[arg(short = 't', long)]
    pub tenant: Option<String>,
    /// The resource manager URL (default: endpoints.json's resourceManager).
    #[arg(long, value_name = "URL")]
    pub resource_manager: Option<String>,
    /// The token service URL (default: endpoints.json's authority).
    #[arg(long, value_name = "URL")]
    pub authority: Option<String>,
    /// The CA certificate to trust (default: endpoints.json's caCertificate).
    #[arg(long, value_name = "FILE")]
    pub ca_certificate: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Show the subscription in use.
    #[command(
        after_help = "Examples:\n  Show the subscription id\n    az-cloudhsm account show --query id -o tsv"
    )]
    Show,
    /// List the subscriptions of the logged-in service principal.
    #[command(
        after_help = "Examples:\n  List subscriptions as a table\n    az-cloudhsm account list -o table"
    )]
    List,
    /// Set the subscription used by default.
    #[command(
        after_help = "Examples:\n  Use a subscription by id\n    az-cloudhsm account set --subscription 00000000-0000-0000-0000-000000000000"
    )]
    Set {
        /// Name or id of the subscription (or pass --subscription).
        #[arg(short = 'n', long = "name", short_alias = 's')]
        name: Option<String>,
    },
}

/// A resource group by name (`az group` takes `-n` or `-g`).
#[derive(Debug, Args)]
pub struct GroupName {
    /// Name of the resource group.
    #[arg(
        short = 'n',
        long = "name",
        short_alias = 'g',
        alias = "resource-group"
    )]
    pub name: String,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a new resource group (or update its tags).
    #[command(
        after_help = "Examples:\n  Create a resource group in East US 2\n    az-cloudhsm group create -n rg1 -l eastus2 --tags env=test"
    )]
    Create {
        #[command(flatten)]
        group: GroupName,
        /// Location, e.g. eastus2.
        #[arg(short = 'l', long)]
        location: String,
        #[command(flatten)]
        tags: TagArgs,
    },
    /// Get a resource group.
    #[command(
        after_help = "Examples:\n  Show a resource group\n    az-cloudhsm group show -n rg1"
    )]
    Show {
        #[command(flatten)]
        group: GroupName,
    },
    /// List resource groups.
    #[command(
        after_help = "Examples:\n  List resource groups as a table\n    az-cloudhsm group list -o table"
    )]
    List,
    /// Check whether a resource group exists (prints true or false).
    #[command(
        after_help = "Examples:\n  Check a resource group\n    az-cloudhsm group exists -n rg1"
    )]
    Exists {
        #[command(flatten)]
        group: GroupName,
    },
    /// Delete a resource group and everything in it.
    #[command(
        after_help = "Examples:\n  Delete without a prompt and without waiting\n    az-cloudhsm group delete -n rg1 --yes --no-wait"
    )]
    Delete {
        #[command(flatten)]
        group: GroupName,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[command(flatten)]
        no_wait: NoWait,
    },
    /// Place the CLI in a waiting state until a condition of the resource group is met.
    #[command(
        after_help = "Examples:\n  Wait until a resource group is deleted\n    az-cloudhsm group wait -n rg1 --deleted --interval 5"
    )]
    Wait {
        #[command(flatten)]
        group: GroupName,
        #[command(flatten)]
        condition: WaitArgs,
        #[command(flatten)]
        timing: WaitTiming,
    },
}

/// A resource in a group: `-g` and `-n`.
#[derive(Debug, Args)]
pub struct ResourceArgs {
    /// Name of resource group.
    #[arg(short = 'g', long = "resource-group")]
    pub resource_group: String,
    /// Name of the resource.
    #[arg(short = 'n', long = "name")]
    pub name: String,
}

/// A cluster's sub-resources take the cluster as `-n` or `--cluster-name`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Name of resource group.
    #[arg(short = 'g', long = "resource-group")]
    pub resource_group: String,
    /// Name of the Cloud HSM cluster.
    #[arg(short = 'n', long = "cluster-name", visible_alias = "name")]
    pub cluster_name: String,
}

#[derive(Debug, Args)]
pub struct OptionalGroup {
    /// Name of resource group (default: the whole subscription).
    #[arg(short = 'g', long = "resource-group")]
    pub resource_group: Option<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// Space-separated tags: key[=value] [key[=value] ...]. Use "" to clear existing tags.
    #[arg(long, num_args = 0.., value_name = "TAGS")]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// Do not prompt for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct NoWait {
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Create a user-assigned identity.
    #[command(
        after_help = "Examples:\n  Create an identity in the group's location\n    az-cloudhsm identity create -g rg1 -n backup-id"
    )]
    Create {
        #[command(flatten)]
        resource: ResourceArgs,
        /// Location (default: the resource group's).
        #[arg(short = 'l', long)]
        location: Option<String>,
        #[command(flatten)]
        tags: TagArgs,
    },
    /// Show an identity.
    #[command(
        after_help = "Examples:\n  Get an identity's principal id\n    az-cloudhsm identity show -g rg1 -n backup-id --query properties.principalId -o tsv"
    )]
    Show {
        #[command(flatten)]
        resource: ResourceArgs,
    },
    /// List identities.
    #[command(
        after_help = "Examples:\n  List the identities of a group\n    az-cloudhsm identity list -g rg1 -o table"
    )]
    List {
        #[command(flatten)]
        group: OptionalGroup,
    },
    /// Delete an identity.
    #[command(
        after_help = "Examples:\n  Delete an identity\n    az-cloudhsm identity delete -g rg1 -n backup-id"
    )]
    Delete {
        #[command(flatten)]
        resource: ResourceArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum CloudHsmCommand {
    /// Create a Cloud HSM cluster.
    #[command(
        after_help = "Examples:\n  Create a cluster with a backup identity\n    az-cloudhsm cloudhsm create -g rg1 -n chsm1 -l eastus2 --sku Standard_B1 --mi-user-assigned backup-id --tags Dept=hsm\n\n  Start creating and return at once\n    az-cloudhsm cloudhsm create -g rg1 -n chsm1 --no-wait"
    )]
    Create {
        #[command(flatten)]
        resource: ResourceArgs,
        /// Location (default: the resource group's).
        #[arg(short = 'l', long)]
        location: Option<String>,
        /// SKU name.
        #[arg(long, default_value = "Standard_B1", value_parser = ["Standard_B1", "Standard B10"])]
        sku: String,
        #[command(flatten)]
        tags: TagArgs,
        /// Scope within which the generated HSM domain names are reused.
        #[arg(long, value_parser = ["TenantReuse", "SubscriptionReuse", "ResourceGroupReuse", "NoReuse"])]
        domain_name_label_scope: Option<String>,
        /// User-assigned identity (resource id, or name in the same group) used for backup and restore.
        #[arg(long, value_name = "IDENTITY")]
        mi_user_assigned: Option<String>,
        #[command(flatten)]
        no_wait: NoWait,
    },
    /// Show a Cloud HSM cluster.
    #[command(
        after_help = "Examples:\n  Show a cluster's state\n    az-cloudhsm cloudhsm show -g rg1 -n chsm1 --query \"{state: properties.provisioningState, activation: properties.activationState}\""
    )]
    Show {
        #[command(flatten)]
        resource: ResourceArgs,
    },
    /// List Cloud HSM clusters.
    #[command(
        after_help = "Examples:\n  List the clusters of a group as a table\n    az-cloudhsm cloudhsm list -g rg1 -o table"
    )]
    List {
        #[command(flatten)]
        group: OptionalGroup,
    },
    /// Update a Cloud HSM cluster's tags or identity.
    #[command(
        after_help = "Examples:\n  Replace the tags\n    az-cloudhsm cloudhsm update -g rg1 -n chsm1 --tags Dept=security"
    )]
    Update {
        #[command(flatten)]
        resource: ResourceArgs,
        #[command(flatten)]
        tags: TagArgs,
        /// User-assigned identity (resource id, or name in the same group).
        #[arg(long, value_name = "IDENTITY")]
        mi_user_assigned: Option<String>,
        #[command(flatten)]
        no_wait: NoWait,
    },
    /// Delete a Cloud HSM cluster (and its keys).
    #[command(
        after_help = "Examples:\n  Delete without a prompt\n    az-cloudhsm cloudhsm delete -g rg1 -n chsm1 --yes"
    )]
    Delete {
        #[command(flatten)]
        resource: ResourceArgs,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[command(flatten)]
        no_wait: NoWait,
    },
    /// Place the CLI in a waiting state until a condition of the cluster is met.
    #[command(
        after_help = "Examples:\n  Wait until created\n    az-cloudhsm cloudhsm wait -g rg1 -n chsm1 --created --interval 5\n\n  Wait until activated\n    az-cloudhsm cloudhsm wait -g rg1 -n chsm1 --custom \"properties.activationState=='Active'\""
    )]
    Wait {
        #[command(flatten)]
        resource: ResourceArgs,
        #[command(flatten)]
        condition: WaitArgs,
        #[command(flatten)]
        timing: WaitTiming,
    },
    /// Back up a cluster to a blob container.
    #[command(
        subcommand,
        after_help = "Examples:\n  Back up to a container\n    az-cloudhsm cloudhsm backup start -g rg1 -n chsm1 --blob-container-uri https://account.blob.core.windows.net/backups"
    )]
    Backup(BackupCommand),
    /// Restore a cluster from a backup.
    #[command(
        subcommand,
        after_help = "Examples:\n  Restore a backup\n    az-cloudhsm cloudhsm restore start -g rg1 -n chsm1 --backup-id <backup-id> --blob-container-uri https://account.blob.core.windows.net/backups"
    )]
    Restore(RestoreCommand),
    /// The cluster's private link resources.
    #[command(
        subcommand,
        name = "private-link-resource",
        after_help = "Examples:\n  List private link resources\n    az-cloudhsm cloudhsm private-link-resource list -g rg1 --cluster-name chsm1"
    )]
    PrivateLinkResource(PrivateLinkResourceCommand),
    /// The cluster's private endpoint connections.
    #[command(
        subcommand,
        name = "private-endpoint-connection",
        after_help = "Examples:\n  Approve a connection\n    az-cloudhsm cloudhsm private-endpoint-connection approve -g rg1 --cluster-name chsm1 --pe-connection-name pe1 --description ok"
    )]
    PrivateEndpointConnection(PrivateEndpointConnectionCommand),
}

#[derive(Debug, Args)]
pub struct BlobArgs {
    /// The blob container URI, e.g. https://account.blob.core.windows.net/backups.
    #[arg(long)]
    pub blob_container_uri: String,
    /// A SAS token for the container (otherwise the cluster's managed identity is used).
    #[arg(long)]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Start a backup (waits for it unless --no-wait).
    #[command(
        after_help = "Examples:\n  Back up and print the backup id\n    az-cloudhsm cloudhsm backup start -g rg1 -n chsm1 --blob-container-uri https://account.blob.core.windows.net/backups --query properties.backupId -o tsv"
    )]
    Start {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        blob: BlobArgs,
        #[command(flatten)]
        no_wait: NoWait,
    },
    /// Show a backup job.
    #[command(
        after_help = "Examples:\n  Show a backup job\n    az-cloudhsm cloudhsm backup show -g rg1 -n chsm1 --job-id <job-id>"
    )]
    Show {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// The backup job's id.
        #[arg(long)]
        job_id: String,
    },
    /// Check that a backup to this container would work.
    #[command(
        after_help = "Examples:\n  Validate a backup destination\n    az-cloudhsm cloudhsm backup validate -g rg1 -n chsm1 --blob-container-uri https://account.blob.core.windows.net/backups"
    )]
    Validate {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        blob: BlobArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum RestoreCommand {
    /// Start a restore (waits for it unless --no-wait).
    #[command(
        after_help = "Examples:\n  Restore a backup\n    az-cloudhsm cloudhsm restore start -g rg1 -n chsm1 --backup-id <backup-id> --blob-container-uri https://account.blob.core.windows.net/backups"
    )]
    Start {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// The backup's id (as `backup start` printed it).
        #[arg(long)]
        backup_id: String,
        #[command(flatten)]
        blob: BlobArgs,
        #[command(flatten)]
        no_wait: NoWait,
    },
    /// Show a restore job.
    #[command(
        after_help = "Examples:\n  Show a restore job\n    az-cloudhsm cloudhsm restore show -g rg1 -n chsm1 --job-id <job-id>"
    )]
    Show {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// The restore job's id.
        #[arg(long)]
        job_id: String,
    },
    /// Check that a restore from this backup would work.
    #[command(
        after_help = "Examples:\n  Validate a restore\n    az-cloudhsm cloudhsm restore validate -g rg1 -n chsm1 --backup-id <backup-id> --blob-container-uri https://account.blob.core.windows.net/backups"
    )]
    Validate {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// The backup's id.
        #[arg(long)]
        backup_id: String,
        #[command(flatten)]
        blob: BlobArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum PrivateLinkResourceCommand {
    /// List the cluster's private link resources.
    #[command(
        after_help = "Examples:\n  List group ids\n    az-cloudhsm cloudhsm private-link-resource list -g rg1 -n chsm1 --query \"[].properties.groupId\""
    )]
    List {
        #[command(flatten)]
        cluster: ClusterArgs,
    },
}

#[derive(Debug, Args)]
pub struct ConnectionArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Name of the private endpoint connection.
    #[arg(long = "pe-connection-name", visible_alias = "connection-name")]
    pub connection: String,
}

#[derive(Debug, Subcommand)]
pub enum PrivateEndpointConnectionCommand {
    /// List the cluster's private endpoint connections.
    #[command(
        after_help = "Examples:\n  List connections as a table\n    az-cloudhsm cloudhsm private-endpoint-connection list -g rg1 -n chsm1 -o table"
    )]
    List {
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Show a private endpoint connection.
    #[command(
        after_help = "Examples:\n  Show a connection's state\n    az-cloudhsm cloudhsm private-endpoint-connection show -g rg1 -n chsm1 --pe-connection-name pe1"
    )]
    Show {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Approve a private endpoint connection.
    #[command(
        after_help = "Examples:\n  Approve\n    az-cloudhsm cloudhsm private-endpoint-connection approve -g rg1 -n chsm1 --pe-connection-name pe1 --description \"approved\""
    )]
    Approve {
        #[command(flatten)]
        connection: ConnectionArgs,
        /// Why.
        #[arg(long)]
        description: Option<String>,
    },
    /// Reject a private endpoint connection.
    #[command(
        after_help = "Examples:\n  Reject\n    az-cloudhsm cloudhsm private-endpoint-connection reject -g rg1 -n chsm1 --pe-connection-name pe1 --description \"not ours\""
    )]
    Reject {
        #[command(flatten)]
        connection: ConnectionArgs,
        /// Why.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a private endpoint connection.
    #[command(
        after_help = "Examples:\n  Delete\n    az-cloudhsm cloudhsm private-endpoint-connection delete -g rg1 -n chsm1 --pe-connection-name pe1 --yes"
    )]
    Delete {
        #[command(flatten)]
        connection: ConnectionArgs,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[command(flatten)]
        no_wait: NoWait,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Manage role assignments.
    #[command(
        subcommand,
        after_help = "Examples:\n  List role assignments\n    az-cloudhsm role assignment list --all -o table"
    )]
    Assignment(RoleAssignmentCommand),
}

#[derive(Debug, Subcommand)]
pub enum RoleAssignmentCommand {
    /// Create a role assignment.
    #[command(
        after_help = "Examples:\n  Let a managed identity write blobs\n    az-cloudhsm role assignment create --assignee-object-id <principal-id> --assignee-principal-type ServicePrincipal --role \"Storage Blob Data Contributor\" --scope /subscriptions/<sub>/resourceGroups/rg1"
    )]
    Create {
        /// The principal's object id.
        #[arg(long, visible_alias = "assignee")]
        assignee_object_id: String,
        /// The principal's type.
        #[arg(long, default_value = "ServicePrincipal", value_parser = ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"])]
        assignee_principal_type: String,
        /// Role name (a built-in role), role definition GUID or id.
        #[arg(long)]
        role: String,
        /// Scope the assignment applies to (default: the subscription).
        #[arg(long)]
        scope: Option<String>,
    },
    /// List role assignments.
    #[command(
        after_help = "Examples:\n  List an identity's assignments\n    az-cloudhsm role assignment list --assignee <principal-id> --all"
    )]
    List {
        #[command(flatten)]
        filter: RoleFilter,
        /// Show assignments at every scope, not only the subscription's.
        #[arg(long)]
        all: bool,
    },
    /// Delete role assignments.
    #[command(
        after_help = "Examples:\n  Delete an identity's assignment of a role\n    az-cloudhsm role assignment delete --assignee <principal-id> --role \"Storage Blob Data Contributor\" --scope <scope>\n\n  Delete by id\n    az-cloudhsm role assignment delete --ids <assignment-id>"
    )]
    Delete {
        #[command(flatten)]
        filter: RoleFilter,
        /// Role assignment ids.
        #[arg(long, num_args = 1..)]
        ids: Option<Vec<String>>,
    },
}

#[derive(Debug, Args)]
pub struct RoleFilter {
    /// The principal's object id.
    #[arg(long, visible_alias = "assignee-object-id")]
    pub assignee: Option<String>,
    /// Role name, GUID or id.
    #[arg(long)]
    pub role: Option<String>,
    /// Scope (default: the subscription).
    #[arg(long)]
    pub scope: Option<String>,
}
