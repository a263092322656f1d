"""A bounded load test of the practice portal on localhost (figures in docs/benchmarks.md).

    python -m portal.loadtest --data-dir /tmp/spiegel-load [--clients 20] [--requests 2000]
    python -m portal.loadtest --api --data-dir /tmp/spiegel-api-load [--practices 8800]

Builds a national-scale release in the (fresh) data directory: six published periods whose
``behandelindex.csv`` each list ``--practices`` practices (9,000 by default; about 10 %
with oefentherapie too), with report files (PDF of ``--pdf-kb`` KB and HTML) for a few
hundred practices; creates ``--accounts`` accounts, each with access to two practices of
its own (one of them as manager), then serves the portal with ``spiegel portal serve``
(gunicorn, ``--workers`` processes) and lets ``--clients`` concurrent clients, each logged
in as one of the accounts, send ``--requests`` requests in all: the practice list, the
practice pages, PDF downloads, HTML reports and, for one in ten, a practice of another
account (which must be a 404).

Every response is checked to belong to the account that asked: a page names the
account's own practice and no practice of another account; a PDF has exactly the bytes of
the published file of that practice. It prints throughput and latency percentiles, and
exits 1 on any error or wrong response.

With ``--api`` the clients call the read API (/api/v1/) with personal tokens instead: a
quarter of the accounts are insurer users, the others practice users. The mix: filtered
pages of 100 index rows, one practice's rows over its periods, the periods list, the
reference table, the whole index as CSV now and then, and, for one in ten, a practice of
another account (which must be a 404). Every index row served to a practice user must be
of its own practices, and an insurer's filtered page must hold exactly the rows the filter
selects from the published file.
"""

from __future__ import annotations

import argparse
import csv
import http.cookiejar
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.core.release_layout import BEHANDELINDEX_COLUMNS
from portal.served import PortalDidNotStart, served

PERIODS = ["2025-v1", "2024-v3", "2024-v2", "2024-v1", "2023-v3", "2023-v2"]  # the six shown, newest first
COLUMNS = BEHANDELINDEX_COLUMNS
PASSWORD = "Zomer-Regen-9731!"


def agb_of(i: int) -> str:
    return f"{10_000_000 + i * 7:08d}"


def build_release(data_dir: Path, *, practices: int, report_practices: int, pdf_kb: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    releases = data_dir / "releases"
    for period in PERIODS:
        folder = releases / period / "r1"
        reports = folder / "reports"
        for discipline in ("fysiotherapie", "oefentherapie"):
            (reports / discipline).mkdir(parents=True, exist_ok=True)
            (reports / discipline / "_funnel.js").write_text(f"window.SPIEGEL_FUNNEL = {{n: {practices:d}}};\n")
        (reports / "plotly.min.js").write_text("window.Plotly = {};\n" + "/*" + "x" * 200_000 + "*/\n")
        (reports / "spiegel.js").write_text("/* charts */\n")
        (reports / "spiegel.css").write_text("body { margin: 0; }\n")
        with open(folder / "behandelindex.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            for i in range(practices):
                agb = agb_of(i)
                disciplines = ["fysiotherapie"] + (["oefentherapie"] if i % 10 == 3 else [])
                for discipline in disciplines:
                    patients = rng.randint(5, 2500)
                    ok = patients >= 30
                    index = rng.lognormvariate(0, 0.25)
                    writer.writerow(
                        [
                            period,
                            discipline,
                            agb,
                            "ok" if ok else "insufficient_patients",
                            patients,
                            patients + 7,
                            patients * 9,
                            f"{patients * 9 / index:.2f}" if ok else "",
                            f"{index:.3f}" if ok else "",
                            f"{index * 0.9:.3f}" if ok else "",
                            f"{index * 1.1:.3f}" if ok else "",
                            f"{index:.3f}" if ok else "",
                        ]
                    )
                    if ok and i < report_practices:
                        head = f"%PDF-1.4\n% {agb} {period} {discipline}\n".encode()
                        (reports / discipline / f"{agb}.pdf").write_bytes(head + rng.randbytes(pdf_kb * 1024))
                        (reports / discipline / f"{agb}.html").write_text(
                            f'<!DOCTYPE html><html><head><link rel="stylesheet" href="../spiegel.css"></head>'
                            f'<body><h1>praktijk <span data-field="practice_agb">{agb}</span> {period}</h1>'
                            f'<script src="../plotly.min.js"></script><script src="_funnel.js"></script>'
                            f'<script src="../spiegel.js"></script></body></html>\n'
                        )
        with open(folder / "reference_strata.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["period", "discipline", "row_type", "cell_id", "episodes", "mean_sessions"])
            for cell in range(120):
                writer.writerow([period, "fysiotherapie", "cell", cell, rng.randint(30, 9000), rng.uniform(3, 20)])
        (folder / "release.json").write_text(
            json.dumps({"period": period, "revision": "r1", "published_at": "2026-11-01T10:00:00+00:00"})
        )


@dataclass
class Account:
    email: str
    practices: list[str]
    opener: urllib.request.OpenerDirector | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_accounts(data_dir: Path, count: int, report_practices: int) -> list[Account]:
    """``count`` accounts; account k manages practice 2k and is granted practice 2k+1 (both
    with reports: the first ``report_practices`` practices have them)."""
    from portal import operations

    accounts = []
    for k in range(count):
        email = f"belasting{k:02d}@praktijk.example"
        own = [agb_of(2 * k), agb_of(2 * k + 1)]
        assert 2 * k + 1 < report_practices
        operations.add_account(data_dir, email=email, password=PASSWORD)
        operations.appoint_manager(data_dir, agb=own[0], email=email)
        operations.grant(data_dir, agb=own[1], email=email)
        accounts.append(Account(email, own))
    return accounts


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer of its own here
        return None


def log_in(base: str, account: Account) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    with opener.open(base + "/accounts/login/", timeout=30) as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())[1]
    data = urllib.parse.urlencode({"login": account.email, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(
        base + "/accounts/login/", data=data, headers={"Referer": base + "/accounts/login/"}
    )
    try:
        opener.open(request, timeout=30)
        raise RuntimeError(f"login of {account.email} did not redirect")
    except urllib.error.HTTPError as exc:
        if exc.code != 302 or not exc.headers["Location"].endswith("/praktijk/"):
            raise RuntimeError(f"login of {account.email} failed: HTTP {exc.code}") from None
    account.opener = opener


def fetch(opener, url) -> tuple[int, bytes]:
    try:
        with opener.open(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def run(args: argparse.Namespace) -> dict:
    data_dir = Path(args.data_dir).resolve()
    if (data_dir / "releases").exists():
        raise SystemExit(f"{data_dir} has releases already; the load test builds its own in a fresh directory")
    started = time.monotonic()
    build_release(data_dir, practices=args.practices, report_practices=args.report_practices, pdf_kb=args.pdf_kb)
    os.environ["SPIEGEL_DATA_DIR"] = str(data_dir)
    accounts = make_accounts(data_dir, args.accounts, args.report_practices)
    all_own = {agb for account in accounts for agb in account.practices}
    expected_pdf = {}
    for account in accounts:
        for agb in account.practices:
            for period in PERIODS:
                path = data_dir / "releases" / period / "r1" / "reports" / "fysiotherapie" / f"{agb}.pdf"
                if path.is_file():
                    expected_pdf[(agb, period)] = path.read_bytes()
    prepared = time.monotonic() - started

    with served(data_dir, workers=args.workers) as (server, base):
        for account in accounts:
            log_in(base, account)
        rng = random.Random(args.seed)
        plan = []
        for n in range(args.requests):
            account = accounts[n % len(accounts)]
            agb = rng.choice(account.practices)
            period = rng.choice(PERIODS)
            roll = rng.random()
            if roll < 0.1:
                other = rng.choice([a for a in accounts if a is not account]) if len(accounts) > 1 else None
                target = rng.choice(other.practices) if other else agb_of(args.practices - 1)
                plan.append((account, "cross", target, period))
            elif roll < 0.2:
                plan.append((account, "list", agb, period))
            elif roll < 0.5:
                plan.append((account, "page", agb, period))
            elif roll < 0.85:
                plan.append((account, "pdf", agb, period))
            else:
                plan.append((account, "html", agb, period))

        latencies: dict[str, list[float]] = {}
        problems: list[str] = []
        problems_lock = threading.Lock()

        def one(item) -> None:
            account, kind, agb, period = item
            url = {
                "list": "/praktijk/",
                "page": f"/praktijk/{agb}/",
                "cross": f"/praktijk/{agb}/{period}/fysiotherapie.pdf",
                "pdf": f"/praktijk/{agb}/{period}/fysiotherapie.pdf",
                "html": f"/praktijk/{agb}/{period}/fysiotherapie.html",
            }[kind]
            t0 = time.perf_counter()
            status, body = fetch(account.opener, base + url)
            elapsed = time.perf_counter() - t0
            problem = check(account, kind, agb, period, status, body, all_own, expected_pdf)
            with problems_lock:
                latencies.setdefault(kind, []).append(elapsed)
                if problem:
                    problems.append(f"{account.email} {url}: {problem}")

        cpu_before = tree_cpu_seconds(server.pid)
        t_start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(one, plan))
        wall = time.perf_counter() - t_start
        server_cpu = tree_cpu_seconds(server.pid) - cpu_before
    return summary(args, accounts, latencies, problems, wall, server_cpu, prepared, server.returncode)


def summary(args, accounts, latencies, problems, wall: float, server_cpu: float, prepared: float, exit_code) -> dict:
    every = sorted(x for values in latencies.values() for x in values)

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] * 1000

    result = {
        "clients": args.clients,
        "requests": len(every),
        "accounts": len(accounts),
        "workers": args.workers,
        "practices": args.practices,
        "periods": len(PERIODS),
        "pdf_kb": args.pdf_kb,
        "seconds": round(wall, 2),
        "throughput_per_s": round(len(every) / wall, 1),
        "p50_ms": round(pct(every, 0.50), 1),
        "p95_ms": round(pct(every, 0.95), 1),
        "p99_ms": round(pct(every, 0.99), 1),
        "max_ms": round(every[-1] * 1000, 1) if every else None,
        "server_cpu_ms_per_request": round(server_cpu / max(1, len(every)) * 1000, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "per_kind": {
            kind: {
                "n": len(v),
                "p50_ms": round(pct(v, 0.5), 1),
                "p95_ms": round(pct(v, 0.95), 1),
                "mean_ms": round(statistics.fmean(v) * 1000, 1),
            }
            for kind, v in sorted(latencies.items())
        },
        "errors_or_wrong_responses": len(problems),
        "first_problems": problems[:10],
        "prepare_seconds": round(prepared, 1),
        "server_exit_code": exit_code,
        "mode": "api" if getattr(args, "api", False) else "pages",
        # the clients run on the same two cores: what they cost is not the server's to serve
        "client_cpu_ms_per_request": getattr(args, "client_cpu_ms_per_request", None),
    }
    return result


# -- the read API -------------------------------------------------------------------------
API_KINDS = ("index_page", "index_csv", "practice", "periods", "reference", "cross")
INSURERS = ("zilveren_kruis", "vgz", "cz", "menzis")


@dataclass
class ApiCaller:
    email: str
    token: str
    insurer: str | None  # None: a practice user
    practices: list[str]


def make_api_callers(data_dir: Path, count: int, practices: int) -> list[ApiCaller]:
    """A quarter of the ``count`` accounts (at least one) insurer users, the others users of two
    practices of their own (spread over the table); each with a personal token."""
    from portal import operations

    operations._setup(data_dir)
    from portal.access import actions, tokens

    callers = []
    insurer_count = max(1, count // 4)
    for k in range(count):
        email = f"api{k:02d}@belasting.example"
        operations.add_account(data_dir, email=email, password=PASSWORD)
        user = operations._user(email)
        if k < insurer_count:
            insurer, own = INSURERS[k % len(INSURERS)], []
            actions.appoint_insurer_user(user, insurer, actor=operations.OPERATOR)
        else:
            insurer = None
            own = [agb_of((k * 389) % practices), agb_of((k * 389 + 4000) % practices)]
            for agb in own:
                operations.grant(data_dir, agb=agb, email=email)
        callers.append(ApiCaller(email, tokens.create_token(user, name="load test").secret, insurer, own))
    return callers


def published_rows(data_dir: Path) -> dict[str, list[dict[str, str]]]:
    rows = {}
    for period in PERIODS:
        with open(data_dir / "releases" / period / "r1" / "behandelindex.csv", newline="", encoding="utf-8") as f:
            rows[period] = list(csv.DictReader(f))
    return rows


def api_plan(callers: list[ApiCaller], requests: int, practices: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    plan = []
    for n in range(requests):
        caller = callers[n % len(callers)]
        period = rng.choice(PERIODS)
        roll = rng.random()
        if roll < 0.1:
            # a practice the caller may not read (for an insurer user: one that does not exist)
            mine = set(caller.practices)
            other = next(a for a in (agb_of(rng.randrange(practices)) for _ in range(100)) if a not in mine)
            plan.append((caller, "cross", other if caller.insurer is None else "99999999", period, {}))
        elif roll < 0.55:
            filters = {"discipline": rng.choice(["fysiotherapie", "oefentherapie"]), "status": "ok"}
            if caller.insurer is not None:
                filters["page"] = str(rng.randint(1, 5))
            plan.append((caller, "index_page", "", period, filters))
        elif roll < 0.57:
            plan.append((caller, "index_csv", "", period, {}))
        elif roll < 0.82:
            agb = rng.choice(caller.practices) if caller.practices else agb_of(rng.randrange(practices))
            plan.append((caller, "practice", agb, period, {}))
        elif roll < 0.92:
            plan.append((caller, "periods", "", period, {}))
        else:
            plan.append((caller, "reference", "", period, {}))
    return plan


def api_url(kind: str, agb: str, period: str, filters: dict[str, str]) -> str:
    query = ("?" + urllib.parse.urlencode(filters)) if filters else ""
    return {
        "index_page": f"/api/v1/periods/{period}/index/{query}",
        "index_csv": f"/api/v1/periods/{period}/index/?format=csv",
        "practice": f"/api/v1/practices/{agb}/",
        "cross": f"/api/v1/practices/{agb}/",
        "periods": "/api/v1/periods/",
        "reference": f"/api/v1/periods/{period}/reference/",
    }[kind]


_expected_cache: dict[tuple, list[dict[str, str]]] = {}


def expected_rows(rows, period: str, discipline: str, practices: tuple[str, ...] | None) -> list[dict[str, str]]:
    """The rows a filtered index request must return (every practice when ``practices`` is None),
    worked out once per kind of request: the clients share the machine's two cores with the server."""
    key = (period, discipline, practices)
    if key not in _expected_cache:
        _expected_cache[key] = [
            r
            for r in rows[period]
            if r["discipline"] == discipline
            and r["status"] == "ok"
            and (practices is None or r["practice_agb"] in practices)
        ]
    return _expected_cache[key]


def check_api(
    caller: ApiCaller, kind: str, agb: str, period: str, filters: dict, status: int, body: bytes, rows
) -> str | None:
    """None when the answer is right for this caller, else what is wrong (above all: a row of
    a practice the caller may not read)."""
    if kind == "cross":
        return None if status == 404 else f"HTTP {status}, expected 404"
    if status != 200:
        return f"HTTP {status}"
    if kind == "index_csv":
        served_agbs = {line.split(",")[2] for line in body.decode().splitlines()[1:]}
        if caller.insurer is None and not served_agbs <= set(caller.practices):
            return f"CSV holds practices {sorted(served_agbs - set(caller.practices))[:3]} of others"
        return None
    data = json.loads(body)
    if kind == "practice":
        served_agbs = {r["practice_agb"] for r in data["results"]}
        return None if served_agbs == {agb} else f"rows of {sorted(served_agbs)[:3]}, expected {agb}"
    if kind == "index_page":
        expected = expected_rows(
            rows, period, filters["discipline"], tuple(caller.practices) if caller.insurer is None else None
        )
        page = int(filters.get("page", "1"))
        want = [r["practice_agb"] for r in expected[(page - 1) * 100 : page * 100]]
        got = [r["practice_agb"] for r in data["results"]]
        if data["count"] != len(expected) or got != want:
            return f"page {page}: {len(got)} rows of {data['count']}, expected {len(want)} of {len(expected)}"
    return None


def run_api(args: argparse.Namespace) -> dict:
    data_dir = Path(args.data_dir).resolve()
    if (data_dir / "releases").exists():
        raise SystemExit(f"{data_dir} has releases already; the load test builds its own in a fresh directory")
    started = time.monotonic()
    build_release(data_dir, practices=args.practices, report_practices=0, pdf_kb=1)
    os.environ["SPIEGEL_DATA_DIR"] = str(data_dir)
    callers = make_api_callers(data_dir, args.accounts, args.practices)
    rows = published_rows(data_dir)
    plan = api_plan(callers, args.requests, args.practices, args.seed)
    prepared = time.monotonic() - started
    latencies: dict[str, list[float]] = {}
    problems: list[str] = []
    lock = threading.Lock()
    # every client's requests are far more than a token's default limit a minute
    with served(data_dir, workers=args.workers, extra_env={"SPIEGEL_API_RATE": "1000000/minute"}) as (server, base):
        opener = urllib.request.build_opener(_NoRedirect())

        def one(item) -> None:
            caller, kind, agb, period, filters = item
            url = api_url(kind, agb, period, filters)
            request = urllib.request.Request(base + url, headers={"Authorization": f"Bearer {caller.token}"})
            t0 = time.perf_counter()
            status, body = fetch(opener, request)
            elapsed = time.perf_counter() - t0
            problem = check_api(caller, kind, agb, period, filters, status, body, rows)
            with lock:
                latencies.setdefault(kind, []).append(elapsed)
                if problem:
                    problems.append(f"{caller.email} {url}: {problem}")

        cpu_before, client_before = tree_cpu_seconds(server.pid), time.process_time()
        t_start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(one, plan))
        wall = time.perf_counter() - t_start
        server_cpu = tree_cpu_seconds(server.pid) - cpu_before
        args.client_cpu_ms_per_request = round((time.process_time() - client_before) / len(plan) * 1000, 1)
    return summary(args, callers, latencies, problems, wall, server_cpu, prepared, server.returncode)


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and all its live descendants (from /proc), so the
    server's cost per request can be told apart from a busy machine's waiting."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(cpu.get(pid, 0.0) for pid in tree)


AGB_IN_PAGE = re.compile(rb"(?<![0-9])1[0-9]{7}(?![0-9])")


def check(
    account: Account, kind: str, agb: str, period: str, status: int, body: bytes, all_own: set[str], expected_pdf: dict
) -> str | None:
    """None when the response is right for this account, else what is wrong."""
    others = all_own - set(account.practices)
    if kind == "cross":
        return None if status == 404 and not any(o.encode() in body for o in others) else f"HTTP {status}, expected 404"
    if kind in ("pdf", "html") and (agb, period) not in expected_pdf:
        # too few patients in that period: no report is published, and none may be served
        return None if status == 404 else f"HTTP {status} for a report that is not published"
    if status != 200:
        return f"HTTP {status}"
    if kind == "pdf":
        return (
            None if body == expected_pdf[(agb, period)] else "PDF bytes differ from the published file of this practice"
        )
    seen = {m.decode() for m in AGB_IN_PAGE.findall(body)} & all_own
    if kind == "list":
        return None if seen == set(account.practices) else f"list shows {sorted(seen)}"
    if seen != {agb}:
        return f"page names {sorted(seen)}, expected only {agb}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", required=True, help="a fresh directory (the release and accounts are built there)"
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--practices", type=int, default=9000)
    parser.add_argument("--report-practices", type=int, default=300, help="practices with report files")
    parser.add_argument("--pdf-kb", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--api", action="store_true", help="load the read API (/api/v1/) with tokens instead")
    args = parser.parse_args(argv)
    try:
        result = run_api(args) if args.api else run(args)
    except PortalDidNotStart as exc:
        raise SystemExit(f"the portal did not start: {exc}") from exc
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['requests']} requests by {result['clients']} concurrent clients ({result['accounts']} accounts, "
            f"{result['practices']} practices x {result['periods']} periods, gunicorn {result['workers']} workers) "
            f"in {result['seconds']} s: {result['throughput_per_s']} requests/s, p50 {result['p50_ms']} ms, "
            f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms; "
            f"server CPU {result['server_cpu_ms_per_request']} ms "
            f"per request (clients {result['client_cpu_ms_per_request']} ms); load average {result['load_average']}"
        )
        for kind, figures in result["per_kind"].items():
            print(f"  {kind:5s} n={figures['n']:5d}  p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms")
        print(f"errors or wrong responses: {result['errors_or_wrong_responses']}")
        for problem in result["first_problems"]:
            print("  " + problem)
    return 0 if result["errors_or_wrong_responses"] == 0 and result["server_exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
