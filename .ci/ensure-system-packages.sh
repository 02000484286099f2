#!/usr/bin/env bash
# Debian packages the tests use: Chromium (browser tests), libmagic (evidence types),
# GNU gettext (the catalogue test runs makemessages), wrk (make bench), Dovecot (the inbound
# mail tests poll a real IMAP server; tests/processes.py starts it, no system service is used).
set -euo pipefail

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1' || missing+=(libmagic1)
command -v xgettext >/dev/null || missing+=(gettext)
command -v wrk >/dev/null || missing+=(wrk)  # make bench's load generator
command -v dovecot >/dev/null || missing+=(dovecot-core dovecot-imapd)

if ((${#missing[@]})); then
  echo "installing from Debian's packages: ${missing[*]}"
  # Wait for another apt run (a second checkout's `make test`, say) instead of failing.
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}"
fi
