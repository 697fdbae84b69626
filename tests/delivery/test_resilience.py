"""Rate limits and circuit breakers against the real (test) Redis."""

import threading
import time
import uuid

import pytest

from apps.delivery.resilience.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from apps.delivery.resilience.ratelimit import TokenBucket


def name():
    return f"test-{uuid.uuid4().hex[:8]}"


def test_bucket_grants_its_capacity_then_refills_at_its_rate():
    bucket = TokenBucket(name(), rate=20, capacity=5)
    first = bucket.take(8)
    assert first.granted == 5
    # 3 more wanted at 20/s: about 0.15 s.
    assert 0.1 <= first.retry_after <= 0.16
    assert bucket.take(1).granted == 0
    time.sleep(0.26)
    assert bucket.take(10).granted == 5  # refilled to capacity, never beyond


def test_bucket_is_shared_by_concurrent_takers():
    """Many workers hitting one bucket together never get more than it holds."""
    key = name()
    granted = []

    def worker():
        bucket = TokenBucket(key, rate=0.001, capacity=50)  # no refill worth counting
        for _ in range(20):
            granted.append(bucket.take(1).granted)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 50
    assert len(granted) == 160


def test_bucket_refuses_a_non_positive_rate():
    with pytest.raises(ValueError):
        TokenBucket(name(), rate=0)


def test_circuit_opens_after_threshold_consecutive_failures():
    circuit = CircuitBreaker(name(), threshold=3, cooldown=30)
    assert circuit.allow().allowed and circuit.state() == CLOSED
    circuit.record_failure()
    circuit.record_failure()
    circuit.record_success()  # a success resets the count
    circuit.record_failure()
    circuit.record_failure()
    assert circuit.allow().allowed
    circuit.record_failure()
    permit = circuit.allow()
    assert not permit.allowed and permit.state == OPEN
    assert 29 <= permit.retry_after <= 30
    assert circuit.state() == OPEN


def test_circuit_lets_one_probe_through_after_cooldown_and_closes_on_success():
    circuit = CircuitBreaker(name(), threshold=1, cooldown=0.3)
    circuit.record_failure()
    assert not circuit.allow().allowed
    time.sleep(0.35)
    assert circuit.state() == HALF_OPEN
    probe = circuit.allow()
    assert probe.allowed and probe.state == HALF_OPEN
    # Another worker meanwhile is held back while the probe is out.
    other = CircuitBreaker(circuit.name, threshold=1, cooldown=0.3)
    assert not other.allow().allowed
    circuit.record_success()
    assert other.allow().allowed and other.state() == CLOSED


def test_failed_probe_opens_the_circuit_again():
    circuit = CircuitBreaker(name(), threshold=2, cooldown=0.3)
    circuit.record_failure()
    circuit.record_failure()
    time.sleep(0.35)
    assert circuit.allow().allowed  # the probe
    circuit.record_failure()
    permit = circuit.allow()
    assert not permit.allowed and permit.state == OPEN and permit.retry_after > 0.2


def test_a_reopened_circuit_never_grants_a_probe():
    """Half-open admits one probe, and a failed probe's reopening wins over every worker
    that saw the cool-down pass just before: none of them may probe the reopened circuit."""
    circuit_name = name()
    CircuitBreaker(circuit_name, threshold=1, cooldown=0.02).record_failure()
    probes, violations = [], []
    deadline = time.monotonic() + 1.5

    def worker():
        circuit = CircuitBreaker(circuit_name, threshold=1, cooldown=0.02)
        while time.monotonic() < deadline:
            if circuit.allow().allowed:
                probes.append(1)
                if circuit.state() == OPEN:
                    violations.append(1)
                circuit.record_failure()  # every probe fails: the circuit reopens

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(probes) > 10  # the circuit went half-open many times
    assert violations == []
