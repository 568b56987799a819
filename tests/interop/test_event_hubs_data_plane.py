"""The official azure-eventhub SDK (5.15.1, pyamqp) against the emulator's
Event Hubs data plane, with the connection strings `listKeys` gives plus
`;UseDevelopmentEmulator=true`: producing (single, batch, partition key),
consuming from every kind of start position, the management properties,
refused keys and rights, a restart after `kill -9`, and the REST send API
read back through the SDK."""

import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest
from azure.eventhub import EventData, EventHubConsumerClient, EventHubProducerClient
from azure.eventhub.exceptions import AuthenticationError, ConnectError, EventHubError
from azure.mgmt.eventhub import EventHubManagementClient

from conftest import RunningEmulator, client_kwargs

EMULATOR = ";UseDevelopmentEmulator=true"


class Namespace:
    """A namespace with hub `orders` (2 partitions), a consumer group
    `audit`, and hub rules `sender` (Send) and `listener` (Listen)."""

    def __init__(self, emulator, credential, resources):
        self.emulator = emulator
        self.mgmt = EventHubManagementClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))
        suffix = uuid.uuid4().hex[:8]
        self.group, self.name = f"rg-ehdp-{suffix}", f"ehdp-{suffix}"
        resources.resource_groups.create_or_update(self.group, {"location": "eastus2"})
        self.mgmt.namespaces.begin_create_or_update(
            self.group, self.name, {"location": "eastus2", "sku": {"name": "Standard", "tier": "Standard"}}
        ).result()
        self.create_hub("orders")
        for rule, rights in (("sender", ["Send"]), ("listener", ["Listen"])):
            self.mgmt.event_hubs.create_or_update_authorization_rule(
                self.group, self.name, "orders", rule, {"properties": {"rights": rights}}
            )

    def create_hub(self, hub):
        self.mgmt.event_hubs.create_or_update(self.group, self.name, hub, {"properties": {"partitionCount": 2}})
        self.mgmt.consumer_groups.create_or_update(self.group, self.name, hub, "audit", {})

    def root(self, hub="orders"):
        keys = self.mgmt.namespaces.list_keys(self.group, self.name, "RootManageSharedAccessKey")
        return keys.primary_connection_string + f";EntityPath={hub}" + EMULATOR

    def hub_rule(self, rule):
        keys = self.mgmt.event_hubs.list_keys(self.group, self.name, "orders", rule)
        return keys.primary_connection_string + EMULATOR


@pytest.fixture(scope="module")
def namespace(emulator, credential, resources):
    return Namespace(emulator, credential, resources)


def collect(conn_str, partition, count, starting_position="-1", inclusive=False, group="$Default", timeout=30):
    """Receives from one partition until `count` events arrived (or the
    timeout); returns them."""
    events, errors = [], []
    client = EventHubConsumerClient.from_connection_string(conn_str, consumer_group=group)

    def on_event(_, event):
        if event is not None:
            events.append(event)

    def on_error(_, error):
        errors.append(error)

    thread = threading.Thread(
        target=client.receive,
        kwargs={
            "on_event": on_event,
            "on_error": on_error,
            "partition_id": partition,
            "starting_position": starting_position,
            "starting_position_inclusive": inclusive,
        },
        daemon=True,
    )
    thread.start()
    deadline = time.time() + timeout
    while len(events) < count and time.time() < deadline and not errors:
        time.sleep(0.05)
    client.close()
    thread.join(10)
    if errors and not events:
        raise errors[0]
    return events


def bodies(events):
    return [e.body_as_str() for e in events]


def test_produce_single_batch_and_keyed_then_consume_from_the_start(namespace):
    producer = EventHubProducerClient.from_connection_string(namespace.hub_rule("sender"))
    with producer:
        producer.send_event(EventData("single"), partition_id="0")
        batch = producer.create_batch(partition_id="0")
        for i in range(3):
            event = EventData(f"batched-{i}")
            event.properties = {"index": i, "kind": "test"}
            batch.add(event)
        producer.send_batch(batch)
        keyed = producer.create_batch(partition_key="tenant-42")
        keyed.add(EventData("keyed-a"))
        keyed.add(EventData("keyed-b"))
        producer.send_batch(keyed)

    listener = namespace.hub_rule("listener")
    first = collect(listener, "0", 4)
    assert bodies(first)[:4] == ["single", "batched-0", "batched-1", "batched-2"]
    assert [e.sequence_number for e in first[:4]] == [0, 1, 2, 3]
    assert all(isinstance(e.offset, str) for e in first)
    assert first[2].properties[b"index"] == 1
    assert first[1].enqueued_time.tzinfo is not None

    keyed_events = [e for p in ("0", "1") for e in collect(listener, p, 1 if p == "1" else 6, timeout=3)
                    if e.body_as_str().startswith("keyed")]
    assert bodies(keyed_events) == ["keyed-a", "keyed-b"]
    assert all(e.partition_key == b"tenant-42" or e.partition_key == "tenant-42" for e in keyed_events)


def test_start_positions_offset_sequence_time_and_latest(namespace):
    producer = EventHubProducerClient.from_connection_string(namespace.root())
    with producer:
        for i in range(5):
            producer.send_event(EventData(f"pos-{i}"), partition_id="1")
            time.sleep(0.01)
    root = namespace.root()
    everything = [e for e in collect(root, "1", 100, timeout=3)]
    ours = [e for e in everything if e.body_as_str().startswith("pos-")]
    assert bodies(ours) == [f"pos-{i}" for i in range(5)]
    second = ours[1]

    after_offset = collect(root, "1", 3, starting_position=second.offset)
    assert bodies(after_offset)[:3] == ["pos-2", "pos-3", "pos-4"]
    from_offset = collect(root, "1", 4, starting_position=second.offset, inclusive=True)
    assert bodies(from_offset)[:4] == ["pos-1", "pos-2", "pos-3", "pos-4"]
    after_sequence = collect(root, "1", 2, starting_position=ours[2].sequence_number)
    assert bodies(after_sequence)[:2] == ["pos-3", "pos-4"]
    after_time = collect(root, "1", 1, starting_position=ours[3].enqueued_time)
    assert bodies(after_time)[0] == "pos-4"
    # In the audit consumer group too.
    assert bodies(collect(root, "1", 2, starting_position=ours[2].sequence_number, group="audit"))[:2] == ["pos-3", "pos-4"]

    # @latest: only what is sent after the receiver started.
    late, errors = [], []
    client = EventHubConsumerClient.from_connection_string(root, consumer_group="$Default")
    thread = threading.Thread(
        target=client.receive,
        kwargs={"on_event": lambda _, e: e and late.append(e), "partition_id": "1", "starting_position": "@latest"},
        daemon=True,
    )
    thread.start()
    time.sleep(2)
    with EventHubProducerClient.from_connection_string(root) as producer:
        producer.send_event(EventData("after-latest"), partition_id="1")
    deadline = time.time() + 15
    while not late and time.time() < deadline:
        time.sleep(0.05)
    client.close()
    thread.join(10)
    assert bodies(late) == ["after-latest"]


def test_management_properties(namespace):
    with EventHubProducerClient.from_connection_string(namespace.root()) as producer:
        producer.send_event(EventData("props"), partition_id="0")
        hub = producer.get_eventhub_properties()
        assert hub["eventhub_name"] == "orders"
        assert hub["partition_ids"] == ["0", "1"]
        assert isinstance(hub["created_at"], datetime.datetime)
        partition = producer.get_partition_properties("0")
        assert partition["id"] == "0"
        assert partition["is_empty"] is False
        assert partition["last_enqueued_sequence_number"] >= partition["beginning_sequence_number"]
        assert int(partition["last_enqueued_offset"]) >= 0
    consumer = EventHubConsumerClient.from_connection_string(namespace.hub_rule("listener"), consumer_group="$Default")
    with consumer:
        assert consumer.get_partition_ids() == ["0", "1"]


def test_wrong_key_and_missing_rights_are_refused(namespace):
    good = namespace.hub_rule("sender")
    key = good.split("SharedAccessKey=")[1].split(";")[0]
    wrong = good.replace(key, "A" * 43 + "=")
    with pytest.raises((AuthenticationError, ConnectError, EventHubError)):
        with EventHubProducerClient.from_connection_string(wrong, retry_total=0) as producer:
            producer.send_event(EventData("never"))
    # The Listen-only rule cannot send.
    with pytest.raises(EventHubError):
        with EventHubProducerClient.from_connection_string(namespace.hub_rule("listener"), retry_total=0) as producer:
            producer.send_event(EventData("never"))
    # A hub that does not exist.
    with pytest.raises(EventHubError):
        with EventHubProducerClient.from_connection_string(namespace.root("missing"), retry_total=0) as producer:
            producer.send_event(EventData("never"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kill_9_and_restart_lose_nothing_and_repeat_nothing(credential, resources):
    """Its own emulator on a fixed AMQP port, killed with SIGKILL between
    two consumers; the second starts from the first one's last offset."""
    port = free_port()
    # RunningEmulator points REQUESTS_CA_BUNDLE at its own CA: put back the
    # session emulator's afterwards.
    session_ca = os.environ.get("REQUESTS_CA_BUNDLE")
    running = RunningEmulator("--event-hubs-port", str(port))
    try:
        from azure.identity import ClientSecretCredential

        ep = running.endpoints
        cred = ClientSecretCredential(ep["tenantId"], ep["clientId"], ep["clientSecret"],
                                      authority=ep["authority"], disable_instance_discovery=True)
        from azure.mgmt.resource.resources import ResourceManagementClient

        ns = Namespace(running, cred, ResourceManagementClient(cred, ep["subscriptionId"], **client_kwargs(running)))
        conn = ns.root()
        with EventHubProducerClient.from_connection_string(conn) as producer:
            for i in range(10):
                producer.send_event(EventData(f"before-{i}"), partition_id="0")
        seen = collect(conn, "0", 10)
        assert bodies(seen) == [f"before-{i}" for i in range(10)]
        last_offset = seen[-1].offset

        with EventHubProducerClient.from_connection_string(conn) as producer:
            for i in range(5):
                producer.send_event(EventData(f"unread-{i}"), partition_id="0")
        running.process.send_signal(signal.SIGKILL)
        running.process.wait(10)
        restarted = subprocess.Popen(
            [running.process.args[0], "--data-dir", running.dir.name, "--port", "0", "--data-plane-port", "0",
             "--event-hubs-port", str(port), "--event-hubs-rest-port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        running.process = restarted
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        with EventHubProducerClient.from_connection_string(conn) as producer:
            producer.send_event(EventData("after-restart"), partition_id="0")
        rest = collect(conn, "0", 6, starting_position=last_offset)
        assert bodies(rest) == [f"unread-{i}" for i in range(5)] + ["after-restart"]
        assert [e.sequence_number for e in rest] == list(range(10, 16))
    finally:
        running.stop()
        if session_ca:
            os.environ["REQUESTS_CA_BUNDLE"] = session_ca


def sas_token(resource, key_name, key, ttl=3600):
    """A SAS token as the service documents it (the SDKs make the same)."""
    import base64
    import hashlib
    import hmac
    import urllib.parse

    sr = urllib.parse.quote_plus(resource)
    se = int(time.time()) + ttl
    signature = base64.b64encode(hmac.new(key.encode(), f"{sr}\n{se}".encode(), hashlib.sha256).digest())
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote_plus(signature)}&se={se}&skn={key_name}"


def rest_post(emulator, path, body, token, headers=None):
    context = ssl.create_default_context(cafile=emulator.endpoints["caCertificate"])
    request = urllib.request.Request(
        emulator.endpoints["eventHubs"]["rest"] + path,
        data=body,
        method="POST",
        headers={"Authorization": token, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_rest_send_is_read_back_by_the_sdk(emulator, namespace):
    keys = namespace.mgmt.event_hubs.list_keys(namespace.group, namespace.name, "orders", "sender")
    resource = emulator.endpoints["eventHubs"]["rest"] + "/orders"
    token = sas_token(resource, "sender", keys.primary_key)
    status, _ = rest_post(emulator, "/orders/partitions/1/messages", b"rest-single", token)
    assert status == 201
    batch = json.dumps([
        {"Body": "rest-batch-0", "UserProperties": {"source": "curl"}},
        {"Body": "rest-batch-1"},
    ]).encode()
    status, _ = rest_post(emulator, "/orders/partitions/1/messages", batch, token,
                          {"Content-Type": "application/vnd.microsoft.servicebus.json"})
    assert status == 201
    status, _ = rest_post(emulator, "/orders/messages", b"rest-keyed", token,
                          {"BrokerProperties": json.dumps({"PartitionKey": "k1"})})
    assert status == 201

    received = [e for e in collect(namespace.hub_rule("listener"), "1", 100, timeout=3)
                if e.body_as_str().startswith("rest-")]
    assert bodies(received)[:3] == ["rest-single", "rest-batch-0", "rest-batch-1"]
    assert received[1].properties[b"source"] == b"curl"

    wrong = sas_token(resource, "sender", "A" * 43 + "=")
    status, body = rest_post(emulator, "/orders/messages", b"x", wrong)
    assert status == 401 and "<Code>401</Code>" in body
    listen_keys = namespace.mgmt.event_hubs.list_keys(namespace.group, namespace.name, "orders", "listener")
    status, body = rest_post(emulator, "/orders/messages", b"x", sas_token(resource, "listener", listen_keys.primary_key))
    assert status == 401 and "Send" in body
    root = namespace.mgmt.namespaces.list_keys(namespace.group, namespace.name, "RootManageSharedAccessKey")
    status, body = rest_post(emulator, "/missing/messages", b"x",
                             sas_token(emulator.endpoints["eventHubs"]["rest"], "RootManageSharedAccessKey", root.primary_key))
    assert status == 404 and "could not be found" in body
