"""Great Expectations Data Docs an operator can read offline.

The gates write Data Docs under ``<data dir>/gx_docs``; orchestration/gates/data_docs.py makes
each page self-contained and writes the index. These tests run the real gates on small
hand-made warehouses, then read the pages as files and in Chromium with JavaScript and
the network off.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration import gates
from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.raw_tables import ensure_raw_schema
from orchestration.gates import data_docs
from tests.gates.test_quality import claims_frame, load

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict:
    """Three deliveries of 2024-v1 gated: clean, warnings only (orphan credits), blocked."""
    paths = SpiegelPaths(tmp_path_factory.mktemp("docs") / "data")
    paths.data_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    ensure_raw_schema(con)
    results = {}
    load(con, "2024-v1", "cz", "d1", claims_frame("2024-v1", "cz"))
    frame = claims_frame("2024-v1", "vgz")
    credit = frame.iloc[:1].copy()
    credit["claim_id"], credit["original_claim_id"], credit["paid_amount"] = "CR1", "NOT-DELIVERED", -36.53
    load(con, "2024-v1", "vgz", "d1", pd.concat([frame, credit], ignore_index=True))
    bad = claims_frame("2024-v1", "eno")
    bad.loc[range(10, 60), "prestatie_code"] = "9999"
    load(con, "2024-v1", "eno", "d1", bad)
    for insurer in ("cz", "vgz", "eno"):
        results[insurer] = gates.check_delivery_contents(con, "2024-v1", insurer, paths)
    con.close()
    return {"dir": paths.gx_docs, "results": results}


def pages(docs_dir: Path) -> list[Path]:
    return sorted(docs_dir.glob("validations/*/*/*/*.html"))


def status_line(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    m = re.search(r"Status:</span>(.*?)(<br|</div)", text, flags=re.S)
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def test_the_gates_verdicts_are_what_the_pages_will_show(docs):
    r = docs["results"]
    assert r["cz"].passed and not r["cz"].warnings
    assert r["vgz"].passed and len(r["vgz"].warnings) == 1 and "orphan" in r["vgz"].warnings[0]
    assert not r["eno"].passed
    for result in r.values():
        assert result.data_docs.exists() and result.warnings_docs.exists()


def test_no_page_or_stylesheet_references_an_address_outside_the_data_directory(docs):
    files = [p for p in docs["dir"].rglob("*") if p.suffix in (".html", ".css", ".json")]
    assert len([p for p in files if p.suffix == ".html"]) == 1 + 6  # the index, 3 deliveries x 2 suites
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path
        assert "<script" not in text.lower(), path
        for ref in re.findall(r"""(?:href|src)=["']([^"']+)["']""", text):
            if ref.startswith("#"):
                continue
            target = (path.parent / ref).resolve()
            assert docs["dir"].resolve() in target.parents and target.exists(), (path, ref)


def test_a_delivery_with_only_a_warning_is_not_shown_as_failed(docs):
    r = docs["results"]
    assert status_line(r["cz"].data_docs) == "Succeeded"
    assert status_line(r["cz"].warnings_docs) == "Succeeded"
    assert status_line(r["vgz"].data_docs) == "Succeeded"  # the blocking suite
    assert status_line(r["vgz"].warnings_docs) == "Passed with warnings"  # its warnings, apart
    assert "Failed" not in r["vgz"].warnings_docs.read_text(encoding="utf-8").split("Status:")[1][:300]
    assert status_line(r["eno"].data_docs) == "Failed"


def test_the_checks_metadata_links_the_page_and_the_index(docs):
    from orchestration.gates.check_metadata import gate_metadata

    metadata = gate_metadata(docs["results"]["vgz"])
    assert metadata["data_docs"].url == "file://" + str(docs["results"]["vgz"].data_docs)
    assert metadata["data_docs_warnings"].url == "file://" + str(docs["results"]["vgz"].warnings_docs)
    assert metadata["data_docs_index"].url == "file://" + str(docs["dir"] / "index.html")


def test_the_index_lists_every_validation_as_a_plain_link_with_its_status(docs):
    index = (docs["dir"] / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', index)
    assert sorted(href for href, _ in links) == sorted(str(p.relative_to(docs["dir"])) for p in pages(docs["dir"]))
    rows = {
        tuple(re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row))
        for row in re.findall(r"<tr>(.*?)</tr>", index, flags=re.S)
    }
    found = {(r[1], r[3], r[5]) for r in rows if r}  # the header row has no <td>
    assert found == {
        ("cz", "delivery_contents", "Succeeded"),
        ("cz", "delivery_contents_warnings", "Succeeded"),
        ("vgz", "delivery_contents", "Succeeded"),
        ("vgz", "delivery_contents_warnings", "Passed with warnings"),
        ("eno", "delivery_contents", "Failed"),
        ("eno", "delivery_contents_warnings", "Succeeded"),
    }


def test_in_chromium_without_javascript_or_network_the_index_lists_them_and_pages_are_styled(docs):
    from playwright.sync_api import sync_playwright

    requested = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(java_script_enabled=False, offline=True)
            page = context.new_page()
            page.on("request", lambda req: requested.append(req.url))
            page.goto((docs["dir"] / "index.html").as_uri())
            assert page.locator("tbody tr").count() == 6
            assert page.locator("tbody a").count() == 6
            page.locator("tbody tr", has_text="vgz").filter(has_text="warnings").locator("a").click()
            page.wait_for_load_state()
            assert page.url.endswith("delivery_contents_warnings_frame.html")
            assert "Passed with warnings" in page.inner_text("body")
            # our stylesheet applies: tables have borders, the filter buttons that need JavaScript are hidden
            assert page.eval_on_selector("td", "e => getComputedStyle(e).borderTopStyle") == "solid"
            assert not page.locator(".btn-group-toggle").first.is_visible()
            assert page.locator("img").first.evaluate("e => e.naturalWidth") > 0  # GX's logo, local
        finally:
            browser.close()
    assert requested and all(url.startswith("file://") for url in requested), requested


def test_pages_written_before_are_made_self_contained_when_the_index_is_built(docs, tmp_path):
    import shutil

    copy = tmp_path / "gx_docs"
    shutil.copytree(docs["dir"], copy)
    page = pages(copy)[0]
    # as GX writes it: a CDN stylesheet and script, and no sidecar yet
    text = page.read_text(encoding="utf-8").replace(
        "</head>",
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap.min.css"/>'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head>',
    )
    page.write_text(text, encoding="utf-8")
    page.with_name(page.name + data_docs.SIDECAR_SUFFIX).unlink()
    data_docs.write_index(copy)
    assert "https://" not in page.read_text(encoding="utf-8")
    assert page.with_name(page.name + data_docs.SIDECAR_SUFFIX).exists()
    assert str(page.relative_to(copy)) in (copy / "index.html").read_text(encoding="utf-8")
