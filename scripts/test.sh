#!/usr/bin/env bash
# The whole test suite, on SQLite and on PostgreSQL (127.0.0.1:5432), plus lint.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL 未运行，正在启动本机集群……" >&2
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && return 0
      sleep 1
    done
  fi
  echo "PostgreSQL 无法在 127.0.0.1:5432 连接。" >&2
  return 1
}

# Installs Debian packages the tests need, once: `apt_install "<what, in Chinese>" pkg…`.
apt_install() {
  local what="$1"; shift
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "缺少${what}，且本机没有 apt-get：请手动安装 $*。" >&2
    return 1
  fi
  echo "正在安装${what}（测试需要，仅首次）……" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}

# What the document tests need: LibreOffice (Word/Excel to PDF), CJK fonts, poppler (PDF pages).
ensure_document_tools() {
  if command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then return 0; fi
  apt_install "LibreOffice、中文字体和 poppler" \
    libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk poppler-utils
}

# What the mailbox tests need: a real IMAP server (Dovecot, started by the test fixture as a
# normal process on a free port).
ensure_dovecot() {
  if [ -x /usr/sbin/dovecot ]; then return 0; fi
  apt_install "Dovecot（IMAP 服务器）" dovecot-imapd
}

run_pytest() {
  local label="$1"; shift
  echo "== 测试（${label}）=="
  set +e
  "${UV[@]}" run --frozen pytest "$@"
  local rc=$?
  set -e
  if [ "$rc" -eq 5 ]; then
    echo "没有收集到任何测试（${label}）：视为失败。" >&2
    return 1
  fi
  return "$rc"
}

"${UV[@]}" run --frozen ruff check .
"${UV[@]}" run --frozen ruff format --check .
echo "== 分层约定（import-linter）=="
"${UV[@]}" run --frozen lint-imports --no-cache

if ! ensure_document_tools && [ "${CI:-}" = "true" ]; then
  echo "CI 中文档测试不可跳过：LibreOffice / poppler 安装失败。" >&2
  exit 1
fi

if ! ensure_dovecot && [ "${CI:-}" = "true" ]; then
  echo "CI 中收件邮箱测试不可跳过：Dovecot 安装失败。" >&2
  exit 1
fi

pg_ok=0
ensure_postgres || pg_ok=1
if [ "$pg_ok" -ne 0 ] && [ "${CI:-}" = "true" ]; then
  echo "CI 中 PostgreSQL 测试不可跳过：请先启动 PostgreSQL。" >&2
  exit 1
fi

# The Prefect-server-on-PostgreSQL tests (marker postgres) need PostgreSQL whatever the backend:
# they run once, in the PostgreSQL pass.
QCAMP_TEST_DB=sqlite run_pytest SQLite -q -m "not postgres" "$@"
QCAMP_TEST_DB=postgres run_pytest PostgreSQL -q "$@"
