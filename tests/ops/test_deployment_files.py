"""docker-compose.yml and the Procfile: no container engine runs here, so these check
the file's structure and that every command it runs exists in the project. A worker's
-Q list is never spelled out: it is `$(python -m notifications_project.queues <group>)`,
which these tests run, so each process consumes exactly the queues derived from the
priorities."""

import functools
import importlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

from notifications_project.queues import worker_queues

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {name: service for name, service in SERVICES.items() if service.get("image") == "notification-service"}
QUEUES = {queue.name for queue in settings.CELERY_TASK_QUEUES}
URGENT_QUEUES = {name for name in QUEUES if name.endswith((".critical", ".high"))}
DERIVED = re.compile(r"\$\(python -m notifications_project\.queues (?P<group>[\w-]+)\)")
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
PROCFILE = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())


def compose_command(service: dict) -> str:
    """The command as compose runs it: `$$` is compose's escape for a literal `$`."""
    return service["command"].replace("$$", "$")


def procfile_command(name: str) -> str:
    """The command as the shell runs it, `${NAME:-default}` taken at its default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", PROCFILE[name])


@functools.cache
def derived_queues(group: str) -> tuple[str, ...]:
    """What the substitution prints, run for real (a fresh process, no Django settings)."""
    result = subprocess.run(
        [sys.executable, "-m", "notifications_project.queues", group],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(result.stdout.strip().split(","))


def program_argv(command: str) -> list[str]:
    """The argv of the program a command runs, inside `sh -c '...'` and `exec`."""
    words = shlex.split(command)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2])
    return words[1:] if words[0] == "exec" else words


def worker_queue_list(argv) -> list[str]:
    """The queues a `celery worker` argv consumes, in the order it polls them."""
    value = option(argv, "-Q", "--queues")
    derived = DERIVED.fullmatch(value or "")
    assert derived, f"-Q {value!r}: spell no queue names, use $(python -m notifications_project.queues <group>)"
    queues = list(derived_queues(derived["group"]))
    assert queues == worker_queues(derived["group"])
    return queues


def import_target(target: str):
    """`package.module:attribute` (or a module alone) → the object."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def option(argv, *names):
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name:
                return argv[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def check_command(command: str) -> set[str]:
    """Assert each part of a shell command exists here; returns the queues it consumes."""
    words = shlex.split(command)
    if words[:2] == ["sh", "-c"]:
        return check_command(words[2])
    queues = set()
    commands = [[]]
    for word in words:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    for argv in commands:
        if argv[0] == "exec":  # the shell hands its process over (signals reach the program)
            argv = argv[1:]
        if argv[0] == "sh":
            script = ROOT / argv[1]
            assert script.is_file(), f"{script} is missing"
            for line in script.read_text().splitlines():
                if line.strip().startswith("exec "):
                    check_command(line.strip()[len("exec ") :])
            continue
        if argv[0] in ("find", "rm", "mkdir"):
            continue
        if argv[0] == "celery":
            app_module = option(argv, "-A", "--app")
            assert import_target(f"{app_module}.celery:app").main == "notifications_project"
            if "worker" in argv:
                consumed = worker_queue_list(argv)
                assert len(consumed) == len(set(consumed)), f"a queue named twice in {command!r}"
                assert set(consumed) <= QUEUES, f"unknown queues {set(consumed) - QUEUES}"
                queues |= set(consumed)
            elif "beat" in argv:
                assert import_target(option(argv, "--scheduler", "-S"))
            else:
                assert "flower" in argv, f"unexpected celery command {command!r}"
                importlib.import_module("flower")
            continue
        if argv[0] == "gunicorn":
            assert callable(import_target(argv[1]))
            assert (ROOT / "gunicorn.conf.py").is_file()
            continue
        if argv[:3] == ["python", "-m", "uvicorn"]:
            argv = argv[2:]  # the Procfile's form: the virtualenv's interpreter, like manage.py
        if argv[0] == "uvicorn":
            assert callable(import_target(argv[1]))
            continue
        if argv[0] == "python":
            assert argv[1] == "manage.py", command
            assert argv[2] in get_commands(), f"no management command {argv[2]!r}"
            continue
        pytest.fail(f"unknown program in {command!r}")
    return queues


def test_compose_has_every_process_and_its_backing_services():
    assert {"web", "beat", "flower", "postgres", "redis", "mailpit", "migrate"} <= set(SERVICES)
    workers = [name for name, service in APP_SERVICES.items() if " worker " in compose_command(service)]
    assert len(workers) >= 3, "workers are split by queue group"


def test_app_services_share_one_block():
    shared = COMPOSE["x-app"]
    assert set(APP_SERVICES) == {
        "migrate",
        "web",
        "stream",
        "beat",
        "flower",
        *(n for n in SERVICES if n.startswith("worker")),
    }
    for name, service in APP_SERVICES.items():
        for key in ("build", "env_file", "volumes"):
            assert service[key] == shared[key], f"{name}.{key} differs from x-app"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://"), name
        assert service["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/run/metrics", name
    assert shared["volumes"] == ["metrics:/run/metrics"]
    assert "metrics" in COMPOSE["volumes"]


def test_every_command_exists_and_every_queue_has_a_worker():
    consumed = set()
    for service in APP_SERVICES.values():
        consumed |= check_command(compose_command(service))
    assert consumed == QUEUES, f"queues nobody consumes: {QUEUES - consumed}"


def test_compose_workers_consume_their_groups_derived_queues():
    groups = {"worker-fanout": "fanout", "worker-channels": "channels", "worker-maintenance": "maintenance"}
    groups["worker-urgent"] = "urgent"
    workers = {name for name in APP_SERVICES if name.startswith("worker")}
    assert workers == set(groups)
    for name, group in groups.items():
        consumed = check_command(compose_command(SERVICES[name]))
        assert consumed == set(worker_queues(group)), name
    # The three groups split the queues between them; the urgent worker doubles the top two priorities.
    assert check_command(compose_command(SERVICES["worker-urgent"])) == URGENT_QUEUES


def test_exactly_one_beat():
    beats = [name for name, service in APP_SERVICES.items() if " beat " in compose_command(service)]
    assert beats == ["beat"]
    assert SERVICES["beat"]["deploy"]["replicas"] == 1


def test_long_running_services_have_healthchecks_and_start_after_migrations():
    for name in [
        "web",
        "stream",
        "proxy",
        "flower",
        "postgres",
        "redis",
        "rabbitmq",
        "mailpit",
        *(n for n in SERVICES if n.startswith("worker")),
    ]:
        assert SERVICES[name]["healthcheck"]["test"], name
    for name, service in APP_SERVICES.items():
        if name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert "/health/" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "/health/" in " ".join(SERVICES["stream"]["healthcheck"]["test"])


def test_the_proxy_sends_the_stream_to_the_stream_process_and_the_rest_to_the_web():
    """One origin for browsers (the inbox page's session cookie reaches its stream)."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in SERVICES["proxy"]["volumes"]
    stream_port = option(shlex.split(SERVICES["stream"]["command"]), "--port")
    assert f"server stream:{stream_port};" in conf and "server web:8000;" in conf
    stream_block = conf.split("location = /api/v1/inbox/stream/ {", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://notifications_stream;" in stream_block
    assert "proxy_buffering off;" in stream_block
    assert "ports" not in SERVICES["web"], "browsers reach the web through the proxy"


def test_worker_healthchecks_ping_their_own_worker():
    for name, service in APP_SERVICES.items():
        if name.startswith("worker"):
            worker_name = option(program_argv(compose_command(service)), "-n")
            assert worker_name == f"{service['environment']['WORKER_NAME']}@%h", name
            assert "inspect ping" in service["healthcheck"]["test"][1]


def test_flower_requires_basic_auth():
    assert SERVICES["flower"]["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")


def test_procfile_names_web_worker_beat_flower_and_their_commands_exist():
    # The four the contract names, and a worker only for urgent (critical, high) queues.
    assert set(PROCFILE) == {"web", "worker", "worker_urgent", "beat", "flower", "mailcatcher"}
    consumed = set()
    for name in PROCFILE:
        consumed |= check_command(procfile_command(name))
    assert consumed == QUEUES


def test_procfile_workers_consume_every_queue_and_the_urgent_ones():
    assert check_command(procfile_command("worker")) == QUEUES
    assert check_command(procfile_command("worker_urgent")) == URGENT_QUEUES


def test_each_mail_catcher_listens_where_its_email_url_points():
    """make run: the Procfile's catcher at the default EMAIL_URL; compose: mailpit's SMTP
    port (1025, its default) at the app services' EMAIL_URL, its web UI on loopback only."""
    from urllib.parse import urlsplit

    assert procfile_command("mailcatcher") == "python manage.py mailcatcher"
    source = (ROOT / "notifications_project" / "settings" / "channels.py").read_text()
    default_email = urlsplit(re.search(r'env\.email_url\("EMAIL_URL", default="([^"]+)"\)', source)[1])
    assert (default_email.hostname, default_email.port) == ("127.0.0.1", 1025)
    example = dict(re.findall(r"^(EMAIL_URL|MAIL_CATCHER_HOST|MAIL_CATCHER_PORT)=(.*)$", ENV_EXAMPLE, re.MULTILINE))
    assert urlsplit(example["EMAIL_URL"]).hostname == example["MAIL_CATCHER_HOST"] == default_email.hostname
    assert urlsplit(example["EMAIL_URL"]).port == int(example["MAIL_CATCHER_PORT"]) == default_email.port
    assert (settings.MAIL_CATCHER_HOST, settings.MAIL_CATCHER_PORT) == ("127.0.0.1", 1025)

    compose_email = urlsplit(COMPOSE["x-app-env"]["EMAIL_URL"])
    assert (compose_email.hostname, compose_email.port) == ("mailpit", 1025)
    assert "mailcatcher" not in " ".join(compose_command(s) for s in APP_SERVICES.values())
    assert SERVICES["mailpit"]["ports"] == ["127.0.0.1:8025:8025"]


def test_the_rabbitmq_profile_brings_the_broker_the_app_services_are_pointed_at():
    """`COMPOSE_PROFILES=rabbitmq COMPOSE_BROKER_URL=amqp://… docker compose up`: the
    URL the file documents reaches the profile's node with its own user; without the
    profile the broker stays the compose Redis and nothing waits for RabbitMQ."""
    from urllib.parse import urlsplit

    from apps.ops.broker import is_rabbitmq

    rabbitmq = SERVICES["rabbitmq"]
    assert rabbitmq["profiles"] == ["rabbitmq"]
    assert rabbitmq["healthcheck"]["test"]
    # Quorum queues are kept on disk, under the node's name: a fixed one, on a volume.
    assert rabbitmq["hostname"] == "rabbitmq"
    assert rabbitmq["volumes"] == ["rabbitmq-data:/var/lib/rabbitmq"] and "rabbitmq-data" in COMPOSE["volumes"]
    shared = COMPOSE["x-app-env"]
    default = re.fullmatch(r"\$\{COMPOSE_BROKER_URL:-(.+)\}", shared["CELERY_BROKER_URL"])
    assert default and default[1] == shared["REDIS_URL"]
    documented = re.search(
        r"COMPOSE_PROFILES=rabbitmq COMPOSE_BROKER_URL=(\S+) docker compose up",
        (ROOT / "docker-compose.yml").read_text(),
    )
    assert documented, "the header documents how to run on RabbitMQ"
    url = urlsplit(documented[1])
    assert is_rabbitmq(documented[1])
    assert (url.hostname, url.port) == ("rabbitmq", 5672)
    assert (url.username, url.password) == (
        rabbitmq["environment"]["RABBITMQ_DEFAULT_USER"],
        rabbitmq["environment"]["RABBITMQ_DEFAULT_PASS"],
    ), "RabbitMQ's guest may connect from localhost only"
    for name, service in APP_SERVICES.items():
        assert service["environment"]["CELERY_BROKER_URL"] == shared["CELERY_BROKER_URL"], name
        assert service["depends_on"]["rabbitmq"] == {"condition": "service_healthy", "required": False}, name
