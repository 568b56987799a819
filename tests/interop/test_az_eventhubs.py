"""The real `az eventhubs` commands (azure-cli 2.91, api-version
2026-07-01-preview) and azure-mgmt-eventhub (2026-01-01) against the
emulator's Event Hubs control plane: namespaces, event hubs, consumer groups,
authorization rules and their keys."""

import base64
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.eventhub import EventHubManagementClient

from conftest import client_kwargs


def connection_string(endpoints, rule, key, hub=None):
    """Azure's format, with the emulator's Event Hubs listener as the
    endpoint (it serves every namespace; the key identifies the namespace)."""
    s = f"Endpoint={endpoints['eventHubs']['amqp']};SharedAccessKeyName={rule};SharedAccessKey={key}"
    return s + (f";EntityPath={hub}" if hub else "")


def test_az_eventhubs_namespace_hub_groups_rules_and_keys(az):
    suffix = uuid.uuid4().hex[:8]
    group, ns = f"rg-eh-{suffix}", f"ehns-{suffix}"
    az("group", "create", "-n", group, "-l", "eastus2")
    common = ["-g", group, "--namespace-name", ns]

    created = az("eventhubs", "namespace", "create", "-g", group, "-n", ns, "-l", "eastus2",
                 "--sku", "Standard", "--capacity", "2", "--tags", "team=a")
    assert created["provisioningState"] == "Succeeded"
    assert created["sku"] == {"name": "Standard", "tier": "Standard", "capacity": 2}
    # The emulator's Event Hubs REST listener, which serves every namespace.
    assert created["serviceBusEndpoint"] == az.emulator.endpoints["eventHubs"]["rest"] + "/"
    assert created["status"] == "Active"
    shown = az("eventhubs", "namespace", "show", "-g", group, "-n", ns)
    assert shown["id"].endswith(f"/providers/Microsoft.EventHub/namespaces/{ns}")
    assert shown["tags"] == {"team": "a"}
    assert [n["name"] for n in az("eventhubs", "namespace", "list", "-g", group)] == [ns]

    hub = az("eventhubs", "eventhub", "create", *common, "-n", "orders",
             "--partition-count", "8", "--retention-time-in-hours", "48", "--cleanup-policy", "Delete")
    assert hub["partitionCount"] == 8
    assert hub["partitionIds"] == [str(i) for i in range(8)]
    assert hub["retentionDescription"]["retentionTimeInHours"] == 48
    assert hub["messageRetentionInDays"] == 2
    assert az("eventhubs", "eventhub", "show", *common, "-n", "orders")["status"] == "Active"
    az("eventhubs", "eventhub", "create", *common, "-n", "audit")
    assert [h["name"] for h in az("eventhubs", "eventhub", "list", *common)] == ["audit", "orders"]
    too_many = az.fails("eventhubs", "eventhub", "create", *common, "-n", "wide", "--partition-count", "33")
    assert "BadRequest" in too_many.stderr

    hub_args = [*common, "--eventhub-name", "orders"]
    az("eventhubs", "eventhub", "consumer-group", "create", *hub_args, "-n", "analytics", "--user-metadata", "team a")
    groups = az("eventhubs", "eventhub", "consumer-group", "list", *hub_args)
    assert [g["name"] for g in groups] == ["$Default", "analytics"]
    az("eventhubs", "eventhub", "consumer-group", "delete", *hub_args, "-n", "analytics")
    assert [g["name"] for g in az("eventhubs", "eventhub", "consumer-group", "list", *hub_args)] == ["$Default"]
    refused = az.fails("eventhubs", "eventhub", "consumer-group", "delete", *hub_args, "-n", "$Default")
    assert "BadRequest" in refused.stderr

    rule = az("eventhubs", "namespace", "authorization-rule", "create", *common, "-n", "app", "--rights", "Listen", "Send")
    assert rule["rights"] == ["Listen", "Send"]
    manage_alone = az.fails("eventhubs", "namespace", "authorization-rule", "create", *common, "-n", "admin", "--rights", "Manage")
    assert "Listen and Send" in manage_alone.stderr
    keys = az("eventhubs", "namespace", "authorization-rule", "keys", "list", *common, "--name", "app")
    assert keys["keyName"] == "app"
    assert len(base64.b64decode(keys["primaryKey"])) == 32
    assert keys["primaryConnectionString"] == connection_string(az.emulator.endpoints, "app", keys["primaryKey"])
    root = az("eventhubs", "namespace", "authorization-rule", "keys", "list", *common, "--name", "RootManageSharedAccessKey")
    assert root["secondaryConnectionString"] == connection_string(az.emulator.endpoints, "RootManageSharedAccessKey", root["secondaryKey"])
    renewed = az("eventhubs", "namespace", "authorization-rule", "keys", "renew", *common, "--name", "app", "--key", "PrimaryKey")
    assert renewed["primaryKey"] != keys["primaryKey"]
    assert renewed["secondaryKey"] == keys["secondaryKey"]

    az("eventhubs", "eventhub", "authorization-rule", "create", *hub_args, "-n", "sender", "--rights", "Send")
    hub_keys = az("eventhubs", "eventhub", "authorization-rule", "keys", "list", *hub_args, "--name", "sender")
    assert hub_keys["primaryConnectionString"] == connection_string(az.emulator.endpoints, "sender", hub_keys["primaryKey"], "orders")

    # The provider and the generic resource commands know the types.
    provider = az("provider", "show", "-n", "Microsoft.EventHub")
    assert provider["registrationState"] == "Registered"
    listed = az("resource", "list", "-g", group, "--resource-type", "Microsoft.EventHub/namespaces")
    assert [r["name"] for r in listed] == [ns]
    by_id = az("resource", "show", "--ids", hub["id"])
    assert by_id["properties"]["partitionCount"] == 8

    az("eventhubs", "eventhub", "delete", *common, "-n", "audit")
    missing = az.fails("eventhubs", "eventhub", "show", *common, "-n", "audit")
    assert missing.returncode == 3, missing.stderr
    az("eventhubs", "namespace", "delete", "-g", group, "-n", ns)
    assert az.fails("eventhubs", "namespace", "show", "-g", group, "-n", ns).returncode == 3
    parent_gone = az.fails("eventhubs", "eventhub", "show", *common, "-n", "orders")
    assert "ParentResourceNotFound" in parent_gone.stderr
    az("group", "delete", "-n", group, "--yes")


@pytest.fixture(scope="module")
def eventhub(emulator, credential):
    return EventHubManagementClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))


def test_sdk_eventhub_management_client(eventhub, resources, emulator):
    eventhub_endpoints = emulator.endpoints
    suffix = uuid.uuid4().hex[:8]
    group, ns = f"rg-ehsdk-{suffix}", f"ehsdk-{suffix}"
    resources.resource_groups.create_or_update(group, {"location": "eastus2"})

    namespace = eventhub.namespaces.begin_create_or_update(
        group, ns, {"location": "eastus2", "sku": {"name": "Basic", "tier": "Basic"}}).result()
    assert namespace.provisioning_state == "Succeeded"
    assert namespace.kafka_enabled is False
    hub = eventhub.event_hubs.create_or_update(group, ns, "telemetry", {"properties": {"partitionCount": 2}})
    assert hub.partition_ids == ["0", "1"]
    assert hub.message_retention_in_days == 1
    with pytest.raises(HttpResponseError) as too_long:
        eventhub.event_hubs.create_or_update(group, ns, "long", {"properties": {"messageRetentionInDays": 2}})
    assert too_long.value.status_code == 400

    eventhub.consumer_groups.create_or_update(group, ns, "telemetry", "reader", {})
    assert [g.name for g in eventhub.consumer_groups.list_by_event_hub(group, ns, "telemetry")] == ["$Default", "reader"]
    eventhub.event_hubs.create_or_update_authorization_rule(
        group, ns, "telemetry", "listen", {"properties": {"rights": ["Listen"]}})
    keys = eventhub.event_hubs.list_keys(group, ns, "telemetry", "listen")
    assert keys.primary_connection_string == connection_string(eventhub_endpoints, "listen", keys.primary_key, "telemetry")
    regenerated = eventhub.event_hubs.regenerate_keys(group, ns, "telemetry", "listen", {"keyType": "SecondaryKey"})
    assert regenerated.secondary_key != keys.secondary_key and regenerated.primary_key == keys.primary_key
    rules = [r.name for r in eventhub.namespaces.list_authorization_rules(group, ns)]
    assert rules == ["RootManageSharedAccessKey"]

    eventhub.namespaces.begin_delete(group, ns).result()
    with pytest.raises(ResourceNotFoundError):
        eventhub.namespaces.get(group, ns)
    resources.resource_groups.begin_delete(group).result()
