"""The intelligence API against its own OpenAPI document (schemathesis on a real node process), as
tests/integration/test_openapi_conformance.py does for the whole API, with more cases for these routes only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sarhad.core.settings import load_settings
from support.conformance import PASSWORD, USERNAME, prepare
from support.processes import NodeProcess, get_token

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
    "response_schema_conformance,unsupported_method,allow_header_conformance"
)


@pytest.mark.slow
def test_the_intel_api_answers_only_what_its_openapi_document_declares(
    node_dir: Path, tmp_path: Path
) -> None:
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
            "examples,coverage,fuzzing",
            "--max-examples",
            "10",
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
            "--seed",
            "18",
            "--include-path-regex",
            "^/api/v1/intel/",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=1200, check=False, cwd=tmp_path
        )
        node_errors = node.logs()
    report = done.stdout[-20000:]
    assert done.returncode == 0, f"{report}\n{done.stderr[-4000:]}\n--- node log ---\n{node_errors}"
    counted = re.search(r"(\d+) generated, (\d+) passed", report)
    assert counted is not None, report
    assert int(counted.group(1)) > 0
