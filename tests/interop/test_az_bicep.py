"""Bicep files deployed by the unmodified `az` CLI through the workspace's own
`bicep` compiler: az is told to use the `bicep` on PATH
(`bicep.use_binary_from_path`), runs `bicep build --stdout` (or
`build-params`) and deploys the JSON it prints to the emulator."""

import json
import os
import subprocess
import pathlib
import uuid

import pytest

from conftest import ROOT

TEMPLATES = ROOT / "bicep" / "templates"


def bicep_binary() -> pathlib.Path:
    """The workspace's `bicep`, built beside the emulator by tests/run.sh."""
    return pathlib.Path(os.environ.get("BICEP_BIN", ROOT / "target" / "debug" / "bicep"))


@pytest.fixture(scope="module")
def az_bicep(az):
    if not bicep_binary().exists():
        pytest.fail(f"the workspace's bicep binary is not built at {bicep_binary()}")
    path = f"{bicep_binary().parent}{os.pathsep}{os.environ.get('PATH', '')}"
    cli = az.sibling("bicep", {"PATH": path})
    # The same login as `az`: copy its profile by logging in again.
    ep = az.emulator.endpoints
    from conftest import register_emulator_cloud

    register_emulator_cloud(cli, "CloudHsmEmulator", ep["resourceManager"])
    cli("login", "--service-principal", "-u", ep["clientId"], "-p", ep["clientSecret"], "--tenant", ep["tenantId"])
    cli("config", "set", "bicep.use_binary_from_path=true")
    return cli


def new_group(cli) -> str:
    name = f"rg-bicep-{uuid.uuid4().hex[:6]}"
    cli("group", "create", "-n", name, "-l", "eastus2")
    return name


def test_az_finds_our_bicep_and_reads_its_version(az_bicep):
    result = az_bicep.run_raw("bicep", "version")
    assert result.returncode == 0, result.stderr
    assert "Bicep CLI version" in result.stdout + result.stderr


def test_a_cluster_with_its_identity_from_bicep(az_bicep):
    group = new_group(az_bicep)
    deployed = az_bicep(
        "deployment", "group", "create", "-g", group, "-n", "bicep-identity",
        "-f", str(TEMPLATES / "cluster-with-identity.bicep"), "-p", "clusterName=chsmb1",
    )
    props = deployed["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["outputs"]["clusterId"]["value"].endswith("/cloudHsmClusters/chsmb1")
    assert len(props["outputs"]["hsmFqdns"]["value"]) == 3
    identity = az_bicep("identity", "show", "-g", group, "-n", "chsmb1-backup")
    assert props["outputs"]["identityPrincipalId"]["value"] == identity["principalId"]
    roles = az_bicep("role", "assignment", "list", "--assignee", identity["principalId"], "--all")
    assert [r["roleDefinitionName"] for r in roles] == ["Storage Blob Data Contributor"]


def test_a_loop_of_clusters_from_bicep(az_bicep):
    group = new_group(az_bicep)
    deployed = az_bicep(
        "deployment", "group", "create", "-g", group,
        "-f", str(TEMPLATES / "clusters-loop.bicep"), "-p", "count=2",
    )
    names = deployed["properties"]["outputs"]["names"]["value"]
    assert len(names) == 2
    listed = az_bicep("resource", "list", "-g", group, "--resource-type", "Microsoft.HardwareSecurityModules/cloudHsmClusters")
    assert sorted(r["name"] for r in listed) == sorted(names)


def test_a_module_adds_a_private_endpoint(az_bicep, emulator):
    group = new_group(az_bicep)
    subnet = (
        f"/subscriptions/{emulator.endpoints['subscriptionId']}/resourceGroups/{group}"
        "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"
    )
    deployed = az_bicep(
        "deployment", "group", "create", "-g", group,
        "-f", str(TEMPLATES / "cluster-private-endpoint.bicep"),
        "-p", "clusterName=chsmpe1", f"subnetId={subnet}",
    )
    outputs = deployed["properties"]["outputs"]
    assert outputs["endpointId"]["value"].endswith("/privateEndpoints/chsmpe1-pe")
    assert outputs["connectionState"]["value"] == "Approved"
    # The module is a nested deployment of the group.
    assert az_bicep("deployment", "group", "show", "-g", group, "-n", "chsmpe1-endpoint")["properties"]["provisioningState"] == "Succeeded"


def test_a_subscription_scope_bicep_file(az_bicep):
    group = f"rg-bicep-sub-{uuid.uuid4().hex[:6]}"
    deployed = az_bicep(
        "deployment", "sub", "create", "-l", "eastus2",
        "-f", str(TEMPLATES / "subscription-group-and-cluster.bicep"),
        "-p", f"groupName={group}", "clusterName=chsmsub1",
    )
    assert deployed["properties"]["outputs"]["clusterId"]["value"].endswith(f"/resourceGroups/{group}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/chsmsub1")


def test_a_bicepparam_file(az_bicep):
    group = new_group(az_bicep)
    deployed = az_bicep(
        "deployment", "group", "create", "-g", group,
        "-p", str(TEMPLATES / "cluster-with-identity.bicepparam"),
    )
    assert deployed["properties"]["outputs"]["clusterId"]["value"].endswith("/cloudHsmClusters/chsm-params")
    assert az_bicep("resource", "show", "-g", group, "-n", "chsm-params",
                    "--resource-type", "Microsoft.HardwareSecurityModules/cloudHsmClusters")["tags"]["Source"] == "bicepparam"


def test_a_compile_error_is_shown_with_its_code_and_position(az_bicep, tmp_path):
    broken = tmp_path / "broken.bicep"
    broken.write_text("param name string\n\noutput x string = nmae\n")
    group = new_group(az_bicep)
    failure = az_bicep.fails("deployment", "group", "create", "-g", group, "-f", str(broken))
    assert "BCP057" in failure.stderr, failure.stderr
    assert "broken.bicep(3," in failure.stderr, failure.stderr


def test_user_defined_types_and_lambdas_deploy_as_language_version_2(az_bicep, tmp_path):
    """A typed parameter makes the compiler emit languageVersion 2.0
    (symbolic resources, reference('symbol')); the engine deploys it."""
    source = tmp_path / "typed.bicep"
    source.write_text(
        "type clusterConfig = {\n"
        "  name: string\n"
        "  sku: 'Standard_B1' | 'Standard B10'\n"
        "  tags: object?\n"
        "}\n"
        "\n"
        "param clusters clusterConfig[]\n"
        "\n"
        "resource hsm 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = [for c in clusters: {\n"
        "  name: c.name\n"
        "  location: resourceGroup().location\n"
        "  sku: {\n"
        "    family: 'B'\n"
        "    name: c.sku\n"
        "  }\n"
        "  tags: c.?tags ?? {}\n"
        "}]\n"
        "\n"
        "output names array = map(clusters, c => toUpper(c.name))\n"
    )
    compiled = subprocess.run([str(bicep_binary()), "build", "--stdout", str(source)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    assert json.loads(compiled.stdout)["languageVersion"] == "2.0"
    group = new_group(az_bicep)
    params = json.dumps({"clusters": {"value": [
        {"name": "typed1", "sku": "Standard_B1", "tags": {"k": "v"}},
        {"name": "typed2", "sku": "Standard B10"},
    ]}})
    deployed = az_bicep("deployment", "group", "create", "-g", group, "-f", str(source), "-p", params)
    assert deployed["properties"]["outputs"]["names"]["value"] == ["TYPED1", "TYPED2"]
    shown = az_bicep("resource", "show", "-g", group, "-n", "typed1",
                     "--resource-type", "Microsoft.HardwareSecurityModules/cloudHsmClusters")
    assert shown["tags"] == {"k": "v"}
    # The type's allowed values hold at deployment time too.
    bad = json.dumps({"clusters": {"value": [{"name": "typed3", "sku": "Standard_Z9"}]}})
    failure = az_bicep.fails("deployment", "group", "create", "-g", group, "-f", str(source), "-p", bad)
    assert "InvalidTemplate" in failure.stderr and "sku" in failure.stderr, failure.stderr


def test_a_clusters_operation_log_wired_to_an_event_hub(az_bicep):
    """The namespace, hub, rule and the cluster's diagnostic setting from one
    Bicep file; listKeys() of the rule comes back as an output."""
    group = new_group(az_bicep)
    namespace = f"ns-{uuid.uuid4().hex[:8]}"
    deployed = az_bicep(
        "deployment", "group", "create", "-g", group,
        "-f", str(TEMPLATES / "cluster-diagnostics-event-hub.bicep"),
        "-p", "clusterName=chsmdiag", f"namespaceName={namespace}",
    )
    outputs = deployed["properties"]["outputs"]
    # Every namespace is reached at the emulator's own Event Hubs listener.
    assert outputs["connectionString"]["value"].startswith(f"Endpoint={az_bicep.emulator.endpoints['eventHubs']['amqp']};SharedAccessKeyName=diagnostics;SharedAccessKey=")
    cluster_id = outputs["settingId"]["value"].split("/providers/Microsoft.Insights/")[0]
    settings = az_bicep("monitor", "diagnostic-settings", "list", "--resource", cluster_id)
    settings = settings["value"] if isinstance(settings, dict) else settings
    assert [s["name"] for s in settings] == ["to-event-hub"]
    assert settings[0]["eventHubName"] == "hsm-operations"
