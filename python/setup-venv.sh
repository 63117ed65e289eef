#!/usr/bin/env sh
# Creates python/.venv with the admitone package (editable) and its test tools.
# .ci/run calls it before `npm test`; the Python side of the e2e conformance run needs it.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
# Few retries: where the default index is unreachable, pip falls back to the configured
# extra indexes quickly instead of backing off five times per package.
export PIP_RETRIES="${PIP_RETRIES:-1}"
"$python" -m venv "$here/.venv"
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$here[test]"
echo "python/.venv ready: $("$here/.venv/bin/python" --version)"
