"""ARM template deployments (`Microsoft.Resources/deployments`) driven the way a
user drives them: the real `az deployment ...` commands (azure-cli, pinned in
az-requirements.txt) with the templates in bicep/templates, and the Python
SDK's DeploymentsMgmtClient (azure-mgmt-resource-deployments, where
azure-mgmt-resource 26 moved deployments). Errors are asserted as Azure
Resource Manager reports them."""

import json
import uuid

import pytest

from conftest import ROOT

TEMPLATES = ROOT / "bicep" / "templates"
HSM_TYPE = "Microsoft.HardwareSecurityModules/cloudHsmClusters"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def template(name: str) -> str:
    return str(TEMPLATES / name)


def new_group(az) -> str:
    name = unique("rg-dep")
    az("group", "create", "-n", name, "-l", "eastus2")
    return name


def write_template(tmp_path, resources, **extra) -> str:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources, **extra}))
    return str(path)


def cluster_resource(name, sku="Standard_B1", **extra):
    return {
        "type": HSM_TYPE,
        "apiVersion": "2025-03-31",
        "name": name,
        "location": "[resourceGroup().location]",
        "sku": {"family": "B", "name": sku},
        **extra,
    }


def group_id(emulator, group: str) -> str:
    return f"/subscriptions/{emulator.endpoints['subscriptionId']}/resourceGroups/{group}"


def error_of(failure) -> dict:
    """The ARM error az prints as `ERROR: {json}` for a failed deployment."""
    line = next(l for l in failure.stderr.splitlines() if l.startswith("ERROR: "))
    body = json.loads(line[len("ERROR: "):])
    return body.get("error", body)


# --- A deployment of cluster-with-identity.json, shared by the read commands ----


@pytest.fixture(scope="module")
def identity_deployment(az, emulator):
    group = new_group(az)
    name = unique("chsm")
    deployed = az(
        "deployment", "group", "create", "-g", group, "-n", "with-identity",
        "-f", template("cluster-with-identity.json"), "-p", f"clusterName={name}",
    )
    return {"group": group, "cluster": name, "deployed": deployed, "gid": group_id(emulator, group)}


def test_group_create_returns_the_outputs(az, identity_deployment):
    d = identity_deployment
    props = d["deployed"]["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["mode"] == "Incremental"
    outputs = props["outputs"]
    cluster_id = f"{d['gid']}/providers/{HSM_TYPE}/{d['cluster']}"
    assert outputs["clusterId"] == {"type": "String", "value": cluster_id}
    fqdns = outputs["hsmFqdns"]["value"]
    assert outputs["hsmFqdns"]["type"] == "Array"
    assert len(fqdns) == 3
    assert [f.split(".")[0] for f in fqdns] == ["hsm1", "hsm2", "hsm3"]
    assert all(f".{d['cluster']}-" in f and f.endswith(".cloudhsm.localhost") for f in fqdns)
    # The output is the identity's own principal id, as az shows the identity.
    identity = az("identity", "show", "-g", d["group"], "-n", f"{d['cluster']}-backup")
    assert outputs["identityPrincipalId"] == {"type": "String", "value": identity["principalId"]}
    # The cluster really is there, with the template's identity and tags.
    cluster = az("resource", "show", "--ids", cluster_id)
    assert cluster["tags"] == {"Dept": "hsm"}
    assert list(cluster["identity"]["userAssignedIdentities"]) == [identity["id"]]
    assert set(r["id"] for r in props["outputResources"]) >= {cluster_id, identity["id"]}


def test_group_show_and_list(az, identity_deployment):
    d = identity_deployment
    shown = az("deployment", "group", "show", "-g", d["group"], "-n", "with-identity")
    assert shown["id"] == f"{d['gid']}/providers/Microsoft.Resources/deployments/with-identity"
    assert shown["name"] == "with-identity"
    assert shown["type"] == "Microsoft.Resources/deployments"
    assert shown["properties"]["provisioningState"] == "Succeeded"
    assert shown["properties"]["parameters"]["clusterName"] == {"type": "String", "value": d["cluster"]}
    assert shown["properties"]["outputs"] == d["deployed"]["properties"]["outputs"]
    assert shown["properties"]["correlationId"] == d["deployed"]["properties"]["correlationId"]

    listed = az("deployment", "group", "list", "-g", d["group"])
    assert [x["name"] for x in listed] == ["with-identity"]
    succeeded = az("deployment", "group", "list", "-g", d["group"], "--filter", "provisioningState eq 'Succeeded'")
    assert [x["name"] for x in succeeded] == ["with-identity"]
    failed = az("deployment", "group", "list", "-g", d["group"], "--filter", "provisioningState eq 'Failed'")
    assert failed == []


def test_operation_group_list_has_one_succeeded_operation_per_resource(az, identity_deployment):
    """`az deployment operation group list` calls
    GET /subscriptions/{s}/resourcegroups/{g}/deployments/{name}/operations
    (the Deployment Operations API's path, without /providers/Microsoft.Resources)."""
    d = identity_deployment
    ops = az("deployment", "operation", "group", "list", "-g", d["group"], "-n", "with-identity")
    targets = {o["properties"]["targetResource"]["id"]: o["properties"] for o in ops}
    assert len(ops) == 3
    cluster_id = f"{d['gid']}/providers/{HSM_TYPE}/{d['cluster']}"
    identity_id = f"{d['gid']}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{d['cluster']}-backup"
    assert cluster_id in targets and identity_id in targets
    assert any("/providers/Microsoft.Authorization/roleAssignments/" in t for t in targets)
    for props in targets.values():
        assert props["provisioningState"] == "Succeeded"
        assert props["provisioningOperation"] == "Create"


def test_group_export_returns_the_template_as_deployed(az, identity_deployment):
    d = identity_deployment
    exported = az("deployment", "group", "export", "-g", d["group"], "-n", "with-identity")
    assert exported == json.loads((TEMPLATES / "cluster-with-identity.json").read_text())


def test_what_if_no_change_for_a_redeploy_and_modify_for_a_changed_tag(az, identity_deployment):
    d = identity_deployment
    common = ("deployment", "group", "what-if", "-g", d["group"], "-f", template("cluster-with-identity.json"),
              "-p", f"clusterName={d['cluster']}", "--no-pretty-print")
    same = az(*common)
    assert {c["changeType"] for c in same["changes"]} == {"NoChange"}
    assert len(same["changes"]) == 3

    changed = az(*common, "-p", 'tags={"Dept":"crypto"}')
    by_id = {c["resourceId"]: c for c in changed["changes"]}
    cluster = by_id[f"{d['gid']}/providers/{HSM_TYPE}/{d['cluster']}"]
    assert cluster["changeType"] == "Modify"
    assert [(p["path"], p["propertyChangeType"], p["before"], p["after"]) for p in cluster["delta"]] == [
        ("tags.Dept", "Modify", "hsm", "crypto")
    ]
    # what-if changes nothing.
    assert az("resource", "show", "--ids", cluster["resourceId"])["tags"] == {"Dept": "hsm"}


# --- Parameters, validate, what-if Create, delete ----------------------------------


def test_copy_loop_with_inline_file_and_json_parameters(az, tmp_path):
    group = new_group(az)
    copy = template("clusters-copy.json")
    inline = az("deployment", "group", "create", "-g", group, "-n", "inline", "-f", copy,
                "-p", "count=2", "-p", "prefix=in")
    names = inline["properties"]["outputs"]["names"]["value"]
    assert len(names) == 2 and [n.split("-")[0] for n in names] == ["in1", "in2"]
    suffix = names[0].split("-")[1]
    assert len(suffix) == 6 and names[1] == f"in2-{suffix}"

    params = tmp_path / "clusters.parameters.json"
    params.write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"count": {"value": 1}, "prefix": {"value": "pf"}},
    }))
    from_file = az("deployment", "group", "create", "-g", group, "-n", "from-file", "-f", copy, "-p", f"@{params}")
    assert from_file["properties"]["outputs"]["names"]["value"] == [f"pf1-{suffix}"]

    as_json = az("deployment", "group", "create", "-g", group, "-n", "as-json", "-f", copy,
                 "-p", '{"count":{"value":2},"prefix":{"value":"js"}}')
    assert as_json["properties"]["outputs"]["names"]["value"] == [f"js1-{suffix}", f"js2-{suffix}"]

    clusters = az("resource", "list", "-g", group, "--resource-type", HSM_TYPE)
    assert sorted(c["name"] for c in clusters) == sorted([*names, f"pf1-{suffix}", f"js1-{suffix}", f"js2-{suffix}"])
    assert {c["name"]: c["tags"]["index"] for c in clusters}[f"js2-{suffix}"] == "1"


def test_private_endpoint_template_reads_the_connection_back(az, emulator):
    group = new_group(az)
    name = unique("chsm-pe")
    subnet = f"{group_id(emulator, group)}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default"
    deployed = az("deployment", "group", "create", "-g", group, "-n", "pe",
                  "-f", template("cluster-private-endpoint.json"), "-p", f"clusterName={name}", f"subnetId={subnet}")
    assert deployed["properties"]["provisioningState"] == "Succeeded"
    # The caller may approve its own connection, so ARM approves it at once.
    assert deployed["properties"]["outputs"]["connectionState"] == {"type": "String", "value": "Approved"}
    pe = az("resource", "show", "-g", group, "-n", f"{name}-pe", "--resource-type", "Microsoft.Network/privateEndpoints")
    assert pe["properties"]["subnet"]["id"] == subnet


def test_validate_checks_without_deploying_and_what_if_shows_creates(az, emulator):
    group = new_group(az)
    copy = template("clusters-copy.json")
    validated = az("deployment", "group", "validate", "-g", group, "-f", copy, "-p", "count=2")
    assert validated["properties"]["provisioningState"] == "Succeeded"
    assert validated["error"] is None
    ids = [r["id"] for r in validated["properties"]["validatedResources"]]
    assert len(ids) == 2 and all(i.startswith(f"{group_id(emulator, group)}/providers/{HSM_TYPE}/chsm") for i in ids)

    what_if = az("deployment", "group", "what-if", "-g", group, "-f", copy, "-p", "count=2", "--no-pretty-print")
    assert sorted(c["resourceId"] for c in what_if["changes"]) == sorted(ids)
    assert {c["changeType"] for c in what_if["changes"]} == {"Create"}
    assert all(c["before"] is None and c["after"]["sku"]["name"] == "Standard_B1" for c in what_if["changes"])

    # Neither made anything nor recorded a deployment.
    assert az("resource", "list", "-g", group) == []
    assert az("deployment", "group", "list", "-g", group) == []

    bad = az.fails("deployment", "group", "validate", "-g", group, "-f", copy, "-p", "count=11")
    assert "InvalidTemplate" in bad.stderr and "'count'" in bad.stderr


def test_group_delete_removes_the_record_not_the_resources(az, tmp_path):
    group = new_group(az)
    path = write_template(tmp_path, [{
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
        "name": "kept", "location": "[resourceGroup().location]",
    }])
    az("deployment", "group", "create", "-g", group, "-n", "to-delete", "-f", path)
    az("deployment", "group", "delete", "-g", group, "-n", "to-delete")
    assert az("deployment", "group", "list", "-g", group) == []
    gone = az.fails("deployment", "group", "show", "-g", group, "-n", "to-delete")
    assert "DeploymentNotFound" in gone.stderr
    assert [r["name"] for r in az("resource", "list", "-g", group)] == ["kept"]


def test_group_cancel_of_a_running_deployment(az, tmp_path):
    """Eight clusters one after another (serial copy) take several times the
    emulator's 300 ms provisioning delay, so the cancel normally lands while
    the deployment runs; should it have finished first, az reports ARM's
    DeploymentCannotBeCancelled."""
    group = new_group(az)
    path = write_template(tmp_path, [cluster_resource(
        "[format('slow{0}', copyIndex())]", copy={"name": "slow", "count": 8, "mode": "serial", "batchSize": 1},
    )])
    az("deployment", "group", "create", "-g", group, "-n", "slow", "-f", path, "--no-wait")
    result = az.run_raw("deployment", "group", "cancel", "-g", group, "-n", "slow")
    state = az("deployment", "group", "show", "-g", group, "-n", "slow")["properties"]["provisioningState"]
    if result.returncode == 0:
        assert state == "Canceled"
        again = az.fails("deployment", "group", "cancel", "-g", group, "-n", "slow")
        assert "DeploymentCannotBeCancelled" in again.stderr
    else:
        assert "DeploymentCannotBeCancelled" in result.stderr, result.stderr
        assert state == "Succeeded"


def test_sub_create_makes_a_group_a_nested_deployment_and_reads_its_output(az, emulator):
    group = unique("rg-sub")
    name = unique("chsm-sub")
    deployment = unique("sub")
    deployed = az("deployment", "sub", "create", "-l", "eastus2", "-n", deployment,
                  "-f", template("subscription-group-and-cluster.json"), "-p", f"groupName={group}", f"clusterName={name}")
    sub = emulator.endpoints["subscriptionId"]
    cluster_id = f"{group_id(emulator, group)}/providers/{HSM_TYPE}/{name}"
    assert deployed["id"] == f"/subscriptions/{sub}/providers/Microsoft.Resources/deployments/{deployment}"
    assert deployed["location"] == "eastus2"
    assert deployed["properties"]["provisioningState"] == "Succeeded"
    assert deployed["properties"]["outputs"]["clusterId"] == {"type": "String", "value": cluster_id}

    assert az("group", "show", "-n", group)["location"] == "eastus2"
    assert az("resource", "show", "--ids", cluster_id)["sku"]["name"] == "Standard_B1"
    nested = az("deployment", "group", "show", "-g", group, "-n", "cluster")
    assert nested["properties"]["provisioningState"] == "Succeeded"
    assert nested["properties"]["outputs"]["clusterId"]["value"] == cluster_id
    pid = az("deployment", "sub", "show", "-n", "pid-00000000-0000-0000-0000-000000000000")
    assert pid["properties"]["provisioningState"] == "Succeeded"
    assert {deployment, "pid-00000000-0000-0000-0000-000000000000"} <= {d["name"] for d in az("deployment", "sub", "list")}
    ops = az("deployment", "operation", "sub", "list", "-n", deployment)
    assert sorted(o["properties"]["targetResource"]["id"] for o in ops) == sorted([
        group_id(emulator, group),
        f"{group_id(emulator, group)}/providers/Microsoft.Resources/deployments/cluster",
        f"/subscriptions/{sub}/providers/Microsoft.Resources/deployments/pid-00000000-0000-0000-0000-000000000000",
    ])
    assert {o["properties"]["provisioningState"] for o in ops} == {"Succeeded"}


# --- Failures as az shows them ----------------------------------------------------


def test_parameter_values_outside_min_length_or_allowed_values_are_invalid_templates(az):
    group = new_group(az)
    identity = template("cluster-with-identity.json")
    short = az.fails("deployment", "group", "create", "-g", group, "-f", identity, "-p", "clusterName=ab")
    error = error_of(short)
    assert error["code"] == "InvalidTemplate"
    assert "'clusterName'" in error["message"] and "minimum length '3'" in error["message"]

    sku = az.fails("deployment", "group", "create", "-g", group, "-f", identity,
                   "-p", "clusterName=chsm-ok", "skuName=Standard_Z9")
    error = error_of(sku)
    assert error["code"] == "InvalidTemplate"
    assert "'skuName'" in error["message"] and "Standard_Z9" in error["message"]
    # Refused before anything ran: nothing made, no deployment recorded.
    assert az("resource", "list", "-g", group) == []
    assert az("deployment", "group", "list", "-g", group) == []


def test_a_dependency_cycle_is_an_invalid_template_naming_the_cycle(az, tmp_path):
    group = new_group(az)
    identity = {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                "location": "[resourceGroup().location]"}
    path = write_template(tmp_path, [
        {**identity, "name": "alpha", "dependsOn": ["beta"]},
        {**identity, "name": "beta", "dependsOn": ["alpha"]},
    ])
    failure = az.fails("deployment", "group", "create", "-g", group, "-f", path)
    error = error_of(failure)
    assert error["code"] == "InvalidTemplate"
    assert "Circular dependency" in error["message"]
    assert "'alpha'" in error["message"] and "'beta'" in error["message"]
    assert az("resource", "list", "-g", group) == []


@pytest.fixture(scope="module")
def refused_deployment(az, emulator, tmp_path_factory):
    """A template whose cluster PUT the cluster provider refuses (an unknown sku)."""
    group = new_group(az)
    path = write_template(tmp_path_factory.mktemp("refused"), [
        {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
         "name": "fine", "location": "[resourceGroup().location]"},
        cluster_resource("chsm-z9", sku="Standard_Z9"),
    ])
    failure = az.fails("deployment", "group", "create", "-g", group, "-n", "refused", "-f", path)
    gid = group_id(emulator, group)
    return {"group": group, "failure": failure, "cluster_id": f"{gid}/providers/{HSM_TYPE}/chsm-z9",
            "identity_id": f"{gid}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fine"}


def test_a_refused_resource_fails_the_deployment_with_the_providers_error(az, refused_deployment):
    d = refused_deployment
    error = error_of(d["failure"])
    assert error["code"] == "DeploymentFailed"
    [detail] = error["details"]
    assert detail["code"] == "InvalidRequestContent"
    assert "Standard_Z9" in detail["message"]
    shown = az("deployment", "group", "show", "-g", d["group"], "-n", "refused")
    assert shown["properties"]["provisioningState"] == "Failed"
    assert shown["properties"]["error"]["code"] == "DeploymentFailed"
    assert [x["code"] for x in shown["properties"]["error"]["details"]] == ["InvalidRequestContent"]
    failed = az("deployment", "group", "list", "-g", d["group"], "--filter", "provisioningState eq 'Failed'")
    assert [x["name"] for x in failed] == ["refused"]
    # Incremental: what succeeded stays.
    assert [r["id"] for r in az("resource", "list", "-g", d["group"])] == [d["identity_id"]]


def test_a_refused_resource_shows_as_a_failed_operation(az, refused_deployment):
    d = refused_deployment
    ops = az("deployment", "operation", "group", "list", "-g", d["group"], "-n", "refused")
    by_target = {o["properties"]["targetResource"]["id"]: o["properties"] for o in ops}
    assert by_target[d["identity_id"]]["provisioningState"] == "Succeeded"
    failed = by_target[d["cluster_id"]]
    assert failed["provisioningState"] == "Failed"
    assert failed["statusCode"] == "BadRequest"
    assert failed["statusMessage"]["error"]["code"] == "InvalidRequestContent"


def test_an_unknown_resource_type_fails(az, tmp_path):
    """A type no provider of the emulator serves fails that resource with ARM's
    NoRegisteredProviderFound, naming the type."""
    group = new_group(az)
    path = write_template(tmp_path, [{
        "type": "Microsoft.Contoso/widgets", "apiVersion": "2024-01-01",
        "name": "w1", "location": "[resourceGroup().location]",
    }])
    failure = az.fails("deployment", "group", "create", "-g", group, "-n", "widgets", "-f", path)
    assert "NoRegisteredProviderFound" in failure.stderr, failure.stderr
    assert "Microsoft.Contoso/widgets" in failure.stderr or "'widgets'" in failure.stderr
    assert az("resource", "list", "-g", group) == []


# --- The Python SDK ---------------------------------------------------------------


def copy_deployment(count: int, prefix: str):
    from azure.mgmt.resource.deployments import models

    return models.Deployment(properties=models.DeploymentProperties(
        mode="Incremental",
        template=json.loads((TEMPLATES / "clusters-copy.json").read_text()),
        parameters={"count": {"value": count}, "prefix": {"value": prefix}},
    ))


def test_sdk_accepts_its_default_api_version(emulator, resources, deployments):
    """DeploymentsMgmtClient 2.0.0 sends api-version=2026-06-01 unless told otherwise."""
    group = unique("rg-sdk")
    resources.resource_groups.create_or_update(group, {"location": "eastus2"})
    done = deployments.deployments.begin_create_or_update(group, "sdk-default", copy_deployment(1, "def")).result()
    assert done.properties.provisioning_state == "Succeeded"
    assert deployments.deployments.check_existence(group, "sdk-default") is True
    assert deployments.deployments.check_existence(group, "absent") is False


def test_sdk_deploys_clusters_copy_and_reads_what_if_lists_and_operations(emulator, credential, resources):
    from azure.mgmt.resource.deployments import DeploymentsMgmtClient, models

    from conftest import client_kwargs

    # Pinned to the resources spec's version, so this test covers the calls
    # themselves whatever the default version does.
    client = DeploymentsMgmtClient(credential, emulator.endpoints["subscriptionId"],
                                   api_version="2025-04-01", **client_kwargs(emulator))
    group = unique("rg-sdk")
    resources.resource_groups.create_or_update(group, {"location": "eastus2"})

    done = client.deployments.begin_create_or_update(group, "sdk-copy", copy_deployment(2, "sdk")).result()
    assert done.properties.provisioning_state == "Succeeded"
    names = done.properties.outputs["names"]["value"]
    assert [n.split("-")[0] for n in names] == ["sdk1", "sdk2"]
    gid = group_id(emulator, group)

    what_if = client.deployments.begin_what_if(group, "sdk-copy", models.DeploymentWhatIf(
        properties=models.DeploymentWhatIfProperties(
            mode="Incremental", template=copy_deployment(3, "sdk").properties.template,
            parameters={"count": {"value": 3}, "prefix": {"value": "sdk"}},
        ))).result()
    changes = {c.resource_id: c.change_type for c in what_if.changes}
    assert changes == {
        f"{gid}/providers/{HSM_TYPE}/{names[0]}": "NoChange",
        f"{gid}/providers/{HSM_TYPE}/{names[1]}": "NoChange",
        f"{gid}/providers/{HSM_TYPE}/sdk3-{names[0].split('-')[1]}": "Create",
    }

    assert [d.name for d in client.deployments.list_by_resource_group(group)] == ["sdk-copy"]
    assert [d.name for d in client.deployments.list_by_resource_group(
        group, filter="provisioningState eq 'Succeeded'")] == ["sdk-copy"]

    ops = list(client.deployment_operations.list(group, "sdk-copy"))
    assert sorted(o.properties.target_resource.id for o in ops) == sorted(
        f"{gid}/providers/{HSM_TYPE}/{n}" for n in names)
    assert {o.properties.provisioning_state for o in ops} == {"Succeeded"}
