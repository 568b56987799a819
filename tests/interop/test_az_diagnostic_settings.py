"""The real `az monitor diagnostic-settings` (azure-cli 2.91: api-version
2021-05-01-preview; `categories` at 2017-05-01-preview) against the
emulator's diagnostic settings on a Cloud HSM cluster, streaming to an Event
Hubs namespace made with `az eventhubs`. The control plane only; delivery
is test_diagnostics_delivery.py's."""

import json
import uuid

HSM_TYPE = "Microsoft.HardwareSecurityModules/cloudHsmClusters"


def test_az_monitor_diagnostic_settings_on_a_cluster(az):
    suffix = uuid.uuid4().hex[:8]
    group, ns = f"rg-diag-{suffix}", f"logsns-{suffix}"
    az("group", "create", "-n", group, "-l", "eastus2")
    cluster = az("resource", "create", "-g", group, "-n", "chsm-diag", "--resource-type", HSM_TYPE,
                 "--is-full-object", "-p", json.dumps({"location": "eastus2", "sku": {"family": "B", "name": "Standard_B1"}}))
    resource = cluster["id"]
    az("eventhubs", "namespace", "create", "-g", group, "-n", ns, "-l", "eastus2", "--sku", "Standard")
    az("eventhubs", "eventhub", "create", "-g", group, "--namespace-name", ns, "-n", "hsm-logs")
    sender = az("eventhubs", "namespace", "authorization-rule", "create", "-g", group, "--namespace-name", ns,
                "-n", "sender", "--rights", "Send")
    root = az("eventhubs", "namespace", "authorization-rule", "show", "-g", group, "--namespace-name", ns,
              "-n", "RootManageSharedAccessKey")

    # az asks at 2017-05-01-preview, whose schema has no categoryGroups: it prints the rest.
    categories = az("monitor", "diagnostic-settings", "categories", "list", "--resource", resource)
    assert [(c["name"], c["categoryType"]) for c in categories["value"]] == [("HsmServiceOperations", "Logs")]
    one = az("monitor", "diagnostic-settings", "categories", "show", "--resource", resource, "-n", "HsmServiceOperations")
    assert one["id"].endswith("/providers/microsoft.insights/diagnosticSettingsCategories/HsmServiceOperations")

    logs = json.dumps([{"categoryGroup": "allLogs", "enabled": True}])
    created = az("monitor", "diagnostic-settings", "create", "--resource", resource, "-n", "to-hub",
                 "--event-hub-rule", root["id"], "--event-hub", "hsm-logs", "--logs", logs)
    assert created["name"] == "to-hub"
    assert created["eventHubAuthorizationRuleId"] == root["id"]
    assert created["eventHubName"] == "hsm-logs"
    assert created["logs"][0]["categoryGroup"] == "allLogs"
    # A Send-only rule is enough for a named hub of its namespace.
    az("monitor", "diagnostic-settings", "create", "--resource", resource, "-n", "send-only",
       "--event-hub-rule", sender["id"], "--event-hub", "hsm-logs",
       "--logs", json.dumps([{"category": "HsmServiceOperations", "enabled": True}]))
    storage = f"/subscriptions/{cluster['id'].split('/')[2]}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
    az("monitor", "diagnostic-settings", "create", "--resource", resource, "-n", "to-storage",
       "--storage-account", storage, "--logs", logs)

    listed = az("monitor", "diagnostic-settings", "list", "--resource", resource)
    assert sorted(s["name"] for s in listed) == ["send-only", "to-hub", "to-storage"]
    shown = az("monitor", "diagnostic-settings", "show", "--resource", resource, "-n", "to-storage")
    assert shown["storageAccountId"] == storage

    # Without a hub name az sends the namespace's name, so the rule needs Manage.
    refused = az.fails("monitor", "diagnostic-settings", "create", "--resource", resource, "-n", "bad",
                       "--event-hub-rule", sender["id"], "--logs", logs)
    assert "requires manage|send|listen access" in refused.stderr
    unknown = az.fails("monitor", "diagnostic-settings", "create", "--resource", resource, "-n", "bad",
                       "--storage-account", storage, "--logs", json.dumps([{"category": "AuditEvent", "enabled": True}]))
    assert "Category 'AuditEvent' is not supported." in unknown.stderr
    metrics = az.fails("monitor", "diagnostic-settings", "create", "--resource", resource, "-n", "bad",
                       "--storage-account", storage, "--metrics", json.dumps([{"category": "AllMetrics", "enabled": True}]))
    assert "Metric category 'AllMetrics' is not supported" in metrics.stderr

    az("monitor", "diagnostic-settings", "delete", "--resource", resource, "-n", "to-hub")
    remaining = az("monitor", "diagnostic-settings", "list", "--resource", resource)
    assert sorted(s["name"] for s in remaining) == ["send-only", "to-storage"]
    missing = az.fails("monitor", "diagnostic-settings", "show", "--resource", resource, "-n", "to-hub")
    assert "ResourceNotFound" in missing.stderr
