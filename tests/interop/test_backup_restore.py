"""Backup and restore with the official SDK's pollers, against a real Azurite
(started here with the emulator's certificate and OAuth): identity → role
assignment → activate → users and keys → begin_backup → new cluster →
begin_restore → sign with the restored key and verify under the public key
taken before the backup."""

import base64
import json
import os
import pathlib
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import ROOT, client_kwargs

SKU = {"family": "B", "name": "Standard_B1"}
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
IDENTITY_HEADER = "CloudHsmEmulator~WellKnownIdentityHeader"
SIGN, VERIFY, LABEL = 264, 266, 3


def azurite_binary():
    return os.environ.get("AZURITE_BLOB_BIN", str(ROOT / ".tooling" / "azurite" / "node_modules" / ".bin" / "azurite-blob"))


@pytest.fixture(scope="module")
def azurite(emulator):
    data_dir = pathlib.Path(emulator.endpoints["caCertificate"]).parent
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = tempfile.TemporaryDirectory()
    cert, key = pathlib.Path(work.name) / "cert.pem", pathlib.Path(work.name) / "key.pem"
    cert.write_bytes((data_dir / "server.pem").read_bytes())
    key.write_bytes((data_dir / "server.key").read_bytes())
    process = subprocess.Popen(
        [azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", work.name,
         "--disableTelemetry", "--silent", "--oauth", "basic", "--cert", str(cert), "--key", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                raise RuntimeError("Azurite did not start")
            time.sleep(0.05)
    yield f"https://127.0.0.1:{port}/devstoreaccount1"
    process.terminate()
    process.wait(timeout=15)
    work.cleanup()


class Hsm:
    """The emulator's HSM network API over HTTPS + JSON, addressed by one HSM's FQDN."""

    def __init__(self, emulator, cluster):
        data_dir = pathlib.Path(emulator.endpoints["caCertificate"]).parent.parent
        dp = json.loads((data_dir / "data-plane.json").read_text())
        self.base = f"{dp['endpoint']}/hsms/{cluster.properties.hsms[0].fqdn}"
        self.ca = dp["caCertificate"]
        self.headers = {}

    def call(self, method, path, body=None):
        r = requests.request(method, self.base + path, json=body, headers=self.headers, verify=self.ca, timeout=30)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def login(self, user_type, user, password):
        self.headers = {}
        token = self.call("POST", "/login", {"user_type": user_type, "user": user, "password": password})["token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        session = self.call("POST", "/sessions")["session"]
        self.headers["x-hsm-session"] = str(session)

    def activate(self, new_password):
        """The onboarding flow as a cluster owner runs it: the partition's CSR,
        a PO key and certificate made here (the emulator never sees PO.key),
        the CSR signed into the POAC, both stored, then PRECO's password
        change activates the cluster."""
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.login("PRECO", "admin", "password")
        csr = x509.load_pem_x509_csr(self.call("GET", "/partition/csr")["csr"].encode())
        po_key = ec.generate_private_key(ec.SECP256R1())
        owner = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Partition Owner")])
        now = datetime.datetime.now(datetime.timezone.utc)

        def certificate(subject, public_key, ca):
            return (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(owner)
                .public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .sign(po_key, hashes.SHA256())
                .public_bytes(serialization.Encoding.PEM)
                .decode()
            )

        po_crt = certificate(owner, po_key.public_key(), True)
        poac = certificate(csr.subject, csr.public_key(), False)
        self.call("POST", "/partition/certificates", {"certificate_type": 4, "certificate": po_crt})
        self.call("POST", "/partition/certificates", {"certificate_type": 8, "certificate": poac})
        self.call("POST", "/users/admin/password", {"password": new_password})

    def sign(self, handle, data):
        out = self.call("POST", f"/keys/{handle}/sign", {"mechanism": "SHA256_RSA_PKCS", "data": base64.b64encode(data).decode()})
        return base64.b64decode(out["data"])


def new_cluster(hsm, group, name, identity_id):
    return hsm.cloud_hsm_clusters.begin_create_or_update(group, name, {
        "location": "eastus2", "sku": SKU,
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id: {}}},
    }).result()


def test_backup_and_restore_with_the_sdk_pollers(emulator, credential, hsm, resources, msi, azurite):
    from azure.mgmt.authorization import AuthorizationManagementClient

    sub = emulator.endpoints["subscriptionId"]
    group = f"rg-{uuid.uuid4().hex[:8]}"
    resources.resource_groups.create_or_update(group, {"location": "eastus2"})
    identity = msi.user_assigned_identities.create_or_update(group, "backup-id", {"location": "eastus2"})

    # The identity gets Storage Blob Data Contributor on Azurite's account.
    auth = AuthorizationManagementClient(credential, sub, **client_kwargs(emulator))
    scope = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
    assignment = auth.role_assignments.create(scope, str(uuid.uuid4()), {
        "role_definition_id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_DATA_CONTRIBUTOR}",
        "principal_id": identity.principal_id, "principal_type": "ServicePrincipal"})
    assert assignment.scope == scope
    assert [a.name for a in auth.role_assignments.list_for_scope(scope)] == [assignment.name]

    # The container, created with the identity's own storage token.
    token = requests.get(emulator.endpoints["resourceManager"] + "msi/token", params={
        "api-version": "2019-08-01", "resource": "https://storage.azure.com", "client_id": identity.client_id},
        headers={"X-IDENTITY-HEADER": IDENTITY_HEADER}).json()["access_token"]
    created = requests.put(f"{azurite}/backups?restype=container", headers={
        "Authorization": f"Bearer {token}", "x-ms-version": "2025-11-05"}, verify=os.environ["REQUESTS_CA_BUNDLE"])
    assert created.status_code == 201, created.text
    container = f"{azurite}/backups"

    # An active cluster with a user and a signing key.
    source = new_cluster(hsm, group, "chsm-src", identity.id)
    dp = Hsm(emulator, source)
    dp.activate("officer-pass1")
    dp.login("CO", "admin", "officer-pass1")
    dp.call("POST", "/users", {"user_type": "CU", "name": "cu1", "password": "user1234"})
    dp.login("CU", "cu1", "user1234")
    public, private = dp.call("POST", "/keypairs", {
        "spec": {"Rsa": {"bits": 2048}},
        "attributes": [[SIGN, {"Bool": True}], [VERIFY, {"Bool": True}], [LABEL, {"Text": "py-signer"}]]})["handles"]
    public_der = base64.b64decode(dp.call("GET", f"/keys/{public}/public")["data"])
    assert hsm.cloud_hsm_clusters.get(group, "chsm-src").properties.activation_state == "Active"

    validated = hsm.cloud_hsm_clusters.begin_validate_backup_properties(
        group, "chsm-src", {"azureStorageBlobContainerUri": container}).result()
    assert validated.properties.status == "Succeeded"
    backup = hsm.cloud_hsm_clusters.begin_backup(group, "chsm-src", {"azureStorageBlobContainerUri": container}).result()
    assert backup.properties.status == "Succeeded"
    assert backup.properties.azure_storage_blob_container_uri == container
    assert backup.properties.backup_id and backup.properties.job_id
    # The SDK types this poller's result as None; its raw body is the BackupResult.
    raw = lambda response, _, __: response.http_response.json()
    status = hsm.cloud_hsm_cluster_backup_status.begin_get(group, "chsm-src", backup.properties.job_id, cls=raw).result()
    assert status["properties"]["backupId"] == backup.properties.backup_id

    target = new_cluster(hsm, group, "chsm-dst", identity.id)
    assert target.properties.activation_state == "NotActivated"
    restore_request = {"azureStorageBlobContainerUri": container, "backupId": backup.properties.backup_id}
    checked = hsm.cloud_hsm_clusters.begin_validate_restore_properties(group, "chsm-dst", restore_request).result()
    assert checked.properties.status == "Succeeded"
    restored = hsm.cloud_hsm_clusters.begin_restore(group, "chsm-dst", restore_request).result()
    assert restored.properties.status == "Succeeded"
    restore_status = hsm.cloud_hsm_cluster_restore_status.begin_get(group, "chsm-dst", restored.properties.job_id, cls=raw).result()
    assert restore_status["properties"]["status"] == "Succeeded"
    assert hsm.cloud_hsm_clusters.get(group, "chsm-dst").properties.activation_state == "Active"

    # The restored cluster: old password, same key, and its signature verifies
    # under the public key exported before the backup.
    restored_dp = Hsm(emulator, target)
    restored_dp.login("CU", "cu1", "user1234")
    assert restored_dp.call("POST", "/keys/find", {"filter": [[LABEL, {"Text": "py-signer"}]]})["handles"] == [public, private]
    signature = restored_dp.sign(private, b"restored")
    key = serialization.load_der_public_key(public_der)
    key.verify(signature, b"restored", padding.PKCS1v15(), hashes.SHA256())


def test_backup_errors_surface_as_sdk_errors(emulator, hsm, resources, msi, azurite):
    from azure.core.exceptions import HttpResponseError

    group = f"rg-{uuid.uuid4().hex[:8]}"
    resources.resource_groups.create_or_update(group, {"location": "eastus2"})
    identity = msi.user_assigned_identities.create_or_update(group, "noroles", {"location": "eastus2"})
    cluster = new_cluster(hsm, group, "chsm1", identity.id)
    dp = Hsm(emulator, cluster)
    dp.activate("officer-pass1")
    with pytest.raises(HttpResponseError) as sas:
        hsm.cloud_hsm_clusters.begin_backup(group, "chsm1", {
            "azureStorageBlobContainerUri": f"{azurite}/backups", "token": "sv=2022&sig=x"}).result()
    assert sas.value.status_code == 400 and sas.value.error.code == "InvalidParameter"
    # No role assignment: the poller ends with the 403 authorization error.
    with pytest.raises(HttpResponseError) as denied:
        hsm.cloud_hsm_clusters.begin_backup(group, "chsm1", {"azureStorageBlobContainerUri": f"{azurite}/backups"}).result()
    assert "AuthorizationPermissionMismatch" in str(denied.value)
