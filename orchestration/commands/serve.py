"""``spiegel serve``: what a deployment runs, each as its own process, under one supervisor.

The children (docs/service.md):

- ``dagster-webserver``: the Dagster UI and its GraphQL API, read-write, on the data
  directory's instance;
- ``dagster-daemon``: sensors, schedules, the run queue (which launches the runs) and run
  monitoring;
- the portal: ``spiegel portal serve`` (migrations, static files, gunicorn).

Each child leads a process group of its own (its code servers, run workers and gunicorn
workers belong to it). The supervisor restarts a child that exits, after its group is
gone, with a back-off (:class:`RestartPolicy`); on SIGTERM, SIGINT or SIGHUP it sends
SIGTERM to every group, waits up to ``SPIEGEL_SERVE_STOP_SECONDS`` (20) and then kills what
is left. ``spiegel ui`` (``dagster dev``) stays the development tool.

The pure parts (the back-off, the children's commands and environment) are functions of
their own, tested without starting anything.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.commands.common import data_dir_paths, say
from orchestration.commands.ui import terminate_with_parent
from orchestration.core.service import DAGSTER_URL_ENV, PORTAL_URL_ENV, SERVICE_MODE_ENV
from orchestration.core.settings import REPO_ROOT, SpiegelPaths

STOP_SECONDS_ENV = "SPIEGEL_SERVE_STOP_SECONDS"
STOP_SECONDS_DEFAULT = 20.0  # how long the children may take to stop before they are killed
PATH_PREFIX_ENV = "SPIEGEL_DAGSTER_PATH_PREFIX"  # the Dagster UI under a path of the proxy, e.g. /dagster

WEBSERVER, DAEMON, PORTAL = "dagster-webserver", "dagster-daemon", "portal"


@dataclass(frozen=True)
class ChildSpec:
    """One supervised process: its name in the log, its command line, and where it
    answers HTTP once it is up (``probe``; None for the daemon) and is shown (``url``)."""

    name: str
    argv: tuple[str, ...]
    url: str | None = None
    probe: str | None = None


@dataclass
class RestartPolicy:
    """The back-off before restarting a child that exited: ``first`` seconds after one
    exit, doubling with each further exit in a row (1, 2, 4 ... ``maximum``); a child that
    ran ``stable_after`` seconds or longer before it exited starts over at ``first``."""

    first: float = 1.0
    maximum: float = 60.0
    stable_after: float = 60.0
    exits_in_a_row: int = 0

    def delay_after_exit(self, ran_for: float) -> float:
        if ran_for >= self.stable_after:
            self.exits_in_a_row = 0
        delay = min(self.maximum, self.first * 2**self.exits_in_a_row)
        self.exits_in_a_row += 1
        return delay


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _probe_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def service_children(
    paths: SpiegelPaths,
    *,
    host: str = "127.0.0.1",
    dagster_port: int = 3000,
    portal_port: int = 8000,
    portal_workers: int = 2,
    path_prefix: str = "",
) -> list[ChildSpec]:
    """The three children of ``spiegel serve`` for this data directory."""
    workspace = str(REPO_ROOT / "workspace.yaml")
    prefix = ("/" + path_prefix.strip("/")) if path_prefix.strip("/") else ""
    probe = _probe_host(host)
    webserver = [_bin("dagster-webserver"), "-w", workspace, "-h", host, "-p", str(dagster_port)]
    if prefix:
        webserver += ["--path-prefix", prefix]
    portal = [sys.executable, "-m", "orchestration.cli", "portal", "serve", "--data-dir", str(paths.data_dir)]
    portal += ["--host", host, "--port", str(portal_port), "--workers", str(max(1, portal_workers))]
    return [
        ChildSpec(
            WEBSERVER,
            tuple(webserver),
            url=f"http://{probe}:{dagster_port}{prefix}/",
            probe=f"http://{probe}:{dagster_port}{prefix}/server_info",
        ),
        ChildSpec(DAEMON, (_bin("dagster-daemon"), "run", "-w", workspace)),
        ChildSpec(
            PORTAL,
            tuple(portal),
            url=f"http://{probe}:{portal_port}/",
            probe=f"http://{probe}:{portal_port}/accounts/login/",
        ),
    ]


def service_environment(environ: Mapping[str, str], children: list[ChildSpec] | None = None) -> dict[str, str]:
    """The children's environment: ``environ`` (with the data directory and DAGSTER_HOME
    already set) in service mode (``SPIEGEL_SERVICE_MODE=1``: four-eyes and the other
    rules of a deployment apply). Where ``SPIEGEL_DAGSTER_URL`` or ``SPIEGEL_PORTAL_URL``
    is not set (a proxy's public address would be), each child learns the other's address
    from ``children``, so the portal's release page launches on this webserver and the
    alerts link to it. A copy; the caller's stays as it is."""
    env = dict(environ)
    env[SERVICE_MODE_ENV] = "1"
    addresses = {spec.name: spec.url for spec in children or [] if spec.url}
    if WEBSERVER in addresses and not env.get(DAGSTER_URL_ENV):
        env[DAGSTER_URL_ENV] = addresses[WEBSERVER].rstrip("/")
    if PORTAL in addresses and not env.get(PORTAL_URL_ENV):
        env[PORTAL_URL_ENV] = addresses[PORTAL].rstrip("/")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    return env


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        # fields: state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _answers(url: str) -> bool:
    """Any HTTP answer counts (a 400 for a host name the portal does not serve, too)."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


@dataclass
class _Child:
    spec: ChildSpec
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    process: subprocess.Popen | None = None
    pgid: int | None = None  # the group of the current or the last process
    started_at: float = 0.0
    exited_at: float | None = None
    drain_deadline: float = 0.0  # the dead child's group gets until then to stop, then SIGKILL
    killed_leftovers: bool = False
    restart_at: float = 0.0
    starts: int = 0


class Supervisor:
    """Starts the children, restarts one that exits (after its process group is gone,
    with the back-off), and stops them all on :meth:`stop` (SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        specs: list[ChildSpec],
        env: Mapping[str, str],
        *,
        stop_seconds: float = STOP_SECONDS_DEFAULT,
        log: Callable[[str], None] = say,
        policy: Callable[[], RestartPolicy] = RestartPolicy,
        tick: float = 0.25,
    ) -> None:
        self.children = [_Child(spec, policy()) for spec in specs]
        self.env = dict(env)
        self.stop_seconds = stop_seconds
        self.log = log
        self.tick = tick
        self.stopping = False
        self.announced = False

    def _say(self, message: str) -> None:
        self.log(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} spiegel serve: {message}")

    def stop(self, *_args) -> None:
        self.stopping = True

    def _start(self, child: _Child) -> None:
        try:
            child.process = subprocess.Popen(
                list(child.spec.argv),
                cwd=REPO_ROOT,
                env=self.env,
                start_new_session=True,  # its own process group: stopped as a whole
                preexec_fn=terminate_with_parent,  # SIGTERM when the supervisor dies, even by SIGKILL
            )
        except OSError as exc:  # e.g. its program is missing: try again after the back-off
            delay = child.policy.delay_after_exit(0)
            child.pgid, child.exited_at = None, time.monotonic()
            child.restart_at = child.exited_at + delay
            self._say(f"could not start {child.spec.name}: {exc}; trying again in {delay:.0f} s")
            return
        child.pgid = child.process.pid
        child.started_at = time.monotonic()
        child.exited_at = None
        child.killed_leftovers = False
        child.starts += 1
        again = f" (start {child.starts})" if child.starts > 1 else ""
        self._say(f"started {child.spec.name} (pid {child.process.pid}){again}: {' '.join(child.spec.argv)}")

    def _watch(self, child: _Child, now: float) -> None:
        if child.process is not None:
            code = child.process.poll()
            if code is None:
                return
            ran = now - child.started_at
            child.process = None
            child.exited_at = now
            delay = child.policy.delay_after_exit(ran)
            child.restart_at = now + delay
            child.drain_deadline = now + self.stop_seconds
            left = group_members(child.pgid) if child.pgid else []
            if left:
                _signal_group(child.pgid, signal.SIGTERM)  # its code servers, run workers, gunicorn workers
            self._say(
                f"{child.spec.name} (pid {child.pgid}) exited ({describe_exit(code)}) after {ran:.0f} s; "
                f"restarting it in {delay:.0f} s"
                + (f", once the {len(left)} process(es) left in its group have stopped" if left else "")
            )
            return
        if child.exited_at is None:
            return
        if child.pgid and group_members(child.pgid):
            if now < child.drain_deadline:
                return
            if not child.killed_leftovers:
                self._say(f"killing what is left of {child.spec.name}'s process group {child.pgid}")
                _signal_group(child.pgid, signal.SIGKILL)
                child.killed_leftovers = True
            return
        if now >= child.restart_at:
            self._say(f"restarting {child.spec.name}")
            self._start(child)

    def _announce(self) -> None:
        if self.announced:
            return
        if any(c.process is None or (c.spec.probe and not _answers(c.spec.probe)) for c in self.children):
            return
        self.announced = True
        for child in self.children:
            where = child.spec.url or "(no address: sensors, schedules, the run queue, run monitoring)"
            self._say(f"{child.spec.name} is up: {where}")
        self._say("serving; SIGTERM or Ctrl-C stops every process")

    def run(self) -> bool:
        """Supervise until :meth:`stop`; then stop every child. True when every process
        stopped within the grace period (nothing had to be killed)."""
        for child in self.children:
            self._start(child)
        last_probe = 0.0
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                self._watch(child, now)
            if not self.announced and now - last_probe >= 1.0:
                last_probe = now
                self._announce()
            time.sleep(self.tick)
        return self._stop_all()

    def _stop_all(self) -> bool:
        self._say("stopping every process ...")
        groups = {c.pgid: c for c in self.children if c.pgid and group_members(c.pgid)}
        for pgid in groups:
            _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_seconds
        clean = True
        while True:
            for child in self.children:
                if child.process is not None and child.process.poll() is not None:
                    code = describe_exit(child.process.returncode)
                    self._say(f"{child.spec.name} (pid {child.pgid}) stopped ({code})")
                    child.process = None
            alive = [pgid for pgid in groups if group_members(pgid)]
            if not alive:
                break
            if time.monotonic() >= deadline:
                clean = False
                for pgid in alive:
                    self._say(f"{groups[pgid].spec.name} did not stop within {self.stop_seconds:.0f} s: killed")
                    _signal_group(pgid, signal.SIGKILL)
                for child in self.children:
                    if child.process is not None:
                        child.process.wait()
                        child.process = None
                break
            time.sleep(0.1)
        return clean


def stop_seconds() -> float:
    value = os.environ.get(STOP_SECONDS_ENV, "").strip()
    return float(value) if value else STOP_SECONDS_DEFAULT


def cmd_serve(args: argparse.Namespace) -> int:
    """``spiegel serve``: the webserver, the daemon and the portal, supervised, until
    SIGTERM or Ctrl-C; then runs its processes left unfinished are marked failed.
    ``--prepare-only``: write dagster.yaml and print the children's commands, nothing else."""
    paths = data_dir_paths(args)  # DAGSTER_HOME and dagster.yaml from the settings
    specs = service_children(
        paths,
        host=args.host,
        dagster_port=args.dagster_port,
        portal_port=args.portal_port,
        portal_workers=args.portal_workers,
        path_prefix=os.environ.get(PATH_PREFIX_ENV, ""),
    )
    storage = "PostgreSQL" if os.environ.get("SPIEGEL_DAGSTER_DATABASE_URL") else "SQLite"
    say(f"spiegel serve: {paths.data_dir} (Dagster instance {os.environ['DAGSTER_HOME']}, {storage})")
    if getattr(args, "prepare_only", False):
        for spec in specs:
            say(f"{spec.name}: {' '.join(spec.argv)}")
        return 0
    supervisor = Supervisor(specs, service_environment(os.environ, specs), stop_seconds=stop_seconds())
    previous = {sig: signal.signal(sig, supervisor.stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        clean = supervisor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not clean:
        say("spiegel serve: some processes did not stop within the grace period and were killed")
    _fail_interrupted_runs()
    say("spiegel serve: stopped")
    return 0


def _fail_interrupted_runs() -> None:
    """A run worker stopped with the daemon normally records its own end; one that had to
    be killed cannot, and no daemon's run monitoring is left to notice: mark it here."""
    try:
        # deferred: Dagster loads only now, the supervisor itself never needs it
        from orchestration.runs import runner

        interrupted = runner.fail_dead_runs()
    except Exception as exc:  # the instance may be unreachable (PostgreSQL stopped first)
        say(f"spiegel serve: could not check for interrupted runs: {type(exc).__name__}: {exc}")
        return
    if interrupted:
        say(f"spiegel serve: marked {len(interrupted)} interrupted run(s) failed: {', '.join(interrupted)}")
