#!/usr/bin/env bash
# Re-makes tests/fixtures/sdk-schemas/: the JSON Schemas (pydantic `model_json_schema()`) of the
# response models of Scenario's official Python SDK, which tests/it/sdk_contract.rs validates
# every simulator answer against. The SDK is generated from Scenario's OpenAPI spec, so its
# types are the best public witness of what the real API answers.
#
# Needs python3 (with venv) and network access to PyPI; installs nothing outside a throw-away
# virtual environment, which is removed on exit. `cargo test` never runs this: the files it
# writes are committed.
#
# Plus job_list_page.json: a page of `GET /jobs` as the SDK's paginator reads it
# (SyncJobsCursor[JobListResponse]: `jobs` and an optional `nextPaginationToken`), since
# JobListResponse is one item of it.
#
#   scripts/export-sdk-schemas.sh            # the pinned version below
#   SDK_VERSION=2.5.0 scripts/export-sdk-schemas.sh
set -euo pipefail

cd "$(dirname "$0")/.."

SDK_VERSION="${SDK_VERSION:-2.4.0}"
OUT=tests/fixtures/sdk-schemas

# One file per model: <module>.json holds scenario_sdk.types.<module>.<CamelCaseOfModule>.
MODELS=(
    asset_retrieve_response
    asset_upload_response
    generate_run_model_response
    job_list_response
    job_retrieve_response
    job_trigger_action_response
    model_retrieve_response
    team_retrieve_limits_response
    upload_create_response
    upload_retrieve_response
    upload_trigger_action_response
)

command -v python3 >/dev/null 2>&1 || { echo "python3 not found" >&2; exit 1; }

VENV="$(mktemp -d "${TMPDIR:-/tmp}/scenario-sdk-venv.XXXXXX")"
trap 'rm -rf "$VENV"' EXIT

python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "scenario-sdk==${SDK_VERSION}"

mkdir -p "$OUT"
"$VENV/bin/python" - "$OUT" "$SDK_VERSION" "${MODELS[@]}" <<'PY'
import importlib
import json
import sys
from importlib.metadata import version

out, wanted, *modules = sys.argv[1:]
installed = version("scenario-sdk")
if installed != wanted:
    sys.exit(f"asked for scenario-sdk {wanted}, got {installed}")

for module in modules:
    mod = importlib.import_module(f"scenario_sdk.types.{module}")
    name = "".join(part.capitalize() for part in module.split("_"))
    model = getattr(mod, name)
    # Validation mode (the default): what the SDK accepts when it parses an answer.
    schema = model.model_json_schema()
    with open(f"{out}/{module}.json", "w", encoding="utf-8") as f:
        json.dump(schema, f, indent=1, sort_keys=True)
    print(f"{out}/{module}.json  ({name})")

from scenario_sdk.pagination import SyncJobsCursor
from scenario_sdk.types.job_list_response import JobListResponse

page = SyncJobsCursor[JobListResponse].model_json_schema()
with open(f"{out}/job_list_page.json", "w", encoding="utf-8") as f:
    json.dump(page, f, indent=1, sort_keys=True)
print(f"{out}/job_list_page.json  (SyncJobsCursor[JobListResponse])")

with open(f"{out}/VERSION", "w", encoding="utf-8") as f:
    f.write(f"scenario-sdk {installed}\n")
PY
echo "$OUT/VERSION: $(cat "$OUT/VERSION")"
