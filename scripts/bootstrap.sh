# Sourced by the other scripts: make sure uv and the locked environment are there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
  UV=(python3 -m uv)
else
  echo "正在安装 uv（Python 包管理器）……" >&2
  python3 -m pip install --quiet --disable-pip-version-check uv >&2
  UV=(python3 -m uv)
fi
# Installed packages are compiled to bytecode once, here: where PYTHONDONTWRITEBYTECODE is set
# (as on these machines), Python would otherwise compile Prefect's thousands of modules from
# source on every start (`import prefect.server.api.server`: 7.4 s instead of 4.1 s).
"${UV[@]}" sync --frozen --quiet --compile-bytecode
