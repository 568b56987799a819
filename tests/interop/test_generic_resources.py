"""ARM's generic resource lists with azure-mgmt-resource, as `az resource
list` uses them: `resources.list(filter=...)` and `list_by_resource_group`,
over a cluster and identities (the session emulator pages every two items)."""

import datetime
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

SKU = {"family": "B", "name": "Standard_B1"}


def test_generic_lists_filter_expand_and_page(hsm, resources, msi):
    suffix = uuid.uuid4().hex[:8]
    group = f"rg-gen-{suffix}"
    resources.resource_groups.create_or_update(group, {"location": "eastus2"})
    hsm.cloud_hsm_clusters.begin_create_or_update(
        group, f"chsm-{suffix}", {"location": "eastus2", "sku": SKU, "tags": {"suite": suffix}}
    ).result()
    msi.user_assigned_identities.create_or_update(group, f"id-a-{suffix}", {"location": "eastus2", "tags": {"suite": suffix}})
    msi.user_assigned_identities.create_or_update(group, f"id-b-{suffix}", {"location": "eastus2"})

    # Three resources at two a page: the SDK follows the nextLink.
    in_group = list(resources.resources.list_by_resource_group(group))
    assert [r.name for r in in_group] == [f"chsm-{suffix}", f"id-a-{suffix}", f"id-b-{suffix}"]
    cluster = in_group[0]
    assert cluster.type == "Microsoft.HardwareSecurityModules/cloudHsmClusters"
    assert cluster.sku.name == "Standard_B1"
    assert cluster.tags == {"suite": suffix}
    assert cluster.properties is None and cluster.created_time is None

    by_group = list(resources.resources.list(filter=f"resourceGroup eq '{group.upper()}'"))
    assert [r.id for r in by_group] == [r.id for r in in_group]
    assert [r.name for r in resources.resources.list(filter=f"substringof('id-a-{suffix}', name)")] == [f"id-a-{suffix}"]

    tagged = list(resources.resources.list(filter=f"tagName eq 'suite' and tagValue eq '{suffix}'"))
    assert sorted(r.name for r in tagged) == [f"chsm-{suffix}", f"id-a-{suffix}"]
    assert all(r.tags is None for r in tagged), "a tag-value filter leaves tags out, as ARM documents"

    identities = list(
        resources.resources.list_by_resource_group(
            group,
            filter="resourceType eq 'microsoft.managedidentity/userassignedidentities'",
            expand="createdTime,changedTime,provisioningState",
        )
    )
    assert [r.name for r in identities] == [f"id-a-{suffix}", f"id-b-{suffix}"]
    for identity in identities:
        assert isinstance(identity.created_time, datetime.datetime)
        assert isinstance(identity.changed_time, datetime.datetime)
        assert identity.provisioning_state == "Succeeded"

    with pytest.raises(HttpResponseError) as combined:
        list(resources.resources.list(filter=f"tagName eq 'suite' and resourceGroup eq '{group}'"))
    assert combined.value.status_code == 400
    assert combined.value.error.code == "InvalidFilterInQueryString"

    with pytest.raises(HttpResponseError) as top:
        list(resources.resources.list(top=5000))
    assert top.value.error.code == "InvalidTopInQueryString"

    with pytest.raises(ResourceNotFoundError) as missing:
        list(resources.resources.list_by_resource_group(f"rg-missing-{suffix}"))
    assert missing.value.error.code == "ResourceGroupNotFound"
