"""Issue 15, hole 12: the API against its own OpenAPI document, with schemathesis, on a real node process
(SQLite and PostgreSQL): no server error, no status code, content type, header or body the document does not
declare, and every 405 with the path's ``Allow``.

The run signs in as a user holding every role (``support.conformance``), so every operation is reached past its
permission check. Two operations are left out, each for a reason of the run, not of the API: signing out
(``POST /api/v1/auth/logout``) ends the run's own token, and the live-event stream (``GET /api/v1/events``)
never ends by design (its tests are in tests/integration/live).

Short by default (CI): ``SARHAD_SCHEMATHESIS_EXAMPLES`` cases per operation and phase (2), a fixed seed.
``make schemathesis`` runs the long one (more examples, the stateful phase, a seed of its own).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sarhad.core.settings import load_settings
from support.conformance import PASSWORD, USERNAME, prepare
from support.processes import NodeProcess, get_token

EXAMPLES = int(os.environ.get("SARHAD_SCHEMATHESIS_EXAMPLES", "2"))
PHASES = os.environ.get("SARHAD_SCHEMATHESIS_PHASES", "examples,coverage,fuzzing")
SEED = os.environ.get("SARHAD_SCHEMATHESIS_SEED", "15")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "unsupported_method",
        "allow_header_conformance",
    )
)
LEFT_OUT = ("/api/v1/auth/logout", "/api/v1/events")


@pytest.mark.slow
def test_the_api_answers_only_what_its_openapi_document_declares(node_dir: Path, tmp_path: Path) -> None:
    prepare(node_dir)
    with NodeProcess(node_dir, port=load_settings(node_dir).port) as node:
        token = get_token(node.url, USERNAME, PASSWORD)
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{node.url}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--phases",
            PHASES,
            "--max-examples",
            str(EXAMPLES),
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
        ]
        if SEED:
            command += ["--seed", SEED]
        for path in LEFT_OUT:
            command += ["--exclude-path", path]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=3000, check=False, cwd=tmp_path
        )
        node_errors = node.logs()
    report = done.stdout[-20000:]
    assert done.returncode == 0, f"{report}\n{done.stderr[-4000:]}\n--- node log ---\n{node_errors}"
    counted = re.search(r"(\d+) generated, (\d+) passed", report)
    assert counted is not None, report
    generated, passed = (int(n) for n in counted.groups())
    assert generated == passed and generated > 80 * EXAMPLES, report  # every operation was exercised
