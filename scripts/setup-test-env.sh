#!/usr/bin/env bash
# Everything the test suite needs on a fresh machine: system packages, PostgreSQL and Redis
# running, the Python packages of the lock file. Safe to run again; quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
# Chinese text in screenshots (Noto CJK) and embedded in PDFs (WenQuanYi Zen Hei, TrueType)
[ -d /usr/share/fonts/opentype/noto ] || apt_packages+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || apt_packages+=(fonts-wqy-zenhei)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)
# gettext (xgettext, msgmerge, msgfmt): tests/test_english.py checks the English catalogue
command -v msgfmt >/dev/null 2>&1 || apt_packages+=(gettext)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || apt_packages+=(docker-compose)
if ((${#apt_packages[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${apt_packages[*]} with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  else
    echo "missing system packages (install them as root): ${apt_packages[*]}" >&2
  fi
fi

# axe-core, which the browser tests load into pages to check accessibility
if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
