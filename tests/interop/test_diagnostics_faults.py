"""The HSM operation log to an Event Hub through faults, watched by a live
azure-eventhub consumer as a user's monitoring would: the hub deleted and
recreated, the destination rule's key regenerated, and the emulator killed
with `kill -9` in the middle of a stream of signatures. Each time, every
operation a client saw acknowledged reaches the consumer, in order, and the
consumer (which checkpoints each event in the SDK's in-memory store and so
reconnects from its last one) never sees an event twice."""

import json
import os
import pathlib
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from azure.eventhub import EventHubConsumerClient

from conftest import ROOT, Az, RunningEmulator, register_emulator_cloud
from test_diagnostics_delivery import CU_PASSWORD, HSM_TYPE, activate_with_crypto_user

GROUP, CLUSTER, NAMESPACE, HUB = "rg-diag-faults", "chsm-faults", "logs-ns-faults", "hsm-logs"
EMULATOR = ";UseDevelopmentEmulator=true"


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class LiveConsumer:
    """Partition 0 of a hub received in a thread for as long as the test
    runs; checkpoints every event so a dropped connection resumes after it."""

    def __init__(self, conn_str):
        self.events, self.errors = [], []
        self.client = EventHubConsumerClient.from_connection_string(conn_str, consumer_group="$Default")

        def on_event(context, event):
            if event is not None:
                self.events.append(event)
                context.update_checkpoint(event)

        self.thread = threading.Thread(
            target=self.client.receive,
            kwargs={"on_event": on_event, "on_error": lambda _, e: self.errors.append(e), "partition_id": "0",
                    "starting_position": "-1", "load_balancing_interval": 1},
            daemon=True,
        )
        self.thread.start()

    def records(self):
        return [r for e in list(self.events) for r in json.loads(b"".join(e.body))["records"]]

    def signs(self):
        return len({r["correlationId"] for r in self.records() if r["operationName"] == "CN_SIGN"})

    def settled_signs(self, quiet=2.0, timeout=60):
        """The CN_SIGN count once nothing new has arrived for `quiet` s."""
        deadline, last, since = time.time() + timeout, -1, time.time()
        while time.time() < deadline:
            now = self.signs()
            if now != last:
                last, since = now, time.time()
            elif time.time() - since >= quiet:
                return now
            time.sleep(0.1)
        raise AssertionError("the consumer never settled")

    def wait_for_signs(self, count, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.signs() >= count:
                return
            time.sleep(0.25)
        raise AssertionError(f"{count} CN_SIGN records did not arrive; errors {self.errors[-3:]}")

    def close(self):
        self.client.close()
        self.thread.join(10)


@pytest.fixture(scope="module")
def world():
    """An emulator on fixed ports (so az, the utility's config and the
    consumer find it again after `kill -9`), a cluster activated with a
    crypto user's key, a namespace with rules `diagnostics` (the setting's)
    and `reader` (the consumer's), and the setting to hub HUB."""
    arm, data_plane, amqp, rest = free_ports(4)
    emulator = RunningEmulator("--provisioning-delay", "300ms", "--diagnostics-batch-interval", "100ms",
                               "--port", str(arm), "--data-plane-port", str(data_plane),
                               "--event-hubs-port", str(amqp), "--event-hubs-rest-port", str(rest))
    home, work = tempfile.TemporaryDirectory(), tempfile.TemporaryDirectory()
    az = Az(emulator, home.name)
    ep = emulator.endpoints
    register_emulator_cloud(az, "CloudHsmEmulator", ep["resourceManager"])
    az("login", "--service-principal", "-u", ep["clientId"], "-p", ep["clientSecret"], "--tenant", ep["tenantId"])
    az("group", "create", "-n", GROUP, "-l", "eastus2")
    cluster = az("resource", "create", "-g", GROUP, "-n", CLUSTER, "--resource-type", HSM_TYPE, "--is-full-object",
                 "-p", json.dumps({"location": "eastus2", "sku": {"family": "B", "name": "Standard_B1"}}))
    az("eventhubs", "namespace", "create", "-g", GROUP, "-n", NAMESPACE, "-l", "eastus2", "--sku", "Standard")
    az("eventhubs", "eventhub", "create", "-g", GROUP, "--namespace-name", NAMESPACE, "-n", HUB, "--partition-count", "1")
    rule = az("eventhubs", "namespace", "authorization-rule", "create", "-g", GROUP, "--namespace-name", NAMESPACE,
              "-n", "diagnostics", "--rights", "Manage", "Send", "Listen")
    az("eventhubs", "namespace", "authorization-rule", "create", "-g", GROUP, "--namespace-name", NAMESPACE,
       "-n", "reader", "--rights", "Listen")
    az("monitor", "diagnostic-settings", "create", "--resource", cluster["id"], "-n", "to-hub",
       "--event-hub-rule", rule["id"], "--event-hub", HUB, "--logs", json.dumps([{"categoryGroup": "audit", "enabled": True}]))
    workdir = pathlib.Path(work.name)
    config, private = activate_with_crypto_user(emulator, GROUP, CLUSTER, workdir)
    yield emulator, az, workdir, config, private
    emulator.stop()
    home.cleanup()
    work.cleanup()


def reader(az):
    keys = az("eventhubs", "namespace", "authorization-rule", "keys", "list", "-g", GROUP,
              "--namespace-name", NAMESPACE, "--authorization-rule-name", "reader")
    return keys["primaryConnectionString"] + f";EntityPath={HUB}" + EMULATOR


def sign(emulator, workdir, config, private, name, check=True):
    """One `sign` through the utility as cu1; True when it was acknowledged."""
    result = subprocess.run(
        [str(ROOT / "target" / "debug" / "az-cloudhsm"), "util", "--config", str(config), "singlecmd",
         "sign", "-f", "message.txt", "-k", private, "-m", "1", "-out", f"{name}.sig"],
        cwd=workdir, env={**os.environ, "azcloudhsm_password": f"cu1:{CU_PASSWORD}"},
        capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result.returncode == 0


def assert_no_event_twice(consumer):
    sequence = [e.sequence_number for e in consumer.events]
    assert sequence == sorted(set(sequence)), sequence


def test_hub_deleted_and_recreated_then_key_regenerated(world):
    emulator, az, workdir, config, private = world
    consumer = LiveConsumer(reader(az))
    try:
        for i in range(3):
            sign(emulator, workdir, config, private, f"before-{i}")
        consumer.wait_for_signs(3)
        assert_no_event_twice(consumer)
    finally:
        consumer.close()

    # While the hub is gone the records wait (retried with backoff); the
    # recreated hub, a new entity with its own offsets, gets the backlog.
    az("eventhubs", "eventhub", "delete", "-g", GROUP, "--namespace-name", NAMESPACE, "-n", HUB)
    for i in range(3):
        sign(emulator, workdir, config, private, f"while-deleted-{i}")
    az("eventhubs", "eventhub", "create", "-g", GROUP, "--namespace-name", NAMESPACE, "-n", HUB, "--partition-count", "1")
    consumer = LiveConsumer(reader(az))
    try:
        consumer.wait_for_signs(3)
        # The setting's own key is regenerated: delivery signs with the new one.
        az("eventhubs", "namespace", "authorization-rule", "keys", "renew", "-g", GROUP, "--namespace-name", NAMESPACE,
           "--authorization-rule-name", "diagnostics", "--key", "PrimaryKey")
        az("eventhubs", "namespace", "authorization-rule", "keys", "renew", "-g", GROUP, "--namespace-name", NAMESPACE,
           "--authorization-rule-name", "diagnostics", "--key", "SecondaryKey")
        for i in range(3):
            sign(emulator, workdir, config, private, f"after-renew-{i}")
        consumer.wait_for_signs(6)
        assert_no_event_twice(consumer)
        # Nothing from before the deletion is in the new hub.
        assert consumer.settled_signs() == 6
    finally:
        consumer.close()


def test_kill_9_mid_stream_loses_no_acknowledged_operation(world):
    emulator, az, workdir, config, private = world
    consumer = LiveConsumer(reader(az))
    try:
        already = consumer.settled_signs()
        acknowledged, attempted, stop = [0], [0], threading.Event()

        def stream():
            n = 0
            while not stop.is_set():
                attempted[0] += 1
                if sign(emulator, workdir, config, private, f"stream-{n}", check=False):
                    acknowledged[0] += 1
                n += 1

        signer = threading.Thread(target=stream, daemon=True)
        signer.start()
        deadline = time.time() + 60
        while acknowledged[0] < 5 and time.time() < deadline:
            time.sleep(0.1)
        emulator.kill_and_restart()
        before_kill = acknowledged[0]
        deadline = time.time() + 60
        while acknowledged[0] < before_kill + 5 and time.time() < deadline:
            time.sleep(0.1)
        stop.set()
        signer.join(120)
        assert acknowledged[0] >= before_kill + 5, "signing did not resume after the restart"

        consumer.wait_for_signs(already + acknowledged[0])
        signs = consumer.settled_signs()
        # Every acknowledged one arrived; at most the ones in flight at the kill besides.
        assert already + acknowledged[0] <= signs <= already + attempted[0], (signs, acknowledged, attempted)
        assert_no_event_twice(consumer)
    finally:
        consumer.close()
