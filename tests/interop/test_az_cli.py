"""The real Azure CLI (`azure-cli`, pinned in az-requirements.txt) against the
emulator, unchanged: cloud registration by discovery, logins, groups,
identities, clusters through `az resource`, role assignments, generic lists,
and the errors az shows. Commands are those a user types; each runs the real
`az` process."""

import base64
import json
import os
import pathlib
import subprocess
import uuid

import pytest

from conftest import ROOT, register_emulator_cloud

SKU = {"family": "B", "name": "Standard_B1"}


def full_object(**fields) -> str:
    """An `az resource create --is-full-object` body."""
    return json.dumps({"location": "eastus2", "sku": SKU, **fields})
HSM_TYPE = "Microsoft.HardwareSecurityModules/cloudHsmClusters"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def group(az):
    name = unique("rg-az")
    az("group", "create", "-n", name, "-l", "eastus2", "--tags", "owner=az-tests")
    return name


@pytest.fixture(scope="module")
def cluster(az, group):
    """A cluster made with the generic `az resource create`."""
    created = az(
        "resource", "create", "-g", group, "-n", "chsm-az", "--resource-type", HSM_TYPE,
        "--is-full-object", "-p", full_object(tags={"Dept": "hsm"}),
    )
    return created


# --- Cloud registration and login --------------------------------------------------


def test_cloud_register_discovers_the_endpoints_with_or_without_a_trailing_slash(emulator, az_home, az):
    base = emulator.endpoints["resourceManager"].rstrip("/")
    cli = az.sibling("clouds")
    for name, url in (("EmuSlash", base + "/"), ("EmuNoSlash", base)):
        cli("cloud", "register", "-n", name, "--endpoint-resource-manager", url)
        shown = cli("cloud", "show", "-n", name)
        endpoints = shown["endpoints"]
        assert endpoints["resourceManager"].rstrip("/") == base
        assert endpoints["activeDirectory"].rstrip("/") == base
        # Tokens for the emulator's own audience; Graph is served by it too.
        assert endpoints["activeDirectoryResourceId"] == base + "/"
        assert endpoints["microsoftGraphResourceId"] == base + "/"
    names = [c["name"] for c in cli("cloud", "list")]
    assert {"EmuSlash", "EmuNoSlash"} <= set(names)


def test_service_principal_login_accounts_and_tokens(emulator, az):
    ep = emulator.endpoints
    account = az("account", "show")
    assert account["id"] == ep["subscriptionId"]
    assert account["tenantId"] == ep["tenantId"]
    assert account["user"] == {"name": ep["clientId"], "type": "servicePrincipal"}
    assert account["environmentName"] == "CloudHsmEmulator"
    assert [a["id"] for a in az("account", "list")] == [ep["subscriptionId"]]
    az("account", "set", "-s", ep["subscriptionId"])

    token = az("account", "get-access-token")
    claims = jwt_claims(token["accessToken"])
    assert claims["appid"] == ep["clientId"]
    assert claims["tid"] == ep["tenantId"]
    assert token["subscription"] == ep["subscriptionId"]
    # The usual ARM audience works as a resource too.
    arm = az("account", "get-access-token", "--resource", "https://management.azure.com/")
    assert jwt_claims(arm["accessToken"])["aud"].rstrip("/") == "https://management.azure.com"


def test_instance_discovery_can_be_switched_off_from_the_environment(emulator, az):
    """`AZURE_CORE_INSTANCE_DISCOVERY=false` is the same switch as
    `az config set core.instance_discovery=false`, for CI jobs that set
    variables rather than run config commands."""
    ep = emulator.endpoints
    cli = az.sibling("env-switch", {"AZURE_CORE_INSTANCE_DISCOVERY": "false"})
    cli("cloud", "register", "-n", "EmuEnv", "--endpoint-resource-manager", ep["resourceManager"])
    cli("cloud", "set", "-n", "EmuEnv")
    cli("login", "--service-principal", "-u", ep["clientId"], "-p", ep["clientSecret"], "--tenant", ep["tenantId"])
    assert cli("group", "list") is not None
    cli("logout")
    assert cli("account", "list") == []


def test_wrong_secret_is_refused_with_the_identity_platform_error(emulator, az):
    ep = emulator.endpoints
    cli = az.sibling("wrong-secret")
    register_emulator_cloud(cli, "Emu", ep["resourceManager"])
    failure = cli.fails(
        "login", "--service-principal", "-u", ep["clientId"], "-p", "not-the-secret", "--tenant", ep["tenantId"]
    )
    assert "AADSTS7000215" in failure.stderr


def test_login_with_a_managed_identity_as_an_app_would(emulator, az, group):
    identity = az("identity", "create", "-g", group, "-n", unique("app-id"))
    app_env = {
        "IDENTITY_ENDPOINT": emulator.endpoints["resourceManager"] + "msi/token",
        "IDENTITY_HEADER": "CloudHsmEmulator~WellKnownIdentityHeader",
    }
    app = az.sibling("managed-identity", app_env)
    register_emulator_cloud(app, "Emu", emulator.endpoints["resourceManager"])
    app("login", "--identity", "--client-id", identity["clientId"])
    account = app("account", "show")
    assert account["user"]["type"] == "servicePrincipal"
    assert identity["clientId"] in account["user"]["assignedIdentityInfo"]
    token = app("account", "get-access-token")
    assert jwt_claims(token["accessToken"])["oid"] == identity["principalId"]
    # The identity's token is good for ARM, for what its roles allow: none
    # yet (AuthorizationFailed, as Azure answers), then Reader on the group.
    denied = app.fails("group", "show", "-n", group)
    assert "AuthorizationFailed" in denied.stderr
    scope = f"/subscriptions/{emulator.endpoints['subscriptionId']}/resourceGroups/{group}"
    az("role", "assignment", "create", "--assignee-object-id", identity["principalId"],
       "--assignee-principal-type", "ServicePrincipal", "--role", "Reader", "--scope", scope)
    assert app("group", "show", "-n", group)["name"] == group
    # The emulator has no system-assigned identity: az shows why.
    app("logout")
    failure = app.fails("login", "--identity")
    assert "system-assigned" in failure.stderr


# --- Providers, groups, identities --------------------------------------------------


def test_providers_list_the_versions_their_routes_accept(az):
    namespaces = {p["namespace"]: p for p in az("provider", "list")}
    assert {
        "Microsoft.HardwareSecurityModules",
        "Microsoft.ManagedIdentity",
        "Microsoft.Network",
        "Microsoft.Authorization",
        "Microsoft.Resources",
    } <= set(namespaces)
    hsm = az("provider", "show", "-n", "microsoft.hardwaresecuritymodules")
    clusters = next(t for t in hsm["resourceTypes"] if t["resourceType"] == "cloudHsmClusters")
    assert "2025-03-31" in clusters["apiVersions"]
    identities = next(
        t for t in namespaces["Microsoft.ManagedIdentity"]["resourceTypes"] if t["resourceType"] == "userAssignedIdentities"
    )
    # What `az identity` itself sends.
    assert "2025-05-31-preview" in identities["apiVersions"]
    az("provider", "register", "-n", "Microsoft.HardwareSecurityModules", "--wait")
    assert az("provider", "show", "-n", "Microsoft.HardwareSecurityModules")["registrationState"] == "Registered"
    failure = az.fails("provider", "show", "-n", "Contoso.Nothing")
    assert "(InvalidResourceNamespace)" in failure.stderr


def test_groups(az):
    name = unique("rg-life")
    created = az("group", "create", "-n", name, "-l", "westus2")
    assert created["properties"]["provisioningState"] == "Succeeded"
    assert az("group", "exists", "-n", name) is True
    updated = az("group", "update", "-n", name, "--tags", "env=test", "team=hsm")
    assert updated["tags"] == {"env": "test", "team": "hsm"}
    tagged = az("group", "list", "--tag", "env=test")
    assert name in [g["name"] for g in tagged]
    assert az("group", "show", "-n", name.upper())["name"] == name
    az("group", "delete", "-n", name, "--yes")
    assert az("group", "exists", "-n", name) is False
    failure = az.fails("group", "show", "-n", name)
    assert failure.returncode == 3
    assert "(ResourceGroupNotFound)" in failure.stderr


def test_identities(az, group):
    name = unique("id")
    created = az("identity", "create", "-g", group, "-n", name, "--tags", "a=1")
    assert created["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities"
    assert created["location"] == "eastus2"  # the group's
    shown = az("identity", "show", "-g", group, "-n", name)
    assert shown["clientId"] == created["clientId"]
    assert name in [i["name"] for i in az("identity", "list", "-g", group)]
    assert az("identity", "update", "-g", group, "-n", name, "--tags", "a=2")["tags"] == {"a": "2"}
    az("identity", "delete", "-g", group, "-n", name)
    failure = az.fails("identity", "show", "-g", group, "-n", name)
    assert "(ResourceNotFound)" in failure.stderr


# --- Clusters through the generic `az resource` --------------------------------------


def test_resource_create_show_and_ids(az, group, cluster):
    assert cluster["type"] == HSM_TYPE
    assert cluster["properties"]["provisioningState"] == "Succeeded"
    assert len(cluster["properties"]["hsms"]) == 3
    by_ids = az("resource", "show", "--ids", cluster["id"])
    assert by_ids["id"] == cluster["id"]
    by_name = az("resource", "show", "-g", group, "-n", "chsm-az", "--resource-type", HSM_TYPE)
    assert by_name["id"] == cluster["id"]
    by_namespace = az(
        "resource", "show", "-g", group, "-n", "chsm-az",
        "--namespace", "Microsoft.HardwareSecurityModules", "--resource-type", "cloudHsmClusters",
    )
    assert by_namespace["id"] == cluster["id"]
    # A trailing slash and doubled slashes name the same resource.
    assert az("rest", "--method", "get", "--url", cluster["id"] + "/?api-version=2025-03-31")["id"] == cluster["id"]


def test_resource_tag_update_and_invoke_action(az, group, cluster):
    tagged = az("resource", "tag", "--ids", cluster["id"], "--tags", "Dept=hsm", "env=ci")
    assert tagged["tags"] == {"Dept": "hsm", "env": "ci"}
    merged = az("resource", "tag", "--ids", cluster["id"], "--tags", "extra=1", "-i")
    assert merged["tags"] == {"Dept": "hsm", "env": "ci", "extra": "1"}
    updated = az("resource", "update", "--ids", cluster["id"], "--set", "tags.team=platform")
    assert updated["tags"]["team"] == "platform"
    # A POST action on the cluster reaches its handler: a backup check on a
    # cluster that was never activated fails with the service's reason.
    failure = az.fails(
        "resource", "invoke-action", "--ids", cluster["id"], "--action", "validateBackupProperties",
        "--request-body", json.dumps({"azureStorageBlobContainerUri": "https://127.0.0.1:10000/devstoreaccount1/backups"}),
    )
    assert "(ClusterNotActivated)" in failure.stderr


def test_both_clis_show_the_same_cluster(emulator, az, group, cluster, az_home):
    own = ROOT / "target" / "debug" / "az-cloudhsm"
    env = {
        **os.environ,
        "AZURE_CONFIG_DIR": str(az_home / "az-cloudhsm"),
        "CLOUDHSM_EMULATOR_ENDPOINTS": str(pathlib.Path(emulator.dir.name) / "endpoints.json"),
    }
    (az_home / "az-cloudhsm").mkdir(exist_ok=True)
    subprocess.run([str(own), "login"], env=env, check=True, capture_output=True)
    shown = subprocess.run(
        [str(own), "cloudhsm", "show", "-g", group, "-n", "chsm-az", "-o", "json"],
        env=env, check=True, capture_output=True, text=True,
    )
    ours = json.loads(shown.stdout)
    theirs = az("resource", "show", "--ids", cluster["id"])
    for field in ("id", "name", "type", "location", "tags"):
        assert ours[field] == theirs[field], field
    # az's generic model spells out the sku fields the service left unset.
    assert ours["sku"] == {k: v for k, v in theirs["sku"].items() if v is not None}
    assert ours["properties"]["hsms"] == theirs["properties"]["hsms"]


def test_generic_lists_filters_and_paging(az, group, cluster):
    for i in range(3):
        az("identity", "create", "-g", group, "-n", f"list-id-{i}", "--tags", f"n={i}")
    # --page-size 2: az follows nextLink for every page.
    in_group = az("resource", "list", "-g", group)
    names = {r["name"] for r in in_group}
    assert {"chsm-az", "list-id-0", "list-id-1", "list-id-2"} <= names
    only_hsms = az("resource", "list", "-g", group, "--resource-type", HSM_TYPE)
    assert [r["name"] for r in only_hsms] == ["chsm-az"]
    assert [r["name"] for r in az("resource", "list", "-n", "list-id-1")] == ["list-id-1"]
    by_tag = az("resource", "list", "--tag", "n=2")
    assert [r["name"] for r in by_tag] == ["list-id-2"]
    in_sub = az("resource", "list")
    assert {r["id"] for r in in_group} <= {r["id"] for r in in_sub}
    assert all("createdTime" in r and "provisioningState" in r for r in in_group)


def test_resource_delete(az, group):
    made = az("resource", "create", "-g", group, "-n", "chsm-gone", "--resource-type", HSM_TYPE,
              "--is-full-object", "-p", full_object())
    az("resource", "delete", "--ids", made["id"])
    failure = az.fails("resource", "show", "--ids", made["id"])
    assert "(ResourceNotFound)" in failure.stderr


def test_az_resource_on_identities_private_endpoints_and_role_assignments(emulator, az, group, cluster):
    identity = az("identity", "create", "-g", group, "-n", unique("generic-id"))
    assert az("resource", "show", "--ids", identity["id"])["properties"]["clientId"] == identity["clientId"]
    # `az resource tag` PUTs back the whole object az read, read-only parts included.
    assert az("resource", "tag", "--ids", identity["id"], "--tags", "x=1")["tags"] == {"x": "1"}
    assert az("identity", "show", "--ids", identity["id"])["tags"] == {"x": "1"}

    subnet = (
        f"/subscriptions/{emulator.endpoints['subscriptionId']}/resourceGroups/{group}"
        "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"
    )
    endpoint = az(
        "resource", "create", "-g", group, "-n", "pe-generic", "--resource-type", "Microsoft.Network/privateEndpoints",
        "--is-full-object", "-p", json.dumps({"location": "eastus2", "properties": {
            "subnet": {"id": subnet},
            "privateLinkServiceConnections": [{
                "name": "generic", "properties": {"privateLinkServiceId": cluster["id"], "groupIds": ["cloudHsm"]},
            }],
        }}),
    )
    assert endpoint["type"] == "Microsoft.Network/privateEndpoints"
    assert az("resource", "tag", "--ids", endpoint["id"], "--tags", "y=2")["tags"] == {"y": "2"}
    az("resource", "delete", "--ids", endpoint["id"])

    assignment = az(
        "role", "assignment", "create", "--assignee-object-id", identity["principalId"],
        "--assignee-principal-type", "ServicePrincipal", "--role", "Reader",
        "--scope", f"/subscriptions/{emulator.endpoints['subscriptionId']}/resourceGroups/{group}",
    )
    generic = az("resource", "show", "--ids", assignment["id"])
    assert generic["properties"]["principalId"] == identity["principalId"]
    az("resource", "delete", "--ids", assignment["id"])
    assert az("role", "assignment", "list", "--assignee", identity["principalId"], "--all") == []


# --- Role assignments ----------------------------------------------------------------


def test_role_definitions(az):
    names = {d["roleName"] for d in az("role", "definition", "list")}
    assert {"Owner", "Contributor", "Reader", "Storage Blob Data Contributor"} <= names
    reader = az("role", "definition", "list", "-n", "Reader")
    assert len(reader) == 1 and reader[0]["name"] == "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    assert reader[0]["permissions"][0]["actions"] == ["*/read"]


def test_role_assignments_by_object_id_and_by_app_id(emulator, az, group, cluster):
    identity = az("identity", "create", "-g", group, "-n", unique("ra-id"))
    scope = cluster["id"]
    made = az(
        "role", "assignment", "create", "--assignee-object-id", identity["principalId"],
        "--assignee-principal-type", "ServicePrincipal", "--role", "Reader", "--scope", scope,
    )
    assert made["principalId"] == identity["principalId"]
    assert made["roleDefinitionId"].endswith("acdd72a7-3385-48ef-bd42-f606fba81ae7")
    # --assignee with the app (client) id: az resolves it through Graph.
    by_app = az("role", "assignment", "create", "--assignee", identity["clientId"],
                "--role", "Storage Blob Data Reader", "--scope", f"/subscriptions/{emulator.endpoints['subscriptionId']}/resourceGroups/{group}")
    assert by_app["principalId"] == identity["principalId"]
    listed = az("role", "assignment", "list", "--assignee", identity["principalId"], "--all")
    assert {a["roleDefinitionName"] for a in listed} == {"Reader", "Storage Blob Data Reader"}
    assert all(a["principalName"] for a in listed)
    at_scope = az("role", "assignment", "list", "--scope", scope)
    assert [a["id"] for a in at_scope] == [made["id"]]
    az("role", "assignment", "delete", "--ids", made["id"])
    assert az("role", "assignment", "list", "--scope", scope) == []
    failure = az.fails("role", "assignment", "create", "--assignee-object-id", identity["principalId"],
                       "--assignee-principal-type", "ServicePrincipal", "--role", "Not A Role", "--scope", scope)
    assert "Not A Role" in failure.stderr


# --- Private endpoint connections ----------------------------------------------------


def test_private_endpoints_and_their_connections_through_az_network(emulator, az, group, cluster):
    assert az("network", "private-endpoint-connection", "list", "--id", cluster["id"]) == []
    subnet = (
        f"/subscriptions/{emulator.endpoints['subscriptionId']}/resourceGroups/{group}"
        "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"
    )
    endpoint = az(
        "network", "private-endpoint", "create", "-g", group, "-n", "pe-az", "--connection-name", "to-hsm",
        "--private-connection-resource-id", cluster["id"], "--group-id", "cloudHsm", "--subnet", subnet,
        "--manual-request",
    )
    assert endpoint["provisioningState"] == "Succeeded"
    listed = az("network", "private-endpoint-connection", "list", "--id", cluster["id"])
    assert [c["properties"]["privateLinkServiceConnectionState"]["status"] for c in listed] == ["Pending"]
    connection_id = listed[0]["id"]
    # az polls the connection every 10 s until it is Succeeded and Approved.
    approved = az("network", "private-endpoint-connection", "approve", "--id", connection_id, "--description", "ok")
    assert approved["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"
    shown = az("network", "private-endpoint-connection", "show", "-g", group, "--resource-name", "chsm-az",
               "--type", HSM_TYPE, "-n", connection_id.rsplit("/", 1)[1])
    assert shown["id"] == connection_id
    az("network", "private-endpoint-connection", "delete", "--id", connection_id, "--yes")
    az("network", "private-endpoint", "delete", "-g", group, "-n", "pe-az")
    failure = az.fails("network", "private-endpoint-connection", "show", "--id", connection_id)
    assert "NotFound" in failure.stderr


# --- Errors as az shows them ---------------------------------------------------------


def test_errors_are_azs_usual_code_and_message(az, group, cluster):
    missing = f"/subscriptions/{cluster['id'].split('/')[2]}/resourceGroups/{group}/providers/{HSM_TYPE}/nope"
    failure = az.fails("resource", "show", "--ids", missing)
    assert "(ResourceNotFound)" in failure.stderr
    assert failure.returncode == 3

    bad_sku = json.dumps({"location": "eastus2", "sku": {"family": "B", "name": "Standard_Z9"}})
    failure = az.fails("resource", "create", "-g", group, "-n", "chsm-bad", "--resource-type", HSM_TYPE,
                       "--is-full-object", "-p", bad_sku)
    assert "(InvalidRequestContent)" in failure.stderr
    assert "sku.name" in failure.stderr

    failure = az.fails("resource", "show", "--ids", cluster["id"], "--api-version", "2020-01-01")
    assert "(NoRegisteredProviderFound)" in failure.stderr
    assert "2025-03-31" in failure.stderr

    failure = az.fails("rest", "--method", "get", "--url", "/subscriptions/x/providers/Contoso.Nothing/things?api-version=2025-01-01")
    assert "InternalServerError" not in failure.stderr


# --- Environment-only credentials (the AD FS authority) ----------------------------


def test_default_azure_credential_from_the_environment_alone(emulator):
    """An application that builds DefaultAzureCredential() with no arguments
    reaches the emulator through environment variables only: MSAL skips
    instance discovery for an AD FS authority (AZURE_TENANT_ID=adfs)."""
    ep = emulator.endpoints
    program = (
        "import os\n"
        "from azure.identity import DefaultAzureCredential\n"
        "from azure.mgmt.resource.resources import ResourceManagementClient\n"
        "client = ResourceManagementClient(DefaultAzureCredential(), os.environ['SUBSCRIPTION'],"
        " base_url=os.environ['ARM'])\n"
        "client.resource_groups.create_or_update('rg-default-credential', {'location': 'eastus2'})\n"
        "print(client.resource_groups.get('rg-default-credential').name)\n"
    )
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("AZURE_") and k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT")
    }
    env.update(
        {
            "AZURE_AUTHORITY_HOST": ep["authority"],
            "AZURE_TENANT_ID": "adfs",
            "AZURE_CLIENT_ID": ep["clientId"],
            "AZURE_CLIENT_SECRET": ep["clientSecret"],
            "REQUESTS_CA_BUNDLE": ep["caCertificate"],
            "SUBSCRIPTION": ep["subscriptionId"],
            "ARM": ep["resourceManager"],
        }
    )
    import sys

    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rg-default-credential"


def test_az_with_the_ad_fs_cloud_form_needs_no_config_switch(emulator, az):
    """The cloud registered with an AD FS login endpoint, as Azure Stack Hub
    with AD FS is: az then logs in without core.instance_discovery=false."""
    ep = emulator.endpoints
    cli = az.sibling("adfs")
    base = ep["resourceManager"].rstrip("/")
    cli("cloud", "register", "-n", "EmuAdfs", "--endpoint-resource-manager", base,
        "--endpoint-active-directory", base + "/adfs")
    cli("cloud", "set", "-n", "EmuAdfs")
    cli("login", "--service-principal", "-u", ep["clientId"], "-p", ep["clientSecret"], "--tenant", ep["tenantId"])
    assert cli("account", "show")["id"] == ep["subscriptionId"]
    assert isinstance(cli("group", "list"), list)
    token = cli("account", "get-access-token")
    assert jwt_claims(token["accessToken"])["tid"] == ep["tenantId"]
