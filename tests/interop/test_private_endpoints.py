"""Private endpoints to a Cloud HSM cluster with the official SDKs: the
network client creates the endpoint, the Cloud HSM client approves, lists
and deletes the cluster's connection with its own pollers."""

import uuid

import pytest
from azure.core.exceptions import HttpResponseError

SKU = {"family": "B", "name": "Standard_B1"}


def test_private_endpoint_connection_lifecycle(hsm, resources, network, emulator):
    group = f"rg-{uuid.uuid4().hex[:8]}"
    resources.resource_groups.create_or_update(group, {"location": "eastus2"})
    cluster = hsm.cloud_hsm_clusters.begin_create_or_update(group, "chsm-pe", {"location": "eastus2", "sku": SKU}).result()

    links = list(hsm.cloud_hsm_cluster_private_link_resources.list_by_cloud_hsm_cluster(group, "chsm-pe"))
    assert [link.properties.group_id for link in links] == ["cloudHsm"]
    assert links[0].properties.required_zone_names == ["privatelink.cloudhsm.azure.net"]

    subnet = f"/subscriptions/{emulator.endpoints['subscriptionId']}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"
    endpoint = network.private_endpoints.begin_create_or_update(
        group,
        "pe-hsm",
        # The SDKs send a dict as the REST body, field names as on the wire.
        {
            "location": "eastus2",
            "properties": {
                "subnet": {"id": subnet},
                "manualPrivateLinkServiceConnections": [
                    {
                        "name": "to-hsm",
                        "properties": {"privateLinkServiceId": cluster.id, "groupIds": ["cloudHsm"], "requestMessage": "app team"},
                    }
                ],
            },
        },
    ).result()
    state = endpoint.manual_private_link_service_connections[0].private_link_service_connection_state
    assert state.status == "Pending"

    connections = list(hsm.private_endpoint_connections.list_by_cloud_hsm_cluster(group, "chsm-pe"))
    assert [c.name for c in connections] == ["pe-hsm"]
    assert connections[0].properties.private_endpoint.id.lower() == endpoint.id.lower()

    approved = hsm.cloud_hsm_cluster_private_endpoint_connections.create(
        group,
        "chsm-pe",
        "pe-hsm",
        {"properties": {"privateLinkServiceConnectionState": {"status": "Approved", "description": "approved by security"}}},
    )
    assert approved.properties.private_link_service_connection_state.status == "Approved"
    seen = network.private_endpoints.get(group, "pe-hsm")
    assert seen.manual_private_link_service_connections[0].private_link_service_connection_state.status == "Approved"
    shown = hsm.cloud_hsm_clusters.get(group, "chsm-pe")
    assert [c.name for c in shown.properties.private_endpoint_connections] == ["pe-hsm"]

    with pytest.raises(HttpResponseError) as bad:
        hsm.cloud_hsm_cluster_private_endpoint_connections.create(
            group, "chsm-pe", "no-such-pec", {"properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}
        )
    assert bad.value.status_code == 404

    hsm.cloud_hsm_cluster_private_endpoint_connections.begin_delete(group, "chsm-pe", "pe-hsm").result()
    assert list(hsm.private_endpoint_connections.list_by_cloud_hsm_cluster(group, "chsm-pe")) == []
    gone = network.private_endpoints.get(group, "pe-hsm")
    assert gone.manual_private_link_service_connections[0].private_link_service_connection_state.status == "Disconnected"
    network.private_endpoints.begin_delete(group, "pe-hsm").result()
