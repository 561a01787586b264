"""Hosts on one machine: network namespaces joined by a bridge in a namespace of its own.

Every address lives inside a namespace this run made (10.231.0.0/24); the machine's own
network namespace gains no interface and no address. Each run's namespaces are named
after the run's process id (``pfc<pid>-web1``), so a run that was killed outright
(SIGKILL cannot be trapped) is cleaned up by the next one: its namespaces name a
process that no longer exists.
"""

import contextlib
import os
import re
import signal
import subprocess
import time

SUBNET = "10.231.0"
PREFIX = "pfc"


def ip(*args, check=True):
    # Our own fixed arguments, never outside input.
    return subprocess.run(["ip", *args], check=check, capture_output=True,
                          text=True).stdout


def namespaces() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def pids_in(namespace) -> list[int]:
    out = ip("netns", "pids", namespace, check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def kill_namespace_processes(namespace, sig=signal.SIGKILL, wait=10.0) -> int:
    """Send `sig` to every process in the namespace; with SIGKILL, wait until none is
    left. Returns how many processes were signalled."""
    pids = pids_in(namespace)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    if sig == signal.SIGKILL:
        deadline = time.monotonic() + wait
        while pids_in(namespace) and time.monotonic() < deadline:
            time.sleep(0.05)
    return len(pids)


def remove_namespace(namespace):
    kill_namespace_processes(namespace)
    ip("netns", "del", namespace, check=False)


def remove_stale():
    """Namespaces left by runs whose process is gone (killed with SIGKILL)."""
    removed = []
    for name in namespaces():
        match = re.fullmatch(rf"{PREFIX}(\d+)-\w+", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            remove_namespace(name)
            removed.append(name)
    return removed


class Host:
    """One machine: a namespace with one interface on the shared segment."""

    def __init__(self, network, name, number):
        self.network = network
        self.name = name
        self.namespace = f"{network.prefix}-{name}"
        self.address = f"{SUBNET}.{number}"

    def command(self, *args) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *map(str, args)]

    def run(self, *args, env=None, timeout=300, check=True, cwd=None):
        return subprocess.run(self.command(*args), env=env, timeout=timeout,
                              check=check, capture_output=True, text=True, cwd=cwd)

    def spawn(self, *args, env=None, log=None, cwd=None):
        """Start a process on this host, in a process group of its own."""
        return subprocess.Popen(self.command(*args), env=env, cwd=cwd,
                                stdout=log or subprocess.DEVNULL,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def pids(self) -> list[int]:
        return pids_in(self.namespace)

    def kill_all(self) -> int:
        """The host loses power: SIGKILL to every process it runs."""
        return kill_namespace_processes(self.namespace, signal.SIGKILL)


class Network:
    """A switch (a bridge in its own namespace) and the hosts plugged into it."""

    def __init__(self):
        self.prefix = f"{PREFIX}{os.getpid()}"
        self.switch = f"{self.prefix}-switch"
        self.hosts: dict[str, Host] = {}

    def create(self):
        ip("netns", "add", self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")

    def add_host(self, name, number) -> Host:
        host = Host(self, name, number)
        ip("netns", "add", host.namespace)
        port = f"p{number}"
        # Both ends are made straight inside their namespaces.
        ip("link", "add", "eth0", "netns", host.namespace, "type", "veth",
           "peer", "name", port, "netns", self.switch)
        ip("-n", self.switch, "link", "set", port, "master", "br0")
        ip("-n", self.switch, "link", "set", port, "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        self.hosts[name] = host
        return host

    def destroy(self):
        for host in self.hosts.values():
            remove_namespace(host.namespace)
        remove_namespace(self.switch)
        self.hosts = {}

    def leftovers(self) -> list[str]:
        return [n for n in namespaces() if n.startswith(self.prefix + "-")]
