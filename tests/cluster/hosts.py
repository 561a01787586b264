"""The cluster's hosts and what each runs, started from the packages on this machine.

data      PostgreSQL (a private cluster made with initdb) and redis-server
web1/2    gunicorn running the platform with DJANGO_ENV=production
lb        HAProxy: TLS, health checks on the web hosts, retries a refused connection
worker1/2 celery worker;  beat  celery beat (the sweeper)
client    the load (tests/cluster/load.py)
"""

import datetime
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.cluster.netns import SUBNET, Network

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(Path(sys.executable))
BIN = Path(sys.executable).parent
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)

ADDRESSES = {"data": 2, "lb": 10, "web1": 11, "web2": 12, "worker1": 21, "worker2": 22,
             "beat": 30, "client": 100}
LB = f"{SUBNET}.{ADDRESSES['lb']}"
DATA = f"{SUBNET}.{ADDRESSES['data']}"
BASE = f"https://{LB}"
WEB_PORT = 8000

# Test-only departures from production defaults, each for a reason of this test:
TEST_OVERRIDES = {
    # Every patient comes from the one client host: per-IP limits would stop the load.
    "RATELIMIT_LINK_OPEN": "100000/m", "RATELIMIT_IDENTITY_CHECK": "100000/m",
    "API_THROTTLE_RATE": "100000/minute",
    # The sweeper re-enqueues what a killed worker held after 15 s, not 5 minutes.
    "FILING_SWEEP_INTERVAL_SECONDS": "5", "FILING_SWEEP_AFTER_MINUTES": "0.25",
    # No mail server in the cluster.
    "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
}


def wait_for(predicate, *, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A private CA and the load balancer's certificate for its address."""
    def name(common):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("cluster test CA"))
          .issuer_name(name("cluster test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name(LB)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LB))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = directory / "lb.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                    + key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return pem, ca_file


HAPROXY = """\
global
    maxconn 2000
    log stdout format raw local0 info
    stats socket {dir}/haproxy.sock mode 600 level admin
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode http
    log global
    # Never the request line: the first request of a journey carries the link token.
    log-format "%ci %tr %HM %ST %tsc %b/%s %TR/%Tw/%Tc/%Tr/%Ta retries=%rc"
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A request a stopping web host refuses, or drops unanswered (it was still in the
    # host's listen queue when gunicorn closed it), is tried again on the other host.
    # Safe here because every POST of the platform may be repeated: a page of answers
    # is saved again, a second submit finds the form submitted, and an API client
    # issues links with an Idempotency-Key.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    option forwardfor

frontend www
    bind {lb}:443 ssl crt {dir}/lb.pem
    http-request set-header X-Forwarded-Proto https
    default_backend web

backend web
    balance leastconn
    option httpchk
    http-check send meth GET uri {health} ver HTTP/1.1 hdr Host {lb} hdr X-Forwarded-Proto https
    http-check expect status 200
    # A busy host answers its probe late (gunicorn's sync workers take it in turn, after
    # the patients ahead of it): give it 5 s before the check counts as failed (the
    # default is the interval itself), or the only host left is marked down under load.
    timeout check 5s
    default-server inter 2s fall 3 rise 2
{servers}
"""


class Cluster:
    """Everything the run starts; `destroy()` removes all of it, whatever state it is in."""

    def __init__(self, *, web_processes=2, worker_concurrency=2):
        self.dir = Path(tempfile.mkdtemp(prefix="pf-cluster-"))
        self.dir.chmod(0o755)  # PostgreSQL runs as its own user, below this directory
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self.network = Network()
        self.web_processes = web_processes
        self.worker_concurrency = worker_concurrency
        self.processes = {}
        self.pg_dir = self.dir / "pg"
        self.health_path = "/accessibility/"
        self.env = {
            "PATH": f"{BIN}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.dir),
            "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": LB, "SITE_URL": BASE,
            "DATABASE_URL": f"postgres://postgres@{DATA}:5432/forms",
            "CELERY_BROKER_URL": f"redis://{DATA}:6379/0",
            "REDIS_CACHE_URL": f"redis://{DATA}:6379/1",
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "LOG_LEVEL": "WARNING",
            **TEST_OVERRIDES,
        }

    # --- hosts -----------------------------------------------------------------------

    def host(self, name):
        return self.network.hosts[name]

    def create_network(self):
        self.network.create()
        for name, number in ADDRESSES.items():
            self.network.add_host(name, number)

    def spawn(self, host, key, *args, env=None):
        log = (self.logs / f"{key}.log").open("a")
        process = self.host(host).spawn(*args, env=env or self.env, log=log, cwd=ROOT)
        process.log = log
        self.processes[key] = process
        return process

    # --- data host ----------------------------------------------------------------

    def as_postgres(self, *args):
        return ["runuser", "-u", "postgres", "--", *map(str, args)]

    def start_data(self):
        data = self.host("data")
        self.pg_dir.mkdir()
        shutil.chown(self.pg_dir, "postgres")
        data.run(*self.as_postgres(PG_BIN / "initdb", "-D", self.pg_dir / "data", "-A",
                                   "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"))
        with (self.pg_dir / "data" / "pg_hba.conf").open("a") as hba:
            # Only the cluster's own segment, which exists inside its namespaces alone.
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        options = (f"-c listen_addresses={DATA} -c unix_socket_directories={self.pg_dir} "
                   "-c max_connections=100 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        data.run(*self.as_postgres(PG_BIN / "pg_ctl", "-D", self.pg_dir / "data", "-l",
                                   self.pg_dir / "postgres.log", "-w", "-o", options,
                                   "start"))
        with self.sql_connect("postgres") as conn:
            conn.execute("CREATE DATABASE forms")
        self.redis_socket = self.dir / "redis.sock"
        self.spawn("data", "redis", "redis-server", "--bind", DATA, "--port", "6379",
                   "--protected-mode", "no", "--save", "", "--appendonly", "no",
                   "--unixsocket", self.redis_socket, "--unixsocketperm", "700",
                   "--dir", self.dir)
        wait_for(self.redis_socket.exists, timeout=10, what="redis to start")

    def sql_connect(self, database="forms"):
        # The run's own checks use PostgreSQL's Unix socket: no address outside the
        # namespaces is needed to read the results.
        return psycopg.connect(host=str(self.pg_dir), port=5432, user="postgres",
                               dbname=database, autocommit=True)

    def sql(self, query, params=None):
        with self.sql_connect() as conn:
            return conn.execute(query, params).fetchall()

    def redis(self, *args):
        return subprocess.run(["redis-cli", "-s", str(self.redis_socket), *map(str, args)],
                              capture_output=True, text=True, check=True).stdout.strip()

    # --- application hosts --------------------------------------------------------

    def manage(self, *args, timeout=300):
        """An operator's command, run from the first web host."""
        return self.host("web1").run(PYTHON, *args, env=self.env, cwd=ROOT,
                                     timeout=timeout).stdout

    def prepare_application(self, patients):
        self.manage("manage.py", "migrate", "--noinput", "-v0")
        self.manage("manage.py", "collectstatic", "--noinput", "-v0")
        self.manage("manage.py", "check", "--deploy", "--database", "default",
                    "--fail-level", "ERROR")
        import json

        seed = json.loads(self.manage("-m", "tests.cluster.hostcmd", "seed", patients))
        self.health_path = seed["health_path"]
        return seed

    def start_web(self, name):
        host = self.host(name)
        self.spawn(name, name, BIN / "gunicorn", "config.wsgi:application",
                   "--bind", f"{host.address}:{WEB_PORT}",
                   "--workers", self.web_processes, "--timeout", "30",
                   "--graceful-timeout", "20", "--forwarded-allow-ips", LB)

    def stop_web(self, name):
        """A graceful stop, as an operator's deploy does: in-flight requests finish."""
        process = self.processes[name]
        process.terminate()
        process.wait(timeout=40)

    def start_worker(self, name):
        self.spawn(name, name, BIN / "celery", "-A", "config", "worker",
                   "--concurrency", self.worker_concurrency, "-n", f"{name}@%h",
                   "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                   "--without-heartbeat")

    def stop_worker(self, name):
        process = self.processes[name]
        process.terminate()
        process.wait(timeout=60)

    def start_beat(self):
        self.spawn("beat", "beat", BIN / "celery", "-A", "config", "beat", "--loglevel",
                   "INFO", "-s", self.dir / "beat-schedule")

    # --- load balancer ------------------------------------------------------------

    def start_lb(self):
        self.cert, self.ca = make_certificate(self.dir)
        servers = "\n".join(
            f"    server {name} {self.host(name).address}:{WEB_PORT} check"
            for name in ("web1", "web2"))
        config = self.dir / "haproxy.cfg"
        config.write_text(HAPROXY.format(dir=self.dir, lb=LB, health=self.health_path,
                                         servers=servers))
        self.spawn("lb", "haproxy", "haproxy", "-db", "-f", config)
        wait_for(lambda: (self.dir / "haproxy.sock").exists(), timeout=10,
                 what="haproxy to start")

    def haproxy(self, command) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.dir / "haproxy.sock"))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_status(self) -> dict[str, str]:
        lines = self.haproxy("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]
                if line]
        return {r["svname"]: r["status"] for r in rows
                if r.get("pxname") == "web" and r["svname"] not in {"BACKEND", "FRONTEND"}}

    def wait_server(self, name, status, timeout=60):
        wait_for(lambda: self.server_status().get(name, "").startswith(status),
                 timeout=timeout, interval=0.1, what=f"haproxy to see {name} {status}")

    # --- the whole thing ------------------------------------------------------------

    def destroy(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.log.close()
        if PG_BIN and (self.pg_dir / "data" / "postmaster.pid").exists():
            subprocess.run(self.as_postgres(PG_BIN / "pg_ctl", "-D", self.pg_dir / "data",
                                            "stop", "-m", "immediate"),
                           capture_output=True, check=False)
        self.network.destroy()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, key, lines=30) -> str:
        path = self.pg_dir / "postgres.log" if key == "postgres" else self.logs / f"{key}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def requirements_missing() -> str | None:
    if os.geteuid() != 0:
        return "the cluster run needs root (network namespaces)"
    for tool in ("ip", "haproxy", "redis-server", "redis-cli", "runuser"):
        if shutil.which(tool) is None:
            return f"the cluster run needs {tool} (make cluster-test installs haproxy)"
    if PG_BIN is None:
        return "the cluster run needs PostgreSQL's initdb and pg_ctl"
    return None
