"""Faults injected through the emulator's admin surface (`/emulator/faults`),
seen by the official Azure SDK for Python unchanged: its long-running-operation
pollers raise the injected ARM error, or wait out the injected time."""

import time
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError

SKU = {"family": "B", "name": "Standard_B1"}
CLUSTERS = "Microsoft.HardwareSecurityModules/cloudHsmClusters"


def new_group(resources):
    name = f"rg-{uuid.uuid4().hex[:8]}"
    resources.resource_groups.create_or_update(name, {"location": "eastus2"})
    return name


@pytest.fixture
def faults(emulator, credential):
    """POSTs a rule as the well-known principal (the admin); clears every rule after the test."""
    base = emulator.endpoints["resourceManager"].rstrip("/") + "/emulator/faults"
    token = credential.get_token("https://management.azure.com/.default").token
    headers = {"Authorization": f"Bearer {token}"}

    def add(rule):
        reply = requests.post(base + "/operations", json=rule, headers=headers, timeout=30)
        assert reply.status_code == 201, reply.text
        return reply.json()

    yield add
    requests.delete(base + "/operations", headers=headers, timeout=30).raise_for_status()


def test_the_sdk_poller_raises_an_injected_create_failure(hsm, resources, faults):
    group = new_group(resources)
    faults(
        {
            "resourceType": CLUSTERS,
            "operation": "create",
            "error": {"code": "InjectedCapacityError", "message": "No HSM capacity in eastus2 (injected).", "status": 503},
        }
    )
    poller = hsm.cloud_hsm_clusters.begin_create_or_update(group, "faulty", {"location": "eastus2", "sku": SKU})
    with pytest.raises(HttpResponseError) as failed:
        poller.result()
    assert failed.value.error.code == "InjectedCapacityError"
    assert failed.value.error.message == "No HSM capacity in eastus2 (injected)."
    assert poller.status() == "Failed"
    cluster = hsm.cloud_hsm_clusters.get(group, "faulty")
    assert cluster.properties.provisioning_state == "Failed"
    # The rule was for one operation: the retry a user's code makes succeeds.
    retried = hsm.cloud_hsm_clusters.begin_create_or_update(group, "faulty", {"location": "eastus2", "sku": SKU}).result()
    assert retried.properties.provisioning_state == "Succeeded"


def test_the_sdk_poller_raises_an_injected_delete_failure(hsm, resources, faults):
    group = new_group(resources)
    hsm.cloud_hsm_clusters.begin_create_or_update(group, "kept", {"location": "eastus2", "sku": SKU}).result()
    faults(
        {
            "resourceType": CLUSTERS,
            "operation": "delete",
            "error": {"code": "Conflict", "message": "The HSMs are busy (injected).", "status": 409},
        }
    )
    with pytest.raises(HttpResponseError) as failed:
        hsm.cloud_hsm_clusters.begin_delete(group, "kept").result()
    assert failed.value.status_code == 409
    assert failed.value.error.code == "Conflict"
    assert hsm.cloud_hsm_clusters.get(group, "kept").properties.provisioning_state == "Failed"
    hsm.cloud_hsm_clusters.begin_delete(group, "kept").result()


def test_the_sdk_poller_waits_out_an_injected_delay(hsm, resources, faults):
    group = new_group(resources)
    hsm.cloud_hsm_clusters.begin_create_or_update(group, "slow", {"location": "eastus2", "sku": SKU}).result()
    faults({"resourceType": CLUSTERS, "operation": "update", "duration": "3s"})
    started = time.monotonic()
    updated = hsm.cloud_hsm_clusters.begin_update(group, "slow", {"tags": {"Slow": "yes"}}).result()
    assert time.monotonic() - started >= 3
    assert updated.tags == {"Slow": "yes"}
    assert updated.properties.provisioning_state == "Succeeded"
